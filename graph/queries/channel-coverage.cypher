// channel-coverage: per channel, how many topics have curated content, recommendations only, or nothing.
//
// A channel's topics are those whose channel field names it (index
// topic_channel). Columns: topics, withContent (at least one HAS_CONTENT),
// recommendationsOnly (no HAS_CONTENT but at least one RECOMMENDS),
// noContent (neither). withContent + recommendationsOnly + noContent = topics.
//
// Parameters:
//   $model  string   = null   count only this model's recommendations (null: every model)
MATCH (ch:Channel)
MATCH (t:Topic {channel: ch.id})
WITH ch, t,
     EXISTS { (t)-[:HAS_CONTENT]->(:Content) } AS curated,
     EXISTS { MATCH (t)-[r:RECOMMENDS]->(:Content) WHERE $model IS NULL OR r.model = $model } AS recommended
RETURN ch.id AS channel, count(t) AS topics,
       count(CASE WHEN curated THEN 1 END) AS withContent,
       count(CASE WHEN NOT curated AND recommended THEN 1 END) AS recommendationsOnly,
       count(CASE WHEN NOT curated AND NOT recommended THEN 1 END) AS noContent
ORDER BY channel
