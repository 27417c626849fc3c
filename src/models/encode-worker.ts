/**
 * Content encoding on worker threads. The wasm backend runs one thread per
 * process, so `embedContentParallel` splits the content rows into one chunk
 * per worker; each worker rebuilds the model from its weights (sent once per
 * chunk), sets up its own backend and encodes its rows. Results come back in
 * row order and equal the single-threaded `embedContent`.
 */
import { initRuntime } from './runtime.ts';
import { TwoTowerModel, type TwoTowerShape } from './two-tower.ts';
import { embedContent, type TowerData } from './tower-data.ts';
import { mapInWorkers, splitRange } from './workers.ts';
import { restore, snapshot } from './train.ts';
import type { NamedArray } from './weights.ts';
import type { SparseRows } from '../text/tfidf.ts';

/** One worker's share: the model and the CSR rows of its content. */
export interface EncodeChunk {
  shape: TwoTowerShape;
  seed: number;
  weights: NamedArray[];
  features: SparseRows;
  kindIds: Int32Array;
  languageIds: Int32Array;
  /** The chunk's pretrained content vectors, when the model reads them. */
  pretrained?: { dim: number; content: Float32Array };
}

/** Runs in a worker: encodes one chunk with its own tfjs backend. [rows * D] */
export async function encodeChunk(chunk: EncodeChunk): Promise<Float32Array> {
  await initRuntime();
  const model = new TwoTowerModel(chunk.shape, chunk.seed);
  try {
    restore(model, chunk.weights);
    const pretrained = chunk.pretrained && { ...chunk.pretrained, topics: new Float32Array(0) };
    const data = { contentFeatures: chunk.features, kindIds: chunk.kindIds, languageIds: chunk.languageIds, pretrained } as TowerData;
    return embedContent(model, data, Uint32Array.from({ length: chunk.features.rows }, (_, i) => i));
  } finally {
    model.dispose();
  }
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

/**
 * Content embeddings of every content row, encoded by `workers` threads
 * (0 = one per core). Below `minRows` rows the work stays on this thread.
 */
export async function embedContentParallel(model: TwoTowerModel, data: TowerData, workers = 0, minRows = 20000): Promise<Float32Array> {
  const rows = data.contentFeatures.rows;
  // A fine-tuned transformer is not shipped to workers: it encodes on this thread.
  if (rows < minRows || workers === 1 || model.sentence) return embedContent(model, data);
  const weights = snapshot(model);
  const parts = splitRange(rows, workers || 2);
  const chunks: EncodeChunk[] = parts.map(([start, end]) => ({
    shape: model.shape,
    seed: 0,
    weights,
    features: sliceRows(data.contentFeatures, start, end),
    kindIds: data.kindIds.slice(start, end),
    languageIds: data.languageIds.slice(start, end),
    pretrained: data.pretrained && { dim: data.pretrained.dim, content: data.pretrained.content.slice(start * data.pretrained.dim, end * data.pretrained.dim) },
  }));
  const results = await mapInWorkers<EncodeChunk, Float32Array>(new URL('./encode-worker.ts', import.meta.url), 'encodeChunk', chunks, { size: chunks.length });
  const d = model.shape.encoder.dim;
  const out = new Float32Array(rows * d);
  parts.forEach(([start], i) => out.set(results[i], start * d));
  return out;
}
