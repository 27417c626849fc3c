/**
 * A per-topic cut-off: how many reranked candidates each topic keeps, from
 * its own score distribution, instead of one threshold for all topics.
 *
 * The reranker's probabilities p_j of a topic's candidates are calibrated,
 * q_j = sigmoid(a logit(p_j) + b), and read as the chances that each item
 * belongs. The topic then expects G = gamma * sum_j q_j + delta * s gold items
 * in all (gamma >= 1 counts gold items the retrieval missed; s is the mean
 * number of items the topic's siblings hold, a prior that topics of one unit
 * hold alike numbers), and keeping its top k items (sorted by q) expects
 *
 *   E[F2](k) ~= 5 S_k / (4 G + k),   S_k = q_1 + ... + q_k
 *
 * (the ratio of the expectations of F2's numerator and denominator, as in
 * Jansche, "Maximum expected F-measure training", 2005, and the F-measure
 * optimisers of Lipton et al., 2014). Each topic keeps the k >= 1 that
 * maximises it. The four numbers (a, b, gamma, delta) are chosen on
 * validation topics by a grid search for mean F2, the metric itself.
 *
 * With a learned count (`rerank.cutoff: 'learned-count'`), G is instead
 * predicted from the topic: a ridge regression of log(gold count) on what
 * the topic's scores and place in the tree say about its size (COUNT_FEATURES:
 * the calibrated sum, how many items are likely at three levels, the first
 * and fifth probability, the siblings' items, depth and number of siblings),
 * fitted on the tuning topics for each calibration (a, b) of the grid, times
 * a scale; the calibration and the scale are chosen on the same topics for
 * mean F2.
 */
import { Matrix, solve } from 'ml-matrix';
import { ArtifactError, DataError } from '../errors.ts';
import { f2Score } from '../eval/metrics.ts';
import type { ScoredCandidates } from './threshold.ts';

export interface ExpectedF2Cutoff {
  kind: 'expected-f2';
  /** Calibration slope and intercept on the logit of the reranker's probability. */
  a: number;
  b: number;
  /** Expected gold items per unit of the calibrated sum (>= 1: room for items retrieval missed). */
  gamma: number;
  /** Weight of the siblings' mean number of items in the expected gold count. */
  delta: number;
  /** The learned count model: when present it gives G instead of gamma and delta. */
  count?: CountModel;
}

/** What the cut-off knows of a topic besides its scores. */
export interface TopicPrior {
  /** Mean number of visible items of the topic's siblings (0 without siblings). */
  siblingItems: number;
  /** Number of siblings. */
  siblings: number;
  /** Depth below the root. */
  depth: number;
}

/** The features of a topic's expected gold count, in the order of CountModel's weights. */
export const COUNT_FEATURES = [
  'log_calibrated_sum', 'log_likely_20', 'log_likely_50', 'log_likely_80', 'top_logit', 'fifth_logit',
  'log_sibling_items', 'no_sibling_items', 'log_siblings', 'log_depth',
] as const;

/**
 * G = scale * exp(bias + sum_i weights[i] * (x_i - mean[i]) / std[i]) over
 * COUNT_FEATURES x: log(gold count) regressed on the topic's features.
 */
export interface CountModel {
  features: string[];
  mean: number[];
  std: number[];
  bias: number;
  weights: number[];
  scale: number;
}

export interface CutoffSearchResult {
  cutoff: ExpectedF2Cutoff;
  f2: number;
  precision: number;
  recall: number;
  topics: number;
  /** With a learned count: the best cut-off without one (gamma and delta), tuned on the same topics. */
  withoutCount?: CutoffSearchResult;
}

const SCOPE = 'rerank/cutoff';
/** Scales of the learned count tried; ridge strength per topic on standardised features. */
const COUNT_SCALES = [0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3];
const COUNT_RIDGE = 0.02;
const GRID = {
  a: [0.5, 0.75, 1, 1.25, 1.5, 2],
  b: [-4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2],
  gamma: [1, 1.15, 1.3, 1.5, 1.75, 2, 2.5, 3],
  delta: [0, 0.1, 0.25, 0.5, 0.75],
};

const logit = (p: number) => {
  const c = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(c / (1 - c));
};
const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/**
 * How many of a topic's candidates to keep (at least one of a non-empty
 * list), given their probabilities sorted highest first and the topic's prior.
 */
export function keepCount(cutoff: ExpectedF2Cutoff, sortedScores: ArrayLike<number>, prior: TopicPrior): number {
  const logits = Float64Array.from(sortedScores, logit);
  const q = calibrated(cutoff, logits);
  return keepCountOf(q, expectedGold(cutoff, q, logits, prior));
}

/** The calibrated probabilities of sorted logits. */
function calibrated(cutoff: Pick<ExpectedF2Cutoff, 'a' | 'b'>, logits: Float64Array): Float64Array {
  return logits.map((z) => sigmoid(cutoff.a * z + cutoff.b));
}

/** The topic's expected number of gold items G. */
function expectedGold(cutoff: ExpectedF2Cutoff, q: Float64Array, logits: Float64Array, prior: TopicPrior): number {
  if (cutoff.count) return predictCount(cutoff.count, countFeatures(q, logits, prior));
  let total = 0;
  for (const v of q) total += v;
  return cutoff.gamma * total + cutoff.delta * prior.siblingItems;
}

/** COUNT_FEATURES of a topic. */
function countFeatures(q: Float64Array, logits: Float64Array, prior: TopicPrior): number[] {
  let total = 0;
  let likely20 = 0;
  let likely50 = 0;
  let likely80 = 0;
  for (const v of q) {
    total += v;
    if (v > 0.2) likely20++;
    if (v > 0.5) likely50++;
    if (v > 0.8) likely80++;
  }
  const n = logits.length;
  return [
    Math.log1p(total), Math.log1p(likely20), Math.log1p(likely50), Math.log1p(likely80),
    n ? logits[0] : 0, n ? logits[Math.min(4, n - 1)] : 0,
    Math.log1p(prior.siblingItems), prior.siblingItems === 0 ? 1 : 0, Math.log1p(prior.siblings), Math.log1p(prior.depth),
  ];
}

function predictCount(model: CountModel, x: readonly number[]): number {
  let z = model.bias;
  for (let i = 0; i < x.length; i++) z += (model.weights[i] * (x[i] - model.mean[i])) / model.std[i];
  return model.scale * Math.exp(Math.min(z, 20));
}

/** The k >= 1 maximising 5 S_k / (4 G + k) over calibrated probabilities sorted highest first (0 for none). */
function keepCountOf(q: Float64Array, expected: number): number {
  const n = q.length;
  if (n === 0) return 0;
  const gold = Math.max(expected, 1e-9);
  let best = 1;
  let bestValue = -1;
  let prefix = 0;
  for (let k = 1; k <= n; k++) {
    prefix += q[k - 1];
    const value = (5 * prefix) / (4 * gold + k);
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  return best;
}

/** Indices of the candidates the cut-off keeps, best first (`scores` are one topic's probabilities). */
export function applyCutoff(cutoff: ExpectedF2Cutoff, scores: ArrayLike<number>, prior: TopicPrior): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((x, y) => scores[y] - scores[x] || x - y);
  const sorted = Float64Array.from(order, (i) => scores[i]);
  return order.subarray(0, keepCount(cutoff, sorted, prior));
}

/** One tuning topic's sorted logits and the F2, precision and recall of keeping its top k. */
interface SearchTopic {
  logits: Float64Array;
  f2: Float64Array;
  precision: Float64Array;
  recall: Float64Array;
  prior: TopicPrior;
  gold: number;
}

/**
 * The cut-off with the highest mean F2 on validation topics' candidates
 * (`priors[t]`: what the cut-off knows of topic t), over a grid of the four
 * numbers; ties go to the grid point met first. With `learnCount`, the best
 * cut-off with a learned count instead (a count model fitted for each
 * calibration of the grid, at each scale), the one without it kept in
 * `withoutCount`.
 */
export function searchCutoff(candidates: ScoredCandidates, priors: readonly TopicPrior[], options: { learnCount?: boolean } = {}): CutoffSearchResult {
  const { offsets, scores, labels, goldCounts } = candidates;
  const T = goldCounts.length;
  if (priors.length !== T) throw new DataError(`${SCOPE}: priors must have one entry per topic, ${T} (got ${priors.length}).`);
  // Each topic's candidates sorted once, with the F2 of keeping the top k.
  const topics: SearchTopic[] = [];
  for (let t = 0; t < T; t++) {
    if (goldCounts[t] === 0) continue;
    const a = offsets[t];
    const order = Array.from({ length: offsets[t + 1] - a }, (_, j) => j).sort((x, y) => scores[a + y] - scores[a + x] || x - y);
    const n = order.length;
    const f2 = new Float64Array(n + 1);
    const precision = new Float64Array(n + 1);
    const recall = new Float64Array(n + 1);
    let hits = 0;
    order.forEach((j, k) => {
      hits += labels[a + j];
      precision[k + 1] = hits / (k + 1);
      recall[k + 1] = hits / goldCounts[t];
      f2[k + 1] = f2Score(precision[k + 1], recall[k + 1]);
    });
    topics.push({ logits: Float64Array.from(order, (j) => logit(scores[a + j])), f2, precision, recall, prior: priors[t], gold: goldCounts[t] });
  }
  if (topics.length === 0) throw new DataError(`${SCOPE}: at least one topic must have a gold item (got ${T} topics, none with gold).`);
  const n = topics.length;
  const score = (cutoff: ExpectedF2Cutoff, counts: readonly number[]): CutoffSearchResult => {
    let f2 = 0;
    let precision = 0;
    let recall = 0;
    topics.forEach((topic, i) => {
      f2 += topic.f2[counts[i]];
      precision += topic.precision[counts[i]];
      recall += topic.recall[counts[i]];
    });
    return { cutoff, f2: f2 / n, precision: precision / n, recall: recall / n, topics: n };
  };
  const better = (result: CutoffSearchResult, best?: CutoffSearchResult) => !best || result.f2 > best.f2 + 1e-12;
  const y = options.learnCount ? topics.map((topic) => Math.log(topic.gold)) : [];
  let best: CutoffSearchResult | undefined;
  let learned: CutoffSearchResult | undefined;
  // Each calibration's probabilities serve both searches.
  for (const a of GRID.a) for (const b of GRID.b) {
    const q = topics.map((topic) => calibrated({ a, b }, topic.logits));
    const sums = q.map((values) => values.reduce((s, v) => s + v, 0));
    for (const gamma of GRID.gamma) for (const delta of GRID.delta) {
      const result = score({ kind: 'expected-f2', a, b, gamma, delta }, q.map((values, i) => keepCountOf(values, gamma * sums[i] + delta * topics[i].prior.siblingItems)));
      if (better(result, best)) best = result;
    }
    if (!options.learnCount) continue;
    const x = topics.map((topic, i) => countFeatures(q[i], topic.logits, topic.prior));
    const fit = fitCount(x, y);
    for (const scale of COUNT_SCALES) {
      const count: CountModel = { ...fit, scale };
      // gamma and delta are unused with a count model (1 and 0 keep the cut-off readable by parseCutoff).
      const result = score({ kind: 'expected-f2', a, b, gamma: 1, delta: 0, count }, q.map((values, i) => keepCountOf(values, predictCount(count, x[i]))));
      if (better(result, learned)) learned = result;
    }
  }
  return learned ? { ...learned, withoutCount: best! } : best!;
}


/** Ridge regression of `y` on standardised `x` (the bias unpenalised), COUNT_RIDGE per row. */
function fitCount(x: readonly number[][], y: readonly number[]): Omit<CountModel, 'scale'> {
  const n = x.length;
  const d = COUNT_FEATURES.length;
  const mean = Array.from({ length: d }, (_, i) => x.reduce((s, row) => s + row[i], 0) / n);
  const std = mean.map((m, i) => Math.sqrt(x.reduce((s, row) => s + (row[i] - m) ** 2, 0) / n) || 1);
  const z = new Matrix(x.map((row) => row.map((v, i) => (v - mean[i]) / std[i])));
  const bias = y.reduce((s, v) => s + v, 0) / n;
  const centred = Matrix.columnVector(y.map((v) => v - bias));
  const gram = z.transpose().mmul(z).add(Matrix.eye(d).mul(COUNT_RIDGE * n));
  const weights = solve(gram, z.transpose().mmul(centred)).getColumn(0);
  return { features: [...COUNT_FEATURES], mean, std, bias, weights };
}

/** A cut-off read back from JSON (e.g. a model artifact), checked; an ArtifactError if it is not one. */
export function parseCutoff(value: unknown, source = 'cutoff'): ExpectedF2Cutoff {
  const v = value as Partial<ExpectedF2Cutoff> | null;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (typeof v !== 'object' || v === null || v.kind !== 'expected-f2' || !finite(v.a) || !finite(v.b) || !finite(v.gamma) || !finite(v.delta) || v.gamma! <= 0 || v.delta! < 0) {
    throw new ArtifactError(`${SCOPE}: ${source} must be { kind: 'expected-f2', a, b, gamma > 0, delta >= 0 } (got ${JSON.stringify(value)}).`, "Retrain with 'trellis train'.");
  }
  const cutoff: ExpectedF2Cutoff = { kind: 'expected-f2', a: v.a!, b: v.b!, gamma: v.gamma!, delta: v.delta! };
  if (v.count === undefined) return cutoff;
  const m = v.count as Partial<CountModel> | null;
  const d = COUNT_FEATURES.length;
  const numbers = (xs: unknown) => Array.isArray(xs) && xs.length === d && xs.every(finite);
  const named = Array.isArray(m?.features) && m.features.length === d && m.features.every((f, i) => f === COUNT_FEATURES[i]);
  if (typeof m !== 'object' || m === null || !named || !numbers(m.mean) || !numbers(m.std) || !numbers(m.weights) || !finite(m.bias) || !finite(m.scale) || m.scale! <= 0) {
    throw new ArtifactError(`${SCOPE}: ${source} holds a count model this version cannot read (features ${COUNT_FEATURES.join(', ')}; got ${JSON.stringify(v.count).slice(0, 200)}).`, "Retrain with 'trellis train'.");
  }
  return { ...cutoff, count: { features: [...COUNT_FEATURES], mean: m.mean!, std: m.std!, bias: m.bias!, weights: m.weights!, scale: m.scale! } };
}
