// content-recommended-to: the topics a content item is recommended to, highest score first.
//
// One row per RECOMMENDS relationship into the content item, with the
// topic's channel and whether the topic already links the item (curated).
//
// Parameters:
//   $contentId  string            the content item
//   $minScore   float    = 0.0    lowest score listed
//   $model      string   = null   only this model's recommendations (null: every model)
MATCH (t:Topic)-[r:RECOMMENDS]->(c:Content {id: $contentId})
WHERE r.score >= $minScore AND ($model IS NULL OR r.model = $model)
RETURN t.id AS topicId, t.title AS title, t.channel AS channel,
       r.model AS model, r.stage AS stage, r.rank AS rank, r.score AS score,
       EXISTS { (t)-[:HAS_CONTENT]->(c) } AS curated
ORDER BY score DESC, rank, topicId, model, stage
