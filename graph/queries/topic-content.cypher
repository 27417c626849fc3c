// topic-content: a topic's curated content, and the content recommended to it with a score of at least $minScore.
//
// One row per link: source 'curated' for a HAS_CONTENT link (model, stage,
// rank and score are empty), 'recommended' for a RECOMMENDS relationship.
// `curated` tells whether the content is also a curated link of the topic,
// so a recommendation that repeats a curated link is easy to spot. Curated
// rows come first, then recommendations by model, stage and rank.
//
// Parameters:
//   $topicId   string            the topic
//   $minScore  float    = 0.0    lowest recommendation score listed
//   $model     string   = null   only this model's recommendations (null: every model)
MATCH (t:Topic {id: $topicId})-[link:HAS_CONTENT|RECOMMENDS]->(c:Content)
WHERE type(link) = 'HAS_CONTENT'
   OR (link.score >= $minScore AND ($model IS NULL OR link.model = $model))
RETURN CASE type(link) WHEN 'HAS_CONTENT' THEN 'curated' ELSE 'recommended' END AS source,
       link.model AS model, link.stage AS stage, link.rank AS rank, link.score AS score,
       c.id AS contentId, c.title AS title, c.kind AS kind,
       EXISTS { (t)-[:HAS_CONTENT]->(c) } AS curated
ORDER BY source, model, stage, rank, contentId
