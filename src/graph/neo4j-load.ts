/**
 * Neo4j -> Dataset: reads the topic forest, the content and the curated links
 * back into the in-memory LECR Dataset, so training can take its topics from
 * the graph (`--graph neo4j`) and get the same Dataset as from the CSV files
 * that were pushed. Topics and content come back in their pushed order (the
 * `ord` property, then id); a topic's parent is its CHILD_OF relationship.
 * The result is validated like a loaded folder (unknown parents, cycles).
 */
import { buildDataset } from '../data/lecr.ts';
import type { Content, Dataset, Topic } from '../data/types.ts';
import { DataError } from '../errors.ts';
import type { Neo4jClient } from './neo4j-client.ts';

const TOPICS_QUERY = `
MATCH (t:Topic)
RETURN t.id AS id, t.title AS title, t.description AS description, t.channel AS channel, t.category AS category,
       t.level AS level, t.language AS language, t.hasContent AS hasContent,
       [(t)-[:CHILD_OF]->(p:Topic) | p.id] AS parents
ORDER BY t.ord, t.id`;

const CONTENT_QUERY = `
MATCH (c:Content)
RETURN c.id AS id, c.title AS title, c.description AS description, c.kind AS kind, c.text AS text,
       c.language AS language, c.copyrightHolder AS copyrightHolder, c.license AS license
ORDER BY c.ord, c.id`;

const LINKS_QUERY = `
MATCH (t:Topic)-[:HAS_CONTENT]->(c:Content)
RETURN t.id AS topic, collect(c.id) AS content`;

function text(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/**
 * Reads every Topic, Content and HAS_CONTENT link of the graph as a Dataset
 * (`dir` is ''). Throws a DataError when the graph is not a forest (a topic
 * with two parents, a cycle) or holds no topics.
 */
export async function loadDatasetFromNeo4j(client: Neo4jClient): Promise<Dataset> {
  const topicRows = (await client.read(TOPICS_QUERY)).rows;
  if (topicRows.length === 0) {
    throw new DataError(`neo4j: the graph at ${client.connection.uri} holds no Topic nodes.`, { hint: "Push a dataset first with 'trellis graph push --data DIR'." });
  }
  const topics: Topic[] = topicRows.map((r) => {
    const parents = r.parents as string[];
    if (parents.length > 1) {
      throw new DataError(`neo4j: topic "${r.id}" must have at most one CHILD_OF parent (got ${parents.length}: ${parents.slice(0, 3).join(', ')}).`);
    }
    return {
      id: text(r.id),
      title: text(r.title),
      description: text(r.description),
      channel: text(r.channel),
      category: text(r.category),
      level: r.level === null || r.level === undefined ? -1 : Number(r.level),
      language: text(r.language),
      parent: parents[0] ?? '',
      hasContent: r.hasContent === true,
    };
  });
  const content: Content[] = (await client.read(CONTENT_QUERY)).rows.map((r) => ({
    id: text(r.id),
    title: text(r.title),
    description: text(r.description),
    kind: text(r.kind),
    text: text(r.text),
    language: text(r.language),
    copyrightHolder: text(r.copyrightHolder),
    license: text(r.license),
  }));
  const correlations = new Map<string, string[]>();
  for (const r of (await client.read(LINKS_QUERY)).rows) correlations.set(r.topic as string, r.content as string[]);
  return buildDataset(topics, content, correlations);
}
