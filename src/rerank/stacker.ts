/**
 * A second stage over the cross-encoder: gradient-boosted trees (XGBoost,
 * through ml-xgboost's WebAssembly build) that read the cross-encoder's
 * probability beside the pair's side features and what the other candidates
 * of the topic, and the other topics' candidates, say of it, and give a new
 * probability. The cross-encoder sees the side features only at its head,
 * one pair at a time; the trees combine them with the topic's whole list
 * (the pair's rank, its gap to the topic's best, the topic's mass) and with
 * the item's standing among the topics of the run (content competition as
 * a feature instead of a fixed exponent), as the LECR teams' GBDT stages did.
 *
 * Features of a pair (topic t, item c) with probability p, in STACK_FEATURES order:
 *   logit p; log(1 + rank of p in t); logit p - the best logit of t;
 *   p / the sum of t's p; log of that sum; log(1 + t's candidates above 0.5);
 *   p / best(c) (best(c): c's highest p over the run's topics) and
 *   logit(p * p / best(c)); the pair's named side features
 *   (pipeline/rerank.ts FEATURE_NAMES, passed in); log(1 + t's siblings'
 *   mean items), t's siblings, depth, log(1 + children).
 * Like content competition (compete.ts), the p / best(c) features depend on
 * which topics are scored together: a run should score all its topics at once.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { ArtifactError, UsageError } from '../errors.ts';
import { deriveSeed, rngFor, shuffleInPlace } from '../random.ts';
import type { TopicPrior } from './cutoff.ts';
import { contentBest } from './compete.ts';

export const STACK_LIST_FEATURES = [
  'logit_p', 'log_rank', 'logit_gap_to_best', 'share_of_sum', 'log_sum', 'log_above_half', 'ratio_to_content_best', 'logit_competed',
] as const;
export const STACK_TOPIC_FEATURES = ['log_sibling_items', 'siblings', 'depth', 'log_children'] as const;

/** What the stacker knows of a topic beyond its candidates. */
export interface StackTopic extends TopicPrior {
  children: number;
}

/** XGBoost's settings of the stacker (its own parameter names). */
export const STACK_PARAMS = {
  objective: 'binary:logistic', tree_method: 'hist', max_depth: 4, eta: 0.05, subsample: 0.8, colsample_bytree: 0.8, min_child_weight: 5, lambda: 1,
} as const;
export const STACK_ROUNDS = 200;

/** Topic folds of the out-of-fold stacked probabilities the cut is tuned on. */
export const STACK_FOLDS = 4;

/** The feature names of a stacker over `side` named side features. */
export function stackFeatureNames(side: readonly string[]): string[] {
  return [...STACK_LIST_FEATURES, ...side, ...STACK_TOPIC_FEATURES];
}

function logit(p: number): number {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
}

/**
 * The stacker's features of every topic's candidates: `probabilities[i]`
 * and `rows[i]` are topic i's, `side[i]` its pairs' side features with
 * `sideWidth` values per pair of which the first `sideNamed` are read.
 * `best` is ./compete.ts contentBest over every topic of the run (default: over these).
 * [pairs * (8 + sideNamed + 4)], topics in order.
 */
export function stackFeatures(probabilities: readonly Float32Array[], rows: readonly ArrayLike<number>[], side: readonly Float32Array[], sideWidth: number, sideNamed: number, topics: readonly StackTopic[], best = contentBest(probabilities, rows)): Float32Array {
  if (probabilities.length !== rows.length || rows.length !== side.length || side.length !== topics.length) {
    throw new UsageError(`stackFeatures: ${probabilities.length} probability lists, ${rows.length} row lists, ${side.length} feature lists and ${topics.length} topics; one of each per topic is needed.`);
  }
  const width = STACK_LIST_FEATURES.length + sideNamed + STACK_TOPIC_FEATURES.length;
  const total = probabilities.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total * width);
  let at = 0;
  probabilities.forEach((p, i) => {
    const n = p.length;
    let sum = 0;
    let above = 0;
    let top = 0;
    for (let j = 0; j < n; j++) {
      sum += p[j];
      if (p[j] > 0.5) above++;
      if (p[j] > top) top = p[j];
    }
    const order = Array.from({ length: n }, (_, j) => j).sort((x, y) => p[y] - p[x] || x - y);
    const rank = new Uint32Array(n);
    order.forEach((j, r) => (rank[j] = r));
    const topic = topics[i];
    const topLogit = logit(top);
    for (let j = 0; j < n; j++, at++) {
      const f = out.subarray(at * width, (at + 1) * width);
      const ratio = p[j] / Math.max(best.get(rows[i][j]) ?? p[j], 1e-6);
      f[0] = logit(p[j]);
      f[1] = Math.log1p(rank[j]);
      f[2] = f[0] - topLogit;
      f[3] = p[j] / Math.max(sum, 1e-6);
      f[4] = Math.log(sum + 1e-3);
      f[5] = Math.log1p(above);
      f[6] = ratio;
      f[7] = logit(p[j] * ratio);
      f.set(side[i].subarray(j * sideWidth, j * sideWidth + sideNamed), STACK_LIST_FEATURES.length);
      const k = STACK_LIST_FEATURES.length + sideNamed;
      f[k] = Math.log1p(topic.siblingItems);
      f[k + 1] = topic.siblings;
      f[k + 2] = topic.depth;
      f[k + 3] = Math.log1p(topic.children);
    }
  });
  return out;
}

/** ml-xgboost's compiled XGBoost (emscripten) and the C functions its wrapper class calls. */
interface XGBoostModule {
  isReady: Promise<XGBoostModule>;
  print: (line: string) => void;
  printErr: (line: string) => void;
  cwrap: (name: string, returns: string | null, args: string[]) => (...args: (number | string)[]) => number;
  _malloc: (bytes: number) => number;
  _free: (pointer: number) => void;
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
}

interface XGBoostApi {
  module: XGBoostModule;
  create: (data: number, labels: number, rows: number, cols: number) => number;
  setParam: (model: number, name: string, value: string) => number;
  train: (model: number, rounds: number) => number;
  predictOne: (model: number, row: number, cols: number, out: number) => number;
  save: (model: number) => number;
  content: (pointer: number, size: number) => number;
  load: (pointer: number, size: number) => number;
  free: (model: number) => number;
}

let api: Promise<XGBoostApi> | undefined;
/** XGBoost's last console lines. */
const messages: string[] = [];

/**
 * The booster's C API with every buffer on the WebAssembly heap (ml-xgboost's
 * own class passes the training matrix through the 5 MB wasm stack, which
 * bounds it to about 50,000 pairs).
 */
function xgboost(): Promise<XGBoostApi> {
  api ??= (async () => {
    // Told that WebAssembly can stream, the module fetch()es its .wasm by file path, which Node's fetch
    // refuses with two lines on stderr before it reads the file instead: it reads the file at once here.
    const wasm = (globalThis as unknown as { WebAssembly: object }).WebAssembly;
    const streaming = Object.getOwnPropertyDescriptor(wasm, 'instantiateStreaming');
    let loaded: XGBoostModule;
    try {
      Object.defineProperty(wasm, 'instantiateStreaming', { value: undefined, configurable: true, writable: true });
      loaded = createRequire(import.meta.url)('ml-xgboost/dist/wasm/xgboost') as XGBoostModule;
    } finally {
      if (streaming) Object.defineProperty(wasm, 'instantiateStreaming', streaming);
    }
    const module = await loaded.isReady;
    // XGBoost's console lines (its tree method, its errors before an abort) are kept for error messages, not printed.
    module.print = module.printErr = (line: string) => {
      messages.push(line);
      if (messages.length > 8) messages.shift();
    };
    const n = 'number';
    return {
      module,
      create: module.cwrap('create_model', n, [n, n, n, n]),
      setParam: module.cwrap('set_param', null, [n, 'string', 'string']),
      train: module.cwrap('train_full_model', null, [n, n]),
      predictOne: module.cwrap('predict_one', n, [n, n, n, n]),
      save: module.cwrap('save_model', n, [n]),
      content: module.cwrap('get_file_content', null, [n, n]),
      load: module.cwrap('load_model', n, [n, n]),
      free: module.cwrap('free_memory_model', null, [n]),
    };
  })();
  return api;
}

/** `values` copied onto the wasm heap; the caller frees the pointer. */
function onHeap(x: XGBoostApi, values: Float32Array): number {
  const pointer = x.module._malloc(values.byteLength);
  x.module.HEAPF32.set(values, pointer / 4);
  return pointer;
}

export interface StackerJSON {
  kind: 'xgboost';
  features: string[];
  rounds: number;
  params: Record<string, string | number>;
  /** XGBoost's binary model, base64, and the SHA-256 of its bytes (XGBoost aborts on a damaged model instead of failing). */
  model: string;
  sha256: string;
}

export class Stacker {
  private constructor(private readonly x: XGBoostApi, private handle: number, readonly features: readonly string[], private readonly rounds: number, private readonly params: Record<string, string | number>) {}

  /** Boosted trees fitted to `labels` (0/1) over `x` (`features.length` values per pair). */
  static async fit(x: Float32Array, labels: Uint8Array, features: readonly string[], seed: number): Promise<Stacker> {
    const width = features.length;
    if (x.length !== labels.length * width) throw new UsageError(`Stacker.fit: ${x.length} feature values for ${labels.length} pairs of ${width} features.`);
    if (labels.length === 0) throw new UsageError('Stacker.fit: no pairs to fit.');
    const api = await xgboost();
    const data = onHeap(api, x);
    const y = onHeap(api, Float32Array.from(labels));
    // XGBoost reads its seed as a signed 32-bit int.
    const params = { ...STACK_PARAMS, seed: (seed >>> 0) % 0x7fffffff, silent: 1, nthread: 1 };
    let handle = 0;
    try {
      handle = api.create(data, y, labels.length, width);
      for (const [name, value] of Object.entries(params)) api.setParam(handle, name, String(value));
      api.train(handle, STACK_ROUNDS);
    } catch (error) {
      throw new Error(`XGBoost failed to fit the stacker: ${messages.at(-1) ?? String(error)}`);
    } finally {
      api.module._free(data);
      api.module._free(y);
    }
    return new Stacker(api, handle, [...features], STACK_ROUNDS, params);
  }

  /** The probability of each pair of `x`. */
  predict(x: Float32Array): Float32Array {
    const width = this.features.length;
    const n = x.length / width;
    const out = new Float32Array(n);
    const heap = this.x.module;
    const row = heap._malloc(width * 4);
    const result = heap._malloc(4);
    try {
      for (let i = 0; i < n; i++) {
        heap.HEAPF32.set(x.subarray(i * width, (i + 1) * width), row / 4);
        this.x.predictOne(this.handle, row, width, result);
        out[i] = heap.HEAPF32[result / 4];
      }
    } finally {
      heap._free(row);
      heap._free(result);
    }
    return out;
  }

  toJSON(): StackerJSON {
    const heap = this.x.module;
    const size = this.x.save(this.handle);
    if (size < 0) throw new ArtifactError('the stacker could not be serialised by XGBoost.', 'Retrain with rerank.stack off and report the failure.');
    const pointer = heap._malloc(size);
    try {
      this.x.content(pointer, size);
      const bytes = Buffer.from(heap.HEAPU8.slice(pointer, pointer + size));
      return { kind: 'xgboost', features: [...this.features], rounds: this.rounds, params: this.params, model: bytes.toString('base64'), sha256: createHash('sha256').update(bytes).digest('hex') };
    } finally {
      heap._free(pointer);
    }
  }

  /** A stacker from its JSON; `features` are the names the caller will give, in order. */
  static async fromJSON(value: StackerJSON, features: readonly string[], source: string): Promise<Stacker> {
    if (value?.kind !== 'xgboost' || typeof value.model !== 'string' || !Array.isArray(value.features)) {
      throw new ArtifactError(`${source}: not a stacker (expected kind "xgboost" with features and a model).`, "Retrain with 'trellis train'.");
    }
    if (value.features.join(',') !== features.join(',')) {
      throw new ArtifactError(`${source}: the stacker reads features ${value.features.join(', ')}, but this version gives ${features.join(', ')}.`, "Retrain with 'trellis train'.");
    }
    const bytes = Buffer.from(value.model, 'base64');
    if (createHash('sha256').update(bytes).digest('hex') !== value.sha256) {
      throw new ArtifactError(`${source}: the stacker's model does not match its SHA-256 (damaged file).`, "Retrain with 'trellis train'.");
    }
    const api = await xgboost();
    const pointer = api.module._malloc(bytes.length);
    api.module.HEAPU8.set(bytes, pointer);
    const handle = api.load(pointer, bytes.length);
    api.module._free(pointer);
    if (handle === 0) throw new ArtifactError(`${source}: XGBoost could not read the stacker's model.`, "Retrain with 'trellis train'.");
    return new Stacker(api, handle, [...value.features], value.rounds, value.params);
  }

  dispose(): void {
    if (this.handle) this.x.free(this.handle);
    this.handle = 0;
  }
}

/**
 * A stacker fitted on every topic's pairs, and each pair's probability from
 * a stacker that never saw its topic (STACK_FOLDS folds of whole topics):
 * the cut tuned after the stacker must be tuned on probabilities like the
 * ones it will meet on new topics, not on the ones the trees fitted.
 * `sizes[i]` is topic i's number of pairs, in the order of `x` and `labels`.
 */
export async function crossFitStacker(x: Float32Array, labels: Uint8Array, sizes: readonly number[], features: readonly string[], seed: number): Promise<{ stacker: Stacker; outOfFold: Float32Array }> {
  const width = features.length;
  const starts: number[] = [];
  sizes.reduce((at, n) => (starts.push(at), at + n), 0);
  const order = shuffleInPlace(Array.from(sizes, (_, i) => i), rngFor(seed, 'rerank/stack/folds'));
  const folds = Math.min(STACK_FOLDS, sizes.length);
  const outOfFold = new Float32Array(labels.length);
  const rowsOf = (topics: number[]) => topics.flatMap((i) => Array.from({ length: sizes[i] }, (_, j) => starts[i] + j));
  const gather = (rows: number[]) => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((r, k) => out.set(x.subarray(r * width, (r + 1) * width), k * width));
    return out;
  };
  for (let f = 0; f < folds; f++) {
    const inFold = order.filter((_, k) => k % folds === f);
    const fit = rowsOf(order.filter((_, k) => k % folds !== f));
    const held = rowsOf(inFold);
    if (fit.length === 0 || held.length === 0) continue;
    const model = await Stacker.fit(gather(fit), Uint8Array.from(fit, (r) => labels[r]), features, deriveSeed(seed, `rerank/stack/${f}`));
    try {
      model.predict(gather(held)).forEach((p, k) => (outOfFold[held[k]] = p));
    } finally {
      model.dispose();
    }
  }
  return { stacker: await Stacker.fit(x, labels, features, deriveSeed(seed, 'rerank/stack')), outOfFold };
}
