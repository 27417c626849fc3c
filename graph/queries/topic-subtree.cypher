// topic-subtree: a topic and every topic below it, with its depth below the topic.
//
// Walks CHILD_OF (child -> parent) backwards from the topic. One row per
// topic: depth (0 for the topic itself), id, title, parent id and the number
// of curated content links. Rows are in depth order, then in the pushed
// order of the topics.
//
// Parameters:
//   $topicId   string            the topic at the top of the subtree
//   $maxDepth  integer  = -1     deepest level listed below the topic (-1: all levels)
MATCH path = (t:Topic)-[:CHILD_OF*0..]->(:Topic {id: $topicId})
WITH t, length(path) AS depth
WHERE $maxDepth < 0 OR depth <= $maxDepth
OPTIONAL MATCH (t)-[:CHILD_OF]->(parent:Topic)
RETURN depth, t.id AS id, t.title AS title, parent.id AS parent,
       COUNT { (t)-[:HAS_CONTENT]->(:Content) } AS content
ORDER BY depth, t.ord, id
