/**
 * Hubness (the learned fusion's feature 10): an item's mean cosine to its
 * HUB_NEIGHBOURS nearest topics of the whole tree, as in CSLS (Conneau et
 * al., ICLR 2018); items close to many topics crowd every list. Exact up to
 * HUB_EXACT_PAIRS (item, topic) pairs, else through an HNSW index of the
 * topics; many items are searched on worker threads (hnswlib is
 * single-threaded), each reading the topics' index from a temporary file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BruteForceIndex } from '../ann/brute-force.ts';
import { HnswIndex } from '../ann/hnsw.ts';
import { chunkStarts, drain, transferables, WorkerPool } from '../runtime/workers.ts';

/** Nearest topics whose mean cosine is an item's hubness. */
export const HUB_NEIGHBOURS = 5;

/**
 * Up to this many (content item, topic) pairs in a catalogue, hubness is
 * exact (Khan 1.3e7, Debian 5.5e7); above, it searches an HNSW index of the
 * topics (a 100,000-item catalogue with 9,990 topics: 1e9 pairs).
 */
export const HUB_EXACT_PAIRS = 1e8;

/** An index of the topic vectors for hubness: exact, or (`exact` false) HNSW (hnswlib, seeded). */
export function topicIndex(topicVectors: Float32Array, dim: number, exact = true): BruteForceIndex | HnswIndex {
  const topics = topicVectors.length / dim;
  const index = exact ? new BruteForceIndex(dim, { capacity: Math.max(1, topics) }) : new HnswIndex(dim, { m: 16, efConstruction: 100, efSearch: 64, seed: 1, capacity: topics });
  index.add(topicVectors, Uint32Array.from({ length: topics }, (_, i) => i));
  return index;
}

/** Hubness of content rows: the mean cosine of each row's vector to its HUB_NEIGHBOURS nearest topics in `index`. [rows] */
export function hubnessIn(index: BruteForceIndex | HnswIndex, contentVectors: Float32Array): Float32Array {
  const k = Math.min(HUB_NEIGHBOURS, index.size);
  return Float32Array.from(index.searchBatch(contentVectors, k), (r) => (r.scores.length ? r.scores.reduce((s, v) => s + v, 0) / r.scores.length : 0));
}

/** `hubnessIn` over a new index of `topicVectors`. [rows] */
export function hubness(topicVectors: Float32Array, contentVectors: Float32Array, dim: number, exact = true): Float32Array {
  return hubnessIn(topicIndex(topicVectors, dim, exact), contentVectors);
}

/** Items per task handed to a worker, and fewer than this stay on this thread. */
const PARALLEL_ROWS = 16384;

/** One worker's share: the topics' HNSW index file and some items' unit vectors. */
export interface HubnessTask {
  path: string;
  dim: number;
  efSearch: number;
  vectors: Float32Array;
}

const loaded = new Map<string, HnswIndex>();

/** Runs in a worker: the hubness of the task's items (the index is read once per worker). */
export function hubnessTask(task: HubnessTask): Float32Array {
  let index = loaded.get(task.path);
  if (!index) loaded.set(task.path, (index = HnswIndex.readFile(task.path, task.dim, { efSearch: task.efSearch })));
  return hubnessIn(index, task.vectors);
}

/**
 * `hubnessIn` on `workers` threads (0 = one per core) for an HNSW index and
 * many items: hnswlib searches one query at a time on one thread. The same
 * results as `hubnessIn` (the workers read the same graph).
 */
export async function hubnessParallel(index: BruteForceIndex | HnswIndex, contentVectors: Float32Array, dim: number, workers = 0): Promise<Float32Array> {
  const rows = contentVectors.length / dim;
  const pool = index instanceof HnswIndex && rows >= 2 * PARALLEL_ROWS ? new WorkerPool({ size: workers }) : undefined;
  if (!pool || pool.size < 2) return hubnessIn(index, contentVectors);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-hub-'));
  const path = join(dir, 'topics.hnsw');
  const hnsw = index as HnswIndex;
  hnsw.writeFile(path);
  const out = new Float32Array(rows);
  try {
    await drain(chunkStarts(rows, PARALLEL_ROWS), pool.size, async (start) => {
      const vectors = contentVectors.slice(start * dim, Math.min(rows, start + PARALLEL_ROWS) * dim);
      const task: HubnessTask = { path, dim, efSearch: hnsw.options.efSearch, vectors };
      out.set(await pool.run<Float32Array>(new URL('./hubness.ts', import.meta.url), 'hubnessTask', task, { transfer: transferables([vectors]) }), start);
    });
  } finally {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
