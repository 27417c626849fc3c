/**
 * Pretrained encoding on worker threads. The wasm backend runs one thread
 * per process, so `embedTexts` sorts the texts by length, cuts them into
 * chunks of similar length (little padding), and hands the chunks to a pool
 * of workers, each with its own wasm backend and its own copy of the model
 * (loaded once per worker). Vectors come back in input order and equal the
 * single-threaded result.
 */
import { initRuntime, tensorWorkers } from '../runtime/backend.ts';
import { WorkerPool } from '../runtime/workers.ts';
import { resolveOptions } from '../options.ts';
import { PretrainedEncoder, type PretrainedEncoderOptions } from './encoder.ts';

export interface EmbedTextsOptions {
  /** Encoder settings (window, batch size). */
  encoder?: PretrainedEncoderOptions;
  /** Worker threads; 0 = one per core on wasm and this thread on TensorFlow C (runtime/backend.ts `tensorWorkers`), 1 = this thread. Default 0. */
  workers?: number;
  /** Most texts per task handed to a worker. Default 256. */
  chunk?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Fewer texts than this per thread are not worth a worker's start-up (about a second: loader and model). */
const MIN_TEXTS_PER_THREAD = 64;

const DEFAULTS: Readonly<Required<Omit<EmbedTextsOptions, 'onProgress' | 'encoder'>>> = Object.freeze({ workers: 0, chunk: 256 });

/** One worker task. */
export interface TextChunk {
  dir: string;
  encoder: PretrainedEncoderOptions;
  texts: string[];
}

const loaded = new Map<string, Promise<PretrainedEncoder>>();

/** Runs in a worker: embeds one chunk with the worker's own backend and model. [texts * dim] */
export async function embedChunk(chunk: TextChunk): Promise<Float32Array> {
  const key = `${chunk.dir}\0${JSON.stringify(chunk.encoder)}`;
  if (!loaded.has(key)) loaded.set(key, initRuntime().then(() => PretrainedEncoder.load(chunk.dir, chunk.encoder)));
  return (await loaded.get(key)!).embed(chunk.texts);
}

/** Pooled vectors of `texts` by the model in `dir`, row-major [texts.length * dim]. */
export async function embedTexts(dir: string, texts: readonly string[], options: EmbedTextsOptions = {}): Promise<{ vectors: Float32Array; dim: number }> {
  const { workers, chunk } = resolveOptions('trellis/pretrained/embedTexts', DEFAULTS, { workers: options.workers, chunk: options.chunk });
  const encoderOptions = options.encoder ?? {};
  const threads = Math.min(tensorWorkers(workers), Math.ceil(texts.length / MIN_TEXTS_PER_THREAD));
  if (threads <= 1) {
    const encoder = await PretrainedEncoder.load(dir, encoderOptions);
    try {
      return { vectors: encoder.embed(texts, options.onProgress), dim: encoder.dim };
    } finally {
      encoder.dispose();
    }
  }
  const order = Array.from(texts.keys()).sort((a, b) => texts[a].length - texts[b].length || a - b);
  // At least two chunks per thread, so that no thread idles while another has the longest texts.
  const size = Math.max(1, Math.min(chunk, Math.ceil(texts.length / (2 * threads))));
  const pieces: number[][] = [];
  for (let start = 0; start < order.length; start += size) pieces.push(order.slice(start, start + size));
  const pool = new WorkerPool({ size: threads, transferResults: true });
  let done = 0;
  try {
    const results = await Promise.all(
      pieces.map(async (rows) => {
        const vectors = await pool.run<Float32Array>(new URL('./parallel.ts', import.meta.url), 'embedChunk', { dir, encoder: encoderOptions, texts: rows.map((r) => texts[r]) } satisfies TextChunk);
        done += rows.length;
        options.onProgress?.(done, texts.length);
        return vectors;
      }),
    );
    const dim = results[0].length / pieces[0].length;
    const vectors = new Float32Array(texts.length * dim);
    pieces.forEach((rows, p) => rows.forEach((r, i) => vectors.set(results[p].subarray(i * dim, (i + 1) * dim), r * dim)));
    return { vectors, dim };
  } finally {
    await pool.close();
  }
}
