/**
 * Dataset -> Neo4j: writes a LECR dataset into the graph model of
 * graph/schema.cypher, in UNWIND batches of parameterised MERGE queries.
 *
 * Two properties are designed in, and tested:
 *
 * - Idempotent, and quiet when nothing changed. Nodes are MERGEd on id and
 *   their properties are SET only when one differs; relationships are
 *   MERGEd. A second push of the same dataset writes nothing and reports
 *   zero created / updated / deleted.
 * - Convergent after an interruption. Every batch is one transaction
 *   (executeWrite, retried on transient errors) that leaves the rows it
 *   names exactly as the dataset says: a topic's parent and its curated
 *   links are replaced, not added to (stale CHILD_OF / HAS_ROOT / HAS_CONTENT
 *   relationships of the topics in the batch are deleted in the same
 *   transaction). So a push killed after any batch and run again ends with
 *   the same graph as one uninterrupted push.
 *
 * Steps, in order: schema, channels, content, topics, hierarchy (roots, then
 * the other topics), links, and with `prune` the removal of channels, topics
 * and content that the dataset does not have.
 */
import { createHash } from 'node:crypto';
import type { Dataset } from '../data/types.ts';
import { ConfigError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { int, type Neo4jClient, type WriteResult } from './neo4j-client.ts';
import { applySchema } from './neo4j-schema.ts';

export type PushStep = 'channels' | 'content' | 'topics' | 'hierarchy' | 'links' | 'recommendations' | 'prune';

export interface BatchEvent {
  step: PushStep;
  /** 1-based batch number within the step. */
  batch: number;
  batches: number;
  /** Rows the batch wrote. */
  rows: number;
}

export interface PushOptions {
  /** Rows per UNWIND batch; for links and recommendations, relationships per batch (a topic is never split). Default 5000. */
  batchSize?: number;
  /** Delete channels, topics and content that are not in the dataset, so the graph mirrors it exactly. Default false. */
  prune?: boolean;
  /** Apply graph/schema.cypher first. Default true. */
  schema?: boolean;
}

export const DEFAULT_PUSH_OPTIONS: Readonly<Required<PushOptions>> = Object.freeze({ batchSize: 5000, prune: false, schema: true });

/** What one step did, from the server's counters. */
export interface StepCounts {
  /** Rows (nodes or relationships) the step wrote or checked. */
  rows: number;
  created: number;
  updated: number;
  deleted: number;
}

export interface PushReport {
  steps: Partial<Record<PushStep, StepCounts>>;
  /** Rows over all steps. */
  rows: number;
  /** created + updated + deleted over all steps (0 when the graph already held the dataset). */
  changes: number;
  seconds: number;
  /** Wall time per step (schema: applying graph/schema.cypher). */
  stepSeconds: Partial<Record<PushStep | 'schema', number>>;
}

/** Called after each committed batch; throwing from it aborts the push (tests use this to interrupt one). */
export type BatchListener = (event: BatchEvent) => void;

export function emptyCounts(): StepCounts {
  return { rows: 0, created: 0, updated: 0, deleted: 0 };
}

/** Sums reports (e.g. a dataset push and a recommendations push) into one. */
export function totals(report: PushReport): StepCounts {
  const sum = emptyCounts();
  for (const counts of Object.values(report.steps)) {
    sum.rows += counts.rows;
    sum.created += counts.created;
    sum.updated += counts.updated;
    sum.deleted += counts.deleted;
  }
  return sum;
}

/** Splits rows into batches of at most `size` rows. */
export function batchesOf<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/** Splits rows into batches whose summed `weight` stays within `size`; a row heavier than `size` gets a batch of its own. */
export function weightedBatches<T>(rows: T[], size: number, weight: (row: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let load = 0;
  for (const row of rows) {
    const w = Math.max(1, weight(row));
    if (current.length > 0 && load + w > size) {
      out.push(current);
      current = [];
      load = 0;
    }
    current.push(row);
    load += w;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Runs `query` once per batch (as `$rows`) and adds the counters up. */
export async function runBatches<T>(
  client: Neo4jClient, step: PushStep, query: string, batches: T[][], counts: StepCounts,
  tally: (result: WriteResult, batch: T[], counts: StepCounts) => void, onBatch?: BatchListener, extra: Record<string, unknown> = {},
): Promise<void> {
  for (let b = 0; b < batches.length; b++) {
    const result = await client.write(query, { ...extra, rows: batches[b] });
    tally(result, batches[b], counts);
    onBatch?.({ step, batch: b + 1, batches: batches.length, rows: batches[b].length });
  }
}

// Labels are fixed strings from this file, never data.
function mergeNodesQuery(label: 'Topic' | 'Content'): string {
  return `
UNWIND $rows AS row
MERGE (n:${label} {id: row.id})
WITH n, row
WHERE any(key IN keys(row.props) WHERE n[key] IS NULL OR n[key] <> row.props[key])
SET n += row.props
RETURN count(n) AS changed`;
}

const CHANNELS_QUERY = `
UNWIND $rows AS id
MERGE (:Channel {id: id})`;

// Stale relationships are collected with pattern comprehensions, which always
// expand from the topic in hand. (With OPTIONAL MATCH the planner may start
// from the other end: planned while the graph had no relationships, that is a
// label scan per row, and the plan stays cached after the graph has filled.)
// The index hints keep the id lookups on the uniqueness indexes for the same reason.

const ROOTS_QUERY = `
UNWIND $rows AS row
MATCH (t:Topic {id: row.id}) USING INDEX t:Topic(id)
WITH t, row, [(t)-[r:CHILD_OF]->(:Topic) | r] + [(other:Channel)-[r:HAS_ROOT]->(t) WHERE other.id <> row.channel | r] AS stale
FOREACH (r IN stale | DELETE r)
WITH t, row
MATCH (c:Channel {id: row.channel}) USING INDEX c:Channel(id)
MERGE (c)-[:HAS_ROOT]->(t)`;

const CHILDREN_QUERY = `
UNWIND $rows AS row
MATCH (t:Topic {id: row.id}) USING INDEX t:Topic(id)
WITH t, row, [(t)-[r:CHILD_OF]->(p:Topic) WHERE p.id <> row.parent | r] + [(:Channel)-[r:HAS_ROOT]->(t) | r] AS stale
FOREACH (r IN stale | DELETE r)
WITH t, row
MATCH (parent:Topic {id: row.parent}) USING INDEX parent:Topic(id)
MERGE (t)-[:CHILD_OF]->(parent)`;

const LINKS_QUERY = `
UNWIND $rows AS row
MATCH (t:Topic {id: row.id}) USING INDEX t:Topic(id)
WITH t, row, [(t)-[r:HAS_CONTENT]->(c:Content) WHERE NOT c.id IN row.content | r] AS stale
FOREACH (r IN stale | DELETE r)
WITH t, row
UNWIND row.content AS contentId
MATCH (c:Content {id: contentId}) USING INDEX c:Content(id)
MERGE (t)-[:HAS_CONTENT]->(c)`;

function nodeTally(result: WriteResult, batch: unknown[], counts: StepCounts): void {
  const changed = Number(result.rows[0]?.changed ?? 0);
  counts.rows += batch.length;
  counts.created += result.counters.nodesCreated;
  counts.updated += changed - result.counters.nodesCreated;
}

function relationshipTally<T>(rows: (batch: T[]) => number) {
  return (result: WriteResult, batch: T[], counts: StepCounts): void => {
    counts.rows += rows(batch);
    counts.created += result.counters.relationshipsCreated;
    counts.deleted += result.counters.relationshipsDeleted;
  };
}

/**
 * Writes `dataset` into the graph (see the file header for the guarantees).
 * Returns what each step created, updated and deleted.
 */
export async function pushDataset(client: Neo4jClient, dataset: Dataset, options: PushOptions = {}, onBatch?: BatchListener): Promise<PushReport> {
  const opts = resolveOptions('trellis/graph push', DEFAULT_PUSH_OPTIONS, options);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new ConfigError(`trellis/graph push: batchSize must be a positive integer (got ${opts.batchSize}).`);
  }
  const t0 = performance.now();
  const steps: Partial<Record<PushStep, StepCounts>> = {};
  const stepSeconds: PushReport['stepSeconds'] = {};
  if (opts.schema) await applySchema(client);
  stepSeconds.schema = (performance.now() - t0) / 1000;
  // Batches run one after another, so the time since the previous event is this batch's.
  let mark = performance.now();
  const listener: BatchListener = (event) => {
    const now = performance.now();
    stepSeconds[event.step] = (stepSeconds[event.step] ?? 0) + (now - mark) / 1000;
    mark = now;
    onBatch?.(event);
  };
  const { topics, content, links } = dataset;
  const size = opts.batchSize;

  const channelIds = [...new Set(topics.map((t) => t.channel))];
  steps.channels = emptyCounts();
  await runBatches(client, 'channels', CHANNELS_QUERY, batchesOf(channelIds, size), steps.channels, (result, batch, counts) => {
    counts.rows += batch.length;
    counts.created += result.counters.nodesCreated;
  }, listener);

  steps.content = emptyCounts();
  const contentRows = content.map((c, row) => ({
    id: c.id,
    props: {
      title: c.title, description: c.description, kind: c.kind, text: c.text, language: c.language,
      copyrightHolder: c.copyrightHolder, license: c.license, ord: int(row),
    },
  }));
  await runBatches(client, 'content', mergeNodesQuery('Content'), batchesOf(contentRows, size), steps.content, nodeTally, listener);

  steps.topics = emptyCounts();
  const topicRows = topics.map((t, row) => ({
    id: t.id,
    props: {
      title: t.title, description: t.description, channel: t.channel, category: t.category, level: int(t.level),
      language: t.language, hasContent: t.hasContent, ord: int(row),
    },
  }));
  await runBatches(client, 'topics', mergeNodesQuery('Topic'), batchesOf(topicRows, size), steps.topics, nodeTally, listener);

  steps.hierarchy = emptyCounts();
  const roots = topics.filter((t) => t.parent === '').map((t) => ({ id: t.id, channel: t.channel }));
  const children = topics.filter((t) => t.parent !== '').map((t) => ({ id: t.id, parent: t.parent }));
  const tallyEdges = relationshipTally((batch) => batch.length);
  await runBatches(client, 'hierarchy', ROOTS_QUERY, batchesOf(roots, size), steps.hierarchy, tallyEdges, listener);
  await runBatches(client, 'hierarchy', CHILDREN_QUERY, batchesOf(children, size), steps.hierarchy, tallyEdges, listener);

  steps.links = emptyCounts();
  // Every topic is listed, also those without links, so stale links of any topic are removed.
  const linkRows = topics.map((t, row) => ({ id: t.id, content: Array.from(links[row], (c) => content[c].id) }));
  await runBatches(client, 'links', LINKS_QUERY, weightedBatches(linkRows, size, (r) => r.content.length), steps.links,
    relationshipTally((batch: { content: string[] }[]) => batch.reduce((s, r) => s + r.content.length, 0)), listener);

  if (opts.prune) steps.prune = await pruneGraph(client, dataset, size, listener);

  const report: PushReport = { steps, rows: 0, changes: 0, seconds: 0, stepSeconds };
  const sum = totals(report);
  report.rows = sum.rows;
  report.changes = sum.created + sum.updated + sum.deleted;
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** Deletes channels, topics and content whose ids the dataset does not have (with their relationships). */
export async function pruneGraph(client: Neo4jClient, dataset: Dataset, batchSize = 5000, onBatch?: BatchListener): Promise<StepCounts> {
  const counts = emptyCounts();
  const keep: Record<'Channel' | 'Topic' | 'Content', Set<string>> = {
    Channel: new Set(dataset.topics.map((t) => t.channel)),
    Topic: new Set(dataset.topicIndex.keys()),
    Content: new Set(dataset.contentIndex.keys()),
  };
  for (const label of ['Channel', 'Topic', 'Content'] as const) {
    const { rows } = await client.read(`MATCH (n:${label}) RETURN n.id AS id`);
    const stale = rows.map((r) => r.id as string).filter((id) => !keep[label].has(id));
    await runBatches(client, 'prune', `UNWIND $rows AS id MATCH (n:${label} {id: id}) USING INDEX n:${label}(id) DETACH DELETE n`, batchesOf(stale, batchSize), counts,
      (result, batch, c) => {
        c.rows += batch.length;
        c.deleted += result.counters.nodesDeleted;
      }, onBatch);
  }
  return counts;
}

/**
 * Deletes every Channel, Topic and Content node (and so their relationships),
 * in transactions of `batchSize` nodes. Returns the number of nodes deleted.
 */
export async function clearGraph(client: Neo4jClient, batchSize = 5000): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { counters } = await client.write(
      'MATCH (n) WHERE n:Channel OR n:Topic OR n:Content WITH n LIMIT $limit DETACH DELETE n', { limit: int(batchSize) });
    deleted += counters.nodesDeleted;
    if (counters.nodesDeleted === 0) return deleted;
  }
}

export interface GraphSnapshot {
  nodes: number;
  relationships: number;
  /** One canonical line per node and relationship, sorted. */
  lines: string[];
  /** sha256 of the lines. */
  hash: string;
}

/** JSON with object keys sorted, so equal maps print equal. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

/**
 * Every node and relationship of the database as sorted canonical lines,
 * independent of internal ids: two graphs with the same snapshot hold the
 * same data. Relationships are named by their end nodes' labels and `id`.
 */
export async function graphSnapshot(client: Neo4jClient): Promise<GraphSnapshot> {
  const nodes = await client.read('MATCH (n) RETURN labels(n) AS labels, properties(n) AS props');
  const rels = await client.read(
    'MATCH (a)-[r]->(b) RETURN type(r) AS type, labels(a) AS fromLabels, a.id AS fromId, labels(b) AS toLabels, b.id AS toId, properties(r) AS props');
  const lines: string[] = [];
  for (const n of nodes.rows) lines.push(`N ${[...(n.labels as string[])].sort().join(':')} ${canonical(n.props)}`);
  for (const r of rels.rows) {
    const from = `${[...(r.fromLabels as string[])].sort().join(':')}/${r.fromId}`;
    const to = `${[...(r.toLabels as string[])].sort().join(':')}/${r.toId}`;
    lines.push(`R ${r.type} ${JSON.stringify(from)} ${JSON.stringify(to)} ${canonical(r.props)}`);
  }
  lines.sort();
  const hash = createHash('sha256').update(lines.join('\n')).digest('hex');
  return { nodes: nodes.rows.length, relationships: rels.rows.length, lines, hash };
}
