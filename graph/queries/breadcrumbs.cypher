// breadcrumbs: the trail from a topic's root down to the topic.
//
// Follows CHILD_OF from the topic up to the root (the topic with no parent),
// then lists the steps root first. One row per step: depth (0 for the root),
// id, title, and the channel whose HAS_ROOT names the root.
//
// Parameters:
//   $topicId  string   the topic
MATCH path = (:Topic {id: $topicId})-[:CHILD_OF*0..]->(root:Topic)
WHERE NOT (root)-[:CHILD_OF]->(:Topic)
OPTIONAL MATCH (channel:Channel)-[:HAS_ROOT]->(root)
WITH nodes(path) AS steps, channel
UNWIND range(size(steps) - 1, 0, -1) AS i
RETURN size(steps) - 1 - i AS depth, steps[i].id AS id, steps[i].title AS title, channel.id AS channel
ORDER BY depth
