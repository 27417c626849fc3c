/**
 * Content encoding on worker threads. The wasm backend runs one thread per
 * process, so `embedContentParallel` hands the content rows to one worker
 * per core in chunks. The model's weights go once into shared memory; each
 * worker rebuilds the model from them on its first chunk, sets up its own
 * backend and keeps both for its later chunks. A chunk's rows are cut only
 * when a worker is free to take it, and its buffers are moved, not copied,
 * to the worker; the embeddings are moved back. Results equal the
 * single-threaded `embedContent`.
 */
import { initRuntime, tensorWorkers } from '../runtime/backend.ts';
import { TwoTowerModel, type TwoTowerShape } from './two-tower.ts';
import { embedContent, type ContentInputs, type TowerData } from './tower-data.ts';
import { chunkStarts, drain, transferables, WorkerPool } from '../runtime/workers.ts';
import { restore, snapshot } from './train.ts';
import type { NamedArray } from '../runtime/weights.ts';
import type { SparseRows } from '../text/tfidf.ts';

/** One chunk of content: the model (shared weights) and the CSR rows of its content. */
export interface EncodeChunk {
  /** Names the weights: a worker rebuilds its model only when this changes. */
  modelKey: string;
  shape: TwoTowerShape;
  seed: number;
  /** Weights over SharedArrayBuffers (structured clone shares them, it does not copy). */
  weights: NamedArray[];
  features: SparseRows;
  kindIds: Int32Array;
  languageIds: Int32Array;
  /** The chunk's pretrained content vectors, when the model reads them. */
  pretrained?: { dim: number; content: Float32Array };
}

let cached: { key: string; model: TwoTowerModel } | undefined;

/** Runs in a worker: encodes one chunk with the worker's own tfjs backend. [rows * D] */
export async function encodeChunk(chunk: EncodeChunk): Promise<Float32Array> {
  await initRuntime();
  if (cached?.key !== chunk.modelKey) {
    cached?.model.dispose();
    cached = undefined;
    const model = new TwoTowerModel(chunk.shape, chunk.seed);
    restore(model, chunk.weights);
    cached = { key: chunk.modelKey, model };
  }
  const pretrained = chunk.pretrained && { ...chunk.pretrained, topics: new Float32Array(0) };
  const data = { contentFeatures: chunk.features, kindIds: chunk.kindIds, languageIds: chunk.languageIds, pretrained } as TowerData;
  return embedContent(cached.model, data, Uint32Array.from({ length: chunk.features.rows }, (_, i) => i));
}

/** Rows [start, end) of a CSR matrix as its own matrix. */
function sliceRows(m: SparseRows, start: number, end: number): SparseRows {
  const from = m.indptr[start];
  const to = m.indptr[end];
  return {
    rows: end - start,
    indptr: Uint32Array.from(m.indptr.subarray(start, end + 1), (v) => v - from),
    indices: m.indices.slice(from, to),
    values: m.values.slice(from, to),
  };
}

/** A copy of `values` in shared memory. */
function shared(values: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}

/** Rows per chunk handed to a worker: small enough that a chunk's inputs stay a small share of the catalogue. */
const CHUNK_ROWS = 16384;
let encodes = 0;

/**
 * Content embeddings of every content row, encoded by `workers` threads
 * (0 = one per core on wasm, this thread on TensorFlow C: runtime/backend.ts `tensorWorkers`) in chunks of `chunkRows`. Below `minRows` rows the work
 * stays on this thread.
 */
export async function embedContentParallel(model: TwoTowerModel, data: ContentInputs, workers = 0, minRows = 20000, chunkRows = CHUNK_ROWS): Promise<Float32Array> {
  const rows = data.contentFeatures.rows;
  // A fine-tuned transformer and the items' topics (graphsage.contentTopics) are not shipped to workers,
  // and TensorFlow C needs none: these encode on this thread.
  const threads = tensorWorkers(workers);
  if (rows < minRows || threads === 1 || model.sentence || data.contentTopics) return embedContent(model, data);
  const weights = snapshot(model).map((a) => ({ ...a, values: shared(a.values) }));
  const modelKey = `${process.pid}/${encodes++}`;
  const d = model.shape.encoder.dim;
  const out = new Float32Array(rows * d);
  const starts = chunkStarts(rows, chunkRows);
  const pool = new WorkerPool({ size: threads, transferResults: true });
  try {
    await drain(starts, pool.size, async (start) => {
      const end = Math.min(rows, start + chunkRows);
      const chunk: EncodeChunk = {
        modelKey,
        shape: model.shape,
        seed: 0,
        weights,
        features: sliceRows(data.contentFeatures, start, end),
        kindIds: data.kindIds.slice(start, end),
        languageIds: data.languageIds.slice(start, end),
        pretrained: data.pretrained && { dim: data.pretrained.dim, content: data.pretrained.content.slice(start * data.pretrained.dim, end * data.pretrained.dim) },
      };
      const { features, kindIds, languageIds, pretrained } = chunk;
      const transfer = transferables([features.indptr, features.indices, features.values, kindIds, languageIds, ...(pretrained ? [pretrained.content] : [])]);
      out.set(await pool.run<Float32Array>(new URL('./encode-worker.ts', import.meta.url), 'encodeChunk', chunk, { transfer }), start * d);
    });
  } finally {
    await pool.close();
  }
  return out;
}
