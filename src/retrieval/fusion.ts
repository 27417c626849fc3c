/**
 * Learned fusion of the candidate lists (retrieval.fusion 'learned'): instead
 * of reciprocal rank fusion over two 50-item lists, each retriever is searched
 * `fusionDepth` deep, and every item of the union is scored by a logistic
 * regression over what the retrievers and the topic graph say about it:
 *
 *   0  neural cosine of topic and item (query and candidate towers)
 *   1  log(1 + neural rank), log(depth + 2) when absent
 *   2  lexical TF-IDF cosine (the list's lowest when absent)
 *   3  log(1 + lexical rank), likewise
 *   4  cosine of the pretrained sentence vectors (0 without a pretrained encoder)
 *   5  log(1 + rank in the sentence-vector list), likewise (retrieval.sentenceTopK)
 *   6  unplaced: no visible topic links the item (0/1)
 *   7  log(1 + number of visible topics that link the item)
 *   8  the topic's parent links the item (0/1)
 *   9  log(1 + number of the topic's siblings that link the item)
 *  10  hubness: mean cosine of the item to its 5 nearest topics of the whole
 *      tree (query tower), as in CSLS (Conneau et al., ICLR 2018); items close
 *      to many topics crowd every list.
 *  11  sibling margin: the neural cosine minus the item's best cosine to the
 *      topic's siblings (0 without siblings): an item that fits a sibling
 *      better most likely belongs there.
 *  12  cosine of the item to the topic's parent (0 for a root).
 * Features 9 and 11 read the first MAX_SIBLINGS siblings only, which bounds
 * their cost in flat taxonomies (Khan's widest node has 22 children,
 * Debian's 56).
 *
 * The regression is fitted at training time on the validation topics (the
 * towers never trained on their links, and their links are hidden from the
 * placement and graph features), and the best `fusedTopK` items are kept.
 * Catalogues differ in the sign of the placement features: in a curriculum
 * most items sit under one topic, so an item no topic holds yet is a likely
 * answer for a new topic; in a tag taxonomy popular items are. The fit learns
 * which.
 */
import { siblingsOf, type TopicForest } from '../graph/forest.ts';
import { hasLink } from '../data/links.ts';
import type { BruteForceIndex } from '../ann/brute-force.ts';
import type { HnswIndex } from '../ann/hnsw.ts';
import { tf } from '../runtime/tf.ts';
import { batchMatMul, tidyRead } from '../runtime/ops.ts';
import { ArtifactError } from '../errors.ts';
import { joinLists, SOURCE_ROWS, type Candidates, type FusedCandidates } from './candidates.ts';

export const FUSION_FEATURE_NAMES = [
  'neural_cosine', 'log_neural_rank', 'lexical_cosine', 'log_lexical_rank', 'sentence_cosine', 'log_sentence_rank',
  'unplaced', 'log_popularity', 'parent_links', 'log_sibling_links', 'hubness', 'sibling_margin', 'parent_cosine',
] as const;
export const FUSION_FEATURES = FUSION_FEATURE_NAMES.length;

/** Siblings the sibling features read at most. */
export const MAX_SIBLINGS = 256;

/** A fitted fusion: score = bias + sum of weight * feature (a logit). */
export interface FusionModel {
  weights: number[];
  bias: number;
}

/** The links the placement and graph features may read, and the towers' vectors. */
export interface FusionContext {
  forest: TopicForest;
  links: Uint32Array[];
  /** Visible topics linking each content item. [content] */
  popularity: ArrayLike<number>;
  /** Unit-length vectors from the two towers. */
  vectors: TowerVectors;
}

/**
 * Unit-length query-tower vectors of every topic, the hubness of the content
 * rows computed so far (`hubReady`) and, for `fusionPool`'s own geometry,
 * the candidate-tower vectors of the content rows (`content`, valid where
 * `ready` is 1).
 */
export interface TowerVectors {
  dim: number;
  /** [topics * dim] */
  topics: Float32Array;
  /** [content] */
  hub: Float32Array;
  /** [content] */
  hubReady: Uint8Array;
  /** [content * dim], valid where `ready` is 1 (not needed when pools get their geometry from `poolGeometry`). */
  content?: Float32Array;
  /** [content] */
  ready?: Uint8Array;
  /** The topics' index that hubness searches, built on first use. */
  index?: BruteForceIndex | HnswIndex;
}

/** The geometric features of a pool's rows: neural cosine, best cosine to a sibling, cosine to the parent. */
export interface PoolGeometry {
  /** Cosine of the topic's query and the item. [n] */
  cosine: Float32Array;
  /** The cosine minus the item's best cosine to the topic's (first MAX_SIBLINGS) siblings; 0 without siblings. [n] */
  siblingMargin: Float32Array;
  /** Cosine of the item and the topic's parent; 0 for a root. [n] */
  parentCosine: Float32Array;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += a[d] * b[d];
  return s;
}

/** One topic's deep lists, and the exact sentence cosines of any rows when a pretrained encoder exists. */
export interface FusionLists {
  neural: Candidates;
  lexical: Candidates;
  sentence?: Candidates;
  sentenceCosines?: (rows: Uint32Array) => Float32Array;
  /**
   * The unit-length query vector the neural list was searched with (default:
   * the topic's row of `vectors.topics`; they differ when GraphSAGE samples
   * the neighbourhood again).
   */
  query?: Float32Array;
}

/** The union of one topic's lists with the fusion features of every item. */
export interface FusionPool {
  candidates: FusedCandidates;
  /** Row-major features. [n * FUSION_FEATURES] */
  features: Float32Array;
}

/** The union of one topic's lists: the pool's rows in order, with each list's ranks and scores. */
export function poolUnion(lists: FusionLists): ReturnType<typeof joinLists> {
  return joinLists([lists.neural, lists.lexical, lists.sentence]);
}

/**
 * The union of topic `t`'s deep lists (`depth` is how deep each was
 * searched) with their features. The geometric features come from
 * `precomputed` (`poolUnion` and `poolGeometry`, batched over many topics),
 * else from `context.vectors.content`, which must then hold every content
 * row of the lists. The pool's `fused` scores are 0 until `scorePool`.
 */
export function fusionPool(t: number, lists: FusionLists, context: FusionContext, depth: number, precomputed?: { union: ReturnType<typeof joinLists>; geometry: PoolGeometry }): FusionPool {
  const { rows, ranks, scores } = precomputed?.union ?? poolUnion(lists);
  const n = rows.length;
  // An item the lexical list did not reach scores at most the list's last cosine.
  const lexicalFloor = lists.lexical.scores.length ? lists.lexical.scores[lists.lexical.scores.length - 1] : 0;
  const { vectors } = context;
  const sentence = lists.sentenceCosines?.(rows);
  const absent = Math.log(depth + 2);
  const parent = context.forest.parent[t];
  const siblings = siblingsOf(context.forest, t).subarray(0, MAX_SIBLINGS);
  // How many siblings link each item, from their link lists (not a lookup per item and sibling).
  const siblingLinks = new Map<number, number>();
  for (const sibling of siblings) for (const c of context.links[sibling]) siblingLinks.set(c, (siblingLinks.get(c) ?? 0) + 1);
  const geometry = precomputed?.geometry ?? scalarGeometry(t, rows, lists.query, context);
  const features = new Float32Array(n * FUSION_FEATURES);
  for (let j = 0; j < n; j++) {
    const c = rows[j];
    const f = features.subarray(j * FUSION_FEATURES, (j + 1) * FUSION_FEATURES);
    if (!vectors.hubReady[c]) throw new Error(`fusionPool: no hubness for content row ${c}`);
    f[0] = geometry.cosine[j];
    f[1] = ranks[0][j] ? Math.log(1 + ranks[0][j]) : absent;
    f[2] = ranks[1][j] ? scores[1][j] : lexicalFloor;
    f[3] = ranks[1][j] ? Math.log(1 + ranks[1][j]) : absent;
    f[4] = sentence ? sentence[j] : 0;
    f[5] = ranks[2][j] ? Math.log(1 + ranks[2][j]) : absent;
    f[6] = context.popularity[c] === 0 ? 1 : 0;
    f[7] = Math.log(1 + context.popularity[c]);
    f[8] = parent >= 0 && hasLink(context.links[parent], c) ? 1 : 0;
    f[9] = Math.log(1 + (siblingLinks.get(c) ?? 0));
    f[10] = vectors.hub[c];
    f[11] = geometry.siblingMargin[j];
    f[12] = geometry.parentCosine[j];
  }
  const candidates: FusedCandidates = { rows, fused: new Float32Array(n), neural: scores[0], lexical: scores[1], neuralRank: ranks[0], lexicalRank: ranks[1] };
  if (lists.sentence) candidates.sentenceRank = ranks[2];
  if (sentence) candidates.sentence = sentence;
  candidates.sources = { neural: lists.neural.rows.slice(0, SOURCE_ROWS), lexical: lists.lexical.rows.slice(0, SOURCE_ROWS) };
  if (lists.sentence) candidates.sources.sentence = lists.sentence.rows.slice(0, SOURCE_ROWS);
  return { candidates, features };
}

/** The geometric features of one pool from `context.vectors.content`, one dot product at a time (the reference for `poolGeometry`). */
function scalarGeometry(t: number, rows: Uint32Array, query: Float32Array | undefined, context: FusionContext): PoolGeometry {
  const { vectors } = context;
  if (!vectors.content || !vectors.ready) throw new Error('fusionPool: no content vectors and no precomputed geometry');
  const topicVector = (s: number) => vectors.topics.subarray(s * vectors.dim, (s + 1) * vectors.dim);
  const parent = context.forest.parent[t];
  const q = query ?? topicVector(t);
  const parentVector = parent >= 0 ? topicVector(parent) : undefined;
  const siblingVectors = Array.from(siblingsOf(context.forest, t).subarray(0, MAX_SIBLINGS), topicVector);
  const n = rows.length;
  const out: PoolGeometry = { cosine: new Float32Array(n), siblingMargin: new Float32Array(n), parentCosine: new Float32Array(n) };
  for (let j = 0; j < n; j++) {
    const c = rows[j];
    if (!vectors.ready[c]) throw new Error(`fusionPool: no vector for content row ${c}`);
    const v = vectors.content.subarray(c * vectors.dim, (c + 1) * vectors.dim);
    const cosine = dot(q, v);
    let best = -Infinity;
    for (const s of siblingVectors) best = Math.max(best, dot(s, v));
    out.cosine[j] = cosine;
    out.siblingMargin[j] = siblingVectors.length ? cosine - best : 0;
    out.parentCosine[j] = parentVector ? dot(parentVector, v) : 0;
  }
  return out;
}

/** Topics per batched product in `poolGeometry`. */
const GEOMETRY_BLOCK = 64;

/**
 * The geometric features of many pools at once: for a block of topics, the
 * matrix of each pool's candidate vectors [n, D] times its topic's
 * [query; parent; siblings] [D, 2 + s], one batched matMul per block
 * (zero-padded to the block's largest pool and sibling count), instead of
 * n (2 + s) dot products in JavaScript per topic. `content` holds the
 * candidates' unit vectors at rows `local[row]`.
 */
export function poolGeometry(
  pools: readonly { t: number; query: Float32Array; rows: Uint32Array }[],
  forest: TopicForest,
  topicVectors: Float32Array,
  content: Float32Array,
  local: Int32Array,
  dim: number,
): PoolGeometry[] {
  const out: PoolGeometry[] = [];
  for (let from = 0; from < pools.length; from += GEOMETRY_BLOCK) {
    const block = pools.slice(from, from + GEOMETRY_BLOCK);
    const siblings = block.map((p) => siblingsOf(forest, p.t).subarray(0, MAX_SIBLINGS));
    const n = Math.max(1, ...block.map((p) => p.rows.length));
    const m = 2 + Math.max(0, ...siblings.map((s) => s.length));
    const B = block.length;
    const a = new Float32Array(B * n * dim); // [B, n, D]
    const w = new Float32Array(B * dim * m); // [B, D, m]: query, parent, siblings as columns
    block.forEach((p, b) => {
      p.rows.forEach((row, j) => a.set(content.subarray(local[row] * dim, (local[row] + 1) * dim), (b * n + j) * dim));
      const column = (k: number, v: Float32Array) => {
        for (let d = 0; d < dim; d++) w[(b * dim + d) * m + k] = v[d];
      };
      column(0, p.query);
      const parent = forest.parent[p.t];
      if (parent >= 0) column(1, topicVectors.subarray(parent * dim, (parent + 1) * dim));
      siblings[b].forEach((s, k) => column(2 + k, topicVectors.subarray(s * dim, (s + 1) * dim)));
    });
    const products = tidyRead(() => batchMatMul(tf.tensor3d(a, [B, n, dim]), tf.tensor3d(w, [B, dim, m]))); // [B, n, m]
    block.forEach((p, b) => {
      const size = p.rows.length;
      const g: PoolGeometry = { cosine: new Float32Array(size), siblingMargin: new Float32Array(size), parentCosine: new Float32Array(size) };
      const hasParent = forest.parent[p.t] >= 0;
      for (let j = 0; j < size; j++) {
        const base = (b * n + j) * m;
        const cosine = products[base];
        let best = -Infinity;
        for (let k = 0; k < siblings[b].length; k++) best = Math.max(best, products[base + 2 + k]);
        g.cosine[j] = cosine;
        g.siblingMargin[j] = siblings[b].length ? cosine - best : 0;
        g.parentCosine[j] = hasParent ? products[base + 1] : 0;
      }
      out.push(g);
    });
  }
  return out;
}

/** The pool's items ordered by the fusion's score (the `fused` field), cut to the best `keep`. */
export function scorePool(pool: FusionPool, model: FusionModel, keep: number): FusedCandidates {
  const { candidates: c, features } = pool;
  const n = c.rows.length;
  const logits = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let z = model.bias;
    for (let f = 0; f < FUSION_FEATURES; f++) z += model.weights[f] * features[j * FUSION_FEATURES + f];
    logits[j] = z;
  }
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a] || c.rows[a] - c.rows[b]).slice(0, keep);
  const out: FusedCandidates = {
    rows: Uint32Array.from(order, (j) => c.rows[j]),
    fused: Float32Array.from(order, (j) => logits[j]),
    neural: Float32Array.from(order, (j) => c.neural[j]),
    lexical: Float32Array.from(order, (j) => c.lexical[j]),
    neuralRank: Int32Array.from(order, (j) => c.neuralRank[j]),
    lexicalRank: Int32Array.from(order, (j) => c.lexicalRank[j]),
  };
  if (c.sentenceRank) out.sentenceRank = Int32Array.from(order, (j) => c.sentenceRank![j]);
  if (c.sentence) out.sentence = Float32Array.from(order, (j) => c.sentence![j]);
  if (c.sources) out.sources = c.sources;
  return out;
}

export interface FitOptions {
  /** Full-batch Adam steps. Default 300. */
  steps?: number;
  /** Adam step size on standardised features. Default 0.1. */
  learningRate?: number;
  /** L2 penalty on the standardised weights. Default 1e-4. */
  l2?: number;
}

/**
 * Logistic regression of `labels` (1: the item is a link of the topic) on the
 * pools' features, by full-batch Adam on standardised features (a convex,
 * problem of 13 weights: deterministic, and seconds in plain JS). Constant
 * features get weight 0.
 */
export function fitFusion(pools: readonly { features: Float32Array; labels: Uint8Array }[], options: FitOptions = {}): FusionModel {
  const { steps = 300, learningRate = 0.1, l2 = 1e-4 } = options;
  const F = FUSION_FEATURES;
  const mean = new Float64Array(F);
  const scale = new Float64Array(F);
  let n = 0;
  for (const p of pools) {
    for (let j = 0; j < p.labels.length; j++, n++) {
      for (let f = 0; f < F; f++) {
        const v = p.features[j * F + f];
        mean[f] += v;
        scale[f] += v * v;
      }
    }
  }
  if (n === 0) throw new RangeError('fitFusion: no candidates to fit on');
  const used: number[] = [];
  for (let f = 0; f < F; f++) {
    mean[f] /= n;
    const variance = scale[f] / n - mean[f] * mean[f];
    scale[f] = Math.sqrt(Math.max(variance, 0));
    if (scale[f] > 1e-6) used.push(f);
  }
  const w = new Float64Array(F + 1);
  const m1 = new Float64Array(F + 1);
  const m2 = new Float64Array(F + 1);
  const g = new Float64Array(F + 1);
  const z = new Float64Array(F);
  for (let step = 1; step <= steps; step++) {
    g.fill(0);
    for (const p of pools) {
      for (let j = 0; j < p.labels.length; j++) {
        let logit = w[F];
        for (const f of used) logit += w[f] * (z[f] = (p.features[j * F + f] - mean[f]) / scale[f]);
        const error = 1 / (1 + Math.exp(-logit)) - p.labels[j];
        for (const f of used) g[f] += error * z[f];
        g[F] += error;
      }
    }
    for (const f of [...used, F]) {
      const grad = g[f] / n + (f < F ? l2 * w[f] : 0);
      m1[f] = 0.9 * m1[f] + 0.1 * grad;
      m2[f] = 0.999 * m2[f] + 0.001 * grad * grad;
      w[f] -= (learningRate * (m1[f] / (1 - 0.9 ** step))) / (Math.sqrt(m2[f] / (1 - 0.999 ** step)) + 1e-8);
    }
  }
  // Back to the raw features' scale.
  const weights = new Array<number>(F).fill(0);
  let bias = w[F];
  for (const f of used) {
    weights[f] = w[f] / scale[f];
    bias -= (w[f] * mean[f]) / scale[f];
  }
  return { weights, bias };
}

/** What a model folder stores of a fitted fusion (as JSON): the feature names, the weights and bias, and `info`. */
export function fusionJson(model: FusionModel, info: Record<string, unknown> = {}): Record<string, unknown> {
  return { features: FUSION_FEATURE_NAMES, ...model, ...info };
}

/** A fusion from its stored JSON (`path` names it in errors), or an ArtifactError when it is from other features or malformed. */
export function parseFusion(value: unknown, path: string, hint: string): FusionModel {
  const stored = (typeof value === 'object' && value !== null ? value : {}) as { features?: unknown; weights?: unknown; bias?: unknown };
  if (JSON.stringify(stored.features) !== JSON.stringify(FUSION_FEATURE_NAMES)) {
    throw new ArtifactError(`${path}: fitted on other features (${JSON.stringify(stored.features)}).`, hint);
  }
  const { weights, bias } = stored;
  if (!Array.isArray(weights) || weights.length !== FUSION_FEATURES || !weights.every((v) => typeof v === 'number' && Number.isFinite(v)) || typeof bias !== 'number' || !Number.isFinite(bias)) {
    throw new ArtifactError(`${path}: weights must be ${FUSION_FEATURES} finite numbers and bias a finite number.`, hint);
  }
  return { weights, bias };
}
