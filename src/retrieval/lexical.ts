/**
 * The lexical retriever: TF-IDF cosine between a topic's text (breadcrumb and
 * description) and each content item's text (title, description, body), top-K
 * per topic, within the topic's language. It is the baseline every model must
 * beat and an extra candidate source for the reranker.
 *
 * Scoring walks an inverted index (postings per hash bucket, one index per
 * language), accumulating dot products only over the content that shares a
 * feature with the query. The postings live in shared memory, so
 * `lexicalSearchParallel` searches on worker threads without copying them.
 */
import { fitTfidf, transformTfidf, type SparseRows, type TfidfModel, type TfidfOptions } from '../text/tfidf.ts';
import { contentText, topicText } from '../text/documents.ts';
import { languageRoute, mergeCandidates, type Candidates } from './candidates.ts';
import { topKIndices } from './topk.ts';
import { chunkStarts, drain, transferables, WorkerPool } from '../runtime/workers.ts';
import type { Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';

export interface Postings {
  /** Global content rows of this partition. */
  members: Uint32Array;
  /** CSC over buckets: postings of bucket b are [offsets[b], offsets[b+1]). Local rows. */
  offsets: Uint32Array;
  rows: Uint32Array;
  values: Float32Array;
}

export interface LexicalIndex {
  model: TfidfModel;
  /** TF-IDF rows of every content item (the neural encoder reads them too, so they are built once). */
  contentFeatures: SparseRows;
  /** One inverted index per content language ('' for unknown). */
  partitions: Map<string, Postings>;
}

/** A zeroed typed array over a SharedArrayBuffer. */
function sharedArray<T extends Uint32Array | Float32Array>(Kind: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, length: number): T {
  return new Kind(new SharedArrayBuffer(length * Kind.BYTES_PER_ELEMENT));
}

/** Inverts the rows `members` of a sparse matrix into per-bucket postings (in shared memory). */
function invert(matrix: SparseRows, members: Uint32Array, buckets: number): Postings {
  const counts = sharedArray(Uint32Array, buckets + 1);
  for (const r of members) for (let i = matrix.indptr[r]; i < matrix.indptr[r + 1]; i++) counts[matrix.indices[i] + 1]++;
  for (let b = 0; b < buckets; b++) counts[b + 1] += counts[b];
  const offsets = counts;
  const fill = offsets.slice(0, buckets);
  const rows = sharedArray(Uint32Array, offsets[buckets]);
  const values = sharedArray(Float32Array, offsets[buckets]);
  members.forEach((r, local) => {
    for (let i = matrix.indptr[r]; i < matrix.indptr[r + 1]; i++) {
      const at = fill[matrix.indices[i]]++;
      rows[at] = local;
      values[at] = matrix.values[i];
    }
  });
  return { members, offsets, rows, values };
}

/**
 * Fits TF-IDF on the content texts (or takes the `fitted` weights of a trained
 * model, so that a grown catalogue gets the features the towers learned on)
 * and indexes the content per language.
 */
export function buildLexicalIndex(dataset: Dataset, options: TfidfOptions = {}, fitted?: TfidfModel): LexicalIndex {
  const texts = dataset.content.map((c) => contentText(c));
  const model = fitted ?? fitTfidf(texts, options);
  const matrix = transformTfidf(model, texts);
  const byLanguage = new Map<string, number[]>();
  dataset.content.forEach((c, r) => {
    if (!byLanguage.has(c.language)) byLanguage.set(c.language, []);
    byLanguage.get(c.language)!.push(r);
  });
  const partitions = new Map<string, Postings>();
  for (const [language, rows] of byLanguage) {
    const members = sharedArray(Uint32Array, rows.length);
    members.set(rows);
    partitions.set(language, invert(matrix, members, model.options.buckets));
  }
  return { model, contentFeatures: matrix, partitions };
}

/** Top-k content for one TF-IDF query row within one partition. */
function searchPartition(postings: Postings, query: SparseRows, row: number, k: number, scores: Float32Array): Candidates {
  const touched: number[] = [];
  for (let i = query.indptr[row]; i < query.indptr[row + 1]; i++) {
    const b = query.indices[i];
    const q = query.values[i];
    for (let j = postings.offsets[b]; j < postings.offsets[b + 1]; j++) {
      const local = postings.rows[j];
      if (scores[local] === 0) touched.push(local);
      scores[local] += q * postings.values[j];
    }
  }
  const candidateScores = new Float32Array(touched.length);
  touched.forEach((local, i) => (candidateScores[i] = scores[local]));
  const best = topKIndices(candidateScores, k);
  const out: Candidates = { rows: new Uint32Array(best.length), scores: new Float32Array(best.length) };
  best.forEach((i, j) => {
    out.rows[j] = postings.members[touched[i]];
    out.scores[j] = candidateScores[i];
  });
  for (const local of touched) scores[local] = 0;
  return out;
}

/**
 * Top-k lexical candidates for each topic row in `topics`. A topic searches the
 * content of its own language; a topic without a language searches all.
 */
export function lexicalSearch(index: LexicalIndex, dataset: Dataset, forest: TopicForest, topics: ArrayLike<number>, k: number): Candidates[] {
  const { queries, routes } = lexicalQueries(index, dataset, forest, topics);
  return searchQueries({ partitions: index.partitions, queries, routes, k });
}

/** The TF-IDF rows of some topics and the partitions each searches. */
export function lexicalQueries(index: LexicalIndex, dataset: Dataset, forest: TopicForest, topics: ArrayLike<number>): { queries: SparseRows; routes: string[][] } {
  const texts = Array.from(topics, (t) => topicText(dataset, forest, t));
  const keys = [...index.partitions.keys()];
  const routes = Array.from(topics, (t) => languageRoute(dataset.topics[t].language, keys));
  return { queries: transformTfidf(index.model, texts), routes };
}

/** Topics per block handed to a worker. */
const PARALLEL_BLOCK = 1024;

/**
 * `lexicalSearch` on `workers` threads (0 = one per core), in blocks of
 * topics: this thread builds each block's queries when a worker is free and
 * the worker searches the shared postings. Same lists as `lexicalSearch`.
 * `onProgress(done, total)` after each block.
 */
export async function lexicalSearchParallel(index: LexicalIndex, dataset: Dataset, forest: TopicForest, topics: Uint32Array, k: number, options: { workers?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<Candidates[]> {
  const out: Candidates[] = new Array(topics.length);
  const starts = chunkStarts(topics.length, PARALLEL_BLOCK);
  const pool = new WorkerPool({ size: options.workers ?? 0 });
  let done = 0;
  try {
    await drain(starts, pool.size, async (from) => {
      const block = topics.subarray(from, from + PARALLEL_BLOCK);
      const { queries, routes } = lexicalQueries(index, dataset, forest, block);
      const input: LexicalQueries = { partitions: index.partitions, queries, routes, k };
      const lists = await pool.run<Candidates[]>(new URL('./lexical.ts', import.meta.url), 'searchQueries', input, { transfer: transferables([queries.indptr, queries.indices, queries.values]) });
      lists.forEach((list, i) => (out[from + i] = list));
      done += block.length;
      options.onProgress?.(done, topics.length);
    });
  } finally {
    await pool.close();
  }
  return out;
}

/** One block of lexical queries: what `searchQueries` reads, on this thread or a worker. */
export interface LexicalQueries {
  partitions: Map<string, Postings>;
  queries: SparseRows;
  /** Partition keys per query row. */
  routes: string[][];
  k: number;
}

/** Top-k candidates of every query row within its partitions. */
export function searchQueries(input: LexicalQueries): Candidates[] {
  const { partitions, queries, routes, k } = input;
  const buffers = new Map<string, Float32Array>();
  for (const [language, p] of partitions) buffers.set(language, new Float32Array(p.members.length));
  return routes.map((targets, i) => {
    const parts = targets.map((l) => searchPartition(partitions.get(l)!, queries, i, k, buffers.get(l)!));
    return parts.length === 1 ? parts[0] : mergeCandidates(parts, k);
  });
}

