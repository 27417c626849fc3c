/**
 * Recommendations -> Neo4j: (:Topic)-[:RECOMMENDS {score, rank, model,
 * stage}]->(:Content) from a recommendation file (the LECR submission CSV,
 * or trellis's .arrow / .parquet export).
 *
 * In a CSV, rank is the position in content_ids (1 = best) and, as the
 * format has no scores, score = 1 / rank. The .arrow / .parquet files carry
 * their own rank and score.
 *
 * The recommendations of one (model, stage) are replaced, not piled up: for
 * every topic the file lists, that model-stage's RECOMMENDS relationships to
 * content not in the new list are deleted and the listed ones are MERGEd,
 * their rank and score SET only when they differ, all in the batch's
 * transaction. Pushing the same file twice changes nothing; pushing a new
 * file leaves exactly the new lists. Topics the file does not list keep what
 * they had.
 */
import type { Dataset } from '../data/types.ts';
import { ConfigError, DataError } from '../errors.ts';
import { readRecommendations } from '../io/export.ts';
import { groupByTopic, type RecommendationTable } from '../io/table.ts';
import { resolveOptions } from '../options.ts';
import { int, type Neo4jClient } from './neo4j-client.ts';
import { emptyCounts, runBatches, weightedBatches, type BatchListener, type StepCounts } from './neo4j-sync.ts';

/** One topic's recommendations, best first. */
export interface TopicRecommendations {
  topicId: string;
  /** Content ids, best first, without repeats. */
  contentIds: string[];
  /** 1-based ranks, same order. */
  ranks: number[];
  /** Scores, same order. */
  scores: number[];
}

export interface RecommendationPushOptions {
  /** Model id stored on every RECOMMENDS relationship. Default 'default'. */
  model?: string;
  /** Pipeline stage stored on every RECOMMENDS relationship. Default 'final'. */
  stage?: string;
  /** Relationships per batch (a topic is never split). Default 5000. */
  batchSize?: number;
}

export const DEFAULT_RECOMMENDATION_PUSH_OPTIONS: Readonly<Required<RecommendationPushOptions>> = Object.freeze({
  model: 'default',
  stage: 'final',
  batchSize: 5000,
});

export interface ReadRecommendationsOptions {
  /** Skip topics and content the dataset does not have (and count them) instead of failing. Default false. */
  lenient?: boolean;
}

export interface RecommendationsRead {
  topics: TopicRecommendations[];
  /** Topics and content items skipped in lenient mode. */
  skippedTopics: number;
  skippedContent: number;
}

/**
 * Per-topic lists from a recommendation table: rows sorted by rank, a content
 * item repeated within a topic kept at its best rank, score 1 / rank where
 * the table has none (NaN). With a dataset, ids it does not have are a
 * DataError (or skipped with `lenient`).
 */
export function recommendationsFromTable(
  scope: string, table: RecommendationTable, dataset?: Dataset, options: ReadRecommendationsOptions = {},
): RecommendationsRead {
  const { start, order } = groupByTopic(scope, table);
  const out: RecommendationsRead = { topics: [], skippedTopics: 0, skippedContent: 0 };
  for (let t = 0; t < table.topicIds.length; t++) {
    const topicId = table.topicIds[t];
    if (dataset && !dataset.topicIndex.has(topicId)) {
      if (options.lenient) { out.skippedTopics++; continue; }
      throw new DataError(`${scope}: topic "${topicId}" must be a topic of the dataset.`, { hint: 'Push the dataset the recommendations were made for, or pass --lenient to skip unknown ids.' });
    }
    const entry: TopicRecommendations = { topicId, contentIds: [], ranks: [], scores: [] };
    const seen = new Set<string>();
    for (let j = start[t]; j < start[t + 1]; j++) {
      const row = order[j];
      const contentId = table.contentIds[table.content[row]];
      if (seen.has(contentId)) continue;
      if (dataset && !dataset.contentIndex.has(contentId)) {
        if (options.lenient) { out.skippedContent++; continue; }
        throw new DataError(`${scope}: content "${contentId}" (recommended to "${topicId}") must be content of the dataset.`, {
          hint: 'Push the dataset the recommendations were made for, or pass --lenient to skip unknown ids.',
        });
      }
      seen.add(contentId);
      const rank = table.rank[row];
      const score = table.score[row];
      entry.contentIds.push(contentId);
      entry.ranks.push(rank);
      entry.scores.push(Number.isFinite(score) ? score : 1 / rank);
    }
    out.topics.push(entry);
  }
  return out;
}

/** Reads a recommendation file (.csv, .arrow or .parquet) into per-topic lists, checked against `dataset`. */
export async function readRecommendationFile(path: string, dataset?: Dataset, options: ReadRecommendationsOptions = {}): Promise<RecommendationsRead> {
  const { table } = await readRecommendations(path);
  return recommendationsFromTable(path, table, dataset, options);
}

// Stale relationships via a pattern comprehension and ids via index hints: see neo4j-sync.ts.
const RECOMMENDS_QUERY = `
UNWIND $rows AS row
MATCH (t:Topic {id: row.id}) USING INDEX t:Topic(id)
WITH t, row, [(t)-[r:RECOMMENDS {model: $model, stage: $stage}]->(old:Content) WHERE NOT old.id IN row.content | r] AS stale
FOREACH (r IN stale | DELETE r)
WITH t, row
UNWIND row.recs AS rec
MATCH (c:Content {id: rec.id}) USING INDEX c:Content(id)
MERGE (t)-[r:RECOMMENDS {model: $model, stage: $stage}]->(c)
WITH r, rec
WHERE r.rank IS NULL OR r.rank <> rec.rank OR r.score <> rec.score
SET r.rank = rec.rank, r.score = rec.score
RETURN count(r) AS changed`;

/**
 * Writes the lists as RECOMMENDS relationships of one (model, stage),
 * replacing what that model-stage had for the listed topics. The topics and
 * content must already be in the graph (push the dataset first).
 */
export async function pushRecommendations(
  client: Neo4jClient, topics: TopicRecommendations[], options: RecommendationPushOptions = {}, onBatch?: BatchListener,
): Promise<StepCounts> {
  const opts = resolveOptions('trellis/graph push', DEFAULT_RECOMMENDATION_PUSH_OPTIONS, options);
  if (opts.model === '') throw new ConfigError('trellis/graph push: model must be a non-empty string (got "").');
  if (opts.stage === '') throw new ConfigError('trellis/graph push: stage must be a non-empty string (got "").');
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new ConfigError(`trellis/graph push: batchSize must be a positive integer (got ${opts.batchSize}).`);
  }
  const rows = topics.map((t) => ({
    id: t.topicId,
    content: t.contentIds,
    recs: t.contentIds.map((id, k) => ({ id, rank: int(t.ranks[k]), score: t.scores[k] })),
  }));
  const counts = emptyCounts();
  await runBatches(client, 'recommendations', RECOMMENDS_QUERY, weightedBatches(rows, opts.batchSize, (r) => r.recs.length), counts,
    (result, batch, c) => {
      const changed = Number(result.rows[0]?.changed ?? 0);
      c.rows += batch.reduce((s, r) => s + r.recs.length, 0);
      c.created += result.counters.relationshipsCreated;
      c.updated += changed - result.counters.relationshipsCreated;
      c.deleted += result.counters.relationshipsDeleted;
    }, onBatch, { model: opts.model, stage: opts.stage });
  return counts;
}
