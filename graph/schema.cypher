// trellis graph schema (Neo4j 5).
//
// Model:
//   (:Channel {id})-[:HAS_ROOT]->(:Topic)            a channel's root topics
//   (:Topic)-[:CHILD_OF]->(:Topic)                   child -> parent
//   (:Topic)-[:HAS_CONTENT]->(:Content)              curated links (correlations.csv)
//   (:Topic)-[:RECOMMENDS {score, rank, model, stage}]->(:Content)   trellis's output
//
// Topic properties (the LECR topics.csv fields): id, title, description,
// channel, category, level (INTEGER, -1 when unknown), language, hasContent,
// and ord (INTEGER: the row in the pushed topics.csv, so a pull keeps order).
// The parent is the CHILD_OF relationship, not a property.
// Content properties (content.csv): id, title, description, kind, text,
// language, copyrightHolder, license, ord; optionally `embedding`
// (LIST<FLOAT>) indexed by the vector index `content_embedding`, which is
// created by the embedding push because its dimension depends on the model.
//
// Every statement is idempotent (IF NOT EXISTS); `trellis graph push` applies
// this file before it writes. Statements end with a semicolon.

// Uniqueness: MERGE on id is then a unique-index lookup, and two concurrent
// pushes cannot create the same node twice.
CREATE CONSTRAINT channel_id IF NOT EXISTS FOR (c:Channel) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT topic_id IF NOT EXISTS FOR (t:Topic) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT content_id IF NOT EXISTS FOR (c:Content) REQUIRE c.id IS UNIQUE;

// queries/channel-coverage.cypher: a channel's topics by their channel field.
CREATE INDEX topic_channel IF NOT EXISTS FOR (t:Topic) ON (t.channel);

