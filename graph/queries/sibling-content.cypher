// sibling-content: content linked to a topic's siblings but not to the topic itself, most shared first.
//
// Siblings are the other children of the topic's parent (a root has none).
// A cheap candidate list for a topic: curators often link an item to several
// neighbouring topics. One row per content item: how many siblings link it
// and which (in pushed order).
//
// Parameters:
//   $topicId  string             the topic
//   $limit    integer  = 100     most rows returned
MATCH (t:Topic {id: $topicId})-[:CHILD_OF]->(:Topic)<-[:CHILD_OF]-(sibling:Topic)-[:HAS_CONTENT]->(c:Content)
WHERE sibling <> t AND NOT (t)-[:HAS_CONTENT]->(c)
WITH c, sibling
ORDER BY sibling.ord, sibling.id
RETURN c.id AS contentId, c.title AS title, c.kind AS kind,
       count(sibling) AS siblings, collect(sibling.id) AS viaTopics
ORDER BY siblings DESC, contentId
LIMIT $limit
