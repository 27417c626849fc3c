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
 */
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
}

export interface CutoffSearchResult {
  cutoff: ExpectedF2Cutoff;
  f2: number;
  precision: number;
  recall: number;
  topics: number;
}

const SCOPE = 'rerank/cutoff';
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
 * list), given their probabilities sorted highest first and the siblings'
 * mean item count.
 */
export function keepCount(cutoff: ExpectedF2Cutoff, sortedScores: ArrayLike<number>, siblingItems: number): number {
  return keepCountOfLogits(cutoff, Float64Array.from(sortedScores, logit), siblingItems);
}

/** `keepCount` from the logits of the sorted probabilities (the search computes them once per topic). */
function keepCountOfLogits(cutoff: ExpectedF2Cutoff, logits: Float64Array, siblingItems: number): number {
  const n = logits.length;
  if (n === 0) return 0;
  const q = new Float64Array(n);
  let total = 0;
  for (let j = 0; j < n; j++) total += q[j] = sigmoid(cutoff.a * logits[j] + cutoff.b);
  const gold = Math.max(cutoff.gamma * total + cutoff.delta * siblingItems, 1e-9);
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
export function applyCutoff(cutoff: ExpectedF2Cutoff, scores: ArrayLike<number>, siblingItems: number): Uint32Array {
  const order = Uint32Array.from({ length: scores.length }, (_, i) => i).sort((x, y) => scores[y] - scores[x] || x - y);
  const sorted = Float64Array.from(order, (i) => scores[i]);
  return order.subarray(0, keepCount(cutoff, sorted, siblingItems));
}

/**
 * The cut-off with the highest mean F2 on validation topics' candidates
 * (`siblingItems[t]`: the mean number of visible items of topic t's
 * siblings), over a grid of the four numbers; ties go to the grid point met
 * first.
 */
export function searchCutoff(candidates: ScoredCandidates, siblingItems: ArrayLike<number>): CutoffSearchResult {
  const { offsets, scores, labels, goldCounts } = candidates;
  const T = goldCounts.length;
  if (siblingItems.length !== T) throw new DataError(`${SCOPE}: siblingItems must have one entry per topic, ${T} (got ${siblingItems.length}).`);
  // Each topic's candidates sorted once, with the F2 of keeping the top k.
  const topics: { logits: Float64Array; f2: Float64Array; precision: Float64Array; recall: Float64Array; t: number }[] = [];
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
    topics.push({ logits: Float64Array.from(order, (j) => logit(scores[a + j])), f2, precision, recall, t });
  }
  if (topics.length === 0) throw new DataError(`${SCOPE}: at least one topic must have a gold item (got ${T} topics, none with gold).`);
  let best: CutoffSearchResult | undefined;
  for (const a of GRID.a) for (const b of GRID.b) for (const gamma of GRID.gamma) for (const delta of GRID.delta) {
    const cutoff: ExpectedF2Cutoff = { kind: 'expected-f2', a, b, gamma, delta };
    let f2 = 0;
    let precision = 0;
    let recall = 0;
    for (const topic of topics) {
      const k = keepCountOfLogits(cutoff, topic.logits, siblingItems[topic.t]);
      f2 += topic.f2[k];
      precision += topic.precision[k];
      recall += topic.recall[k];
    }
    const n = topics.length;
    if (!best || f2 / n > best.f2 + 1e-12) best = { cutoff, f2: f2 / n, precision: precision / n, recall: recall / n, topics: n };
  }
  return best!;
}

/** A cut-off read back from JSON (e.g. a model artifact), checked; an ArtifactError if it is not one. */
export function parseCutoff(value: unknown, source = 'cutoff'): ExpectedF2Cutoff {
  const v = value as Partial<ExpectedF2Cutoff> | null;
  const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);
  if (typeof v !== 'object' || v === null || v.kind !== 'expected-f2' || !finite(v.a) || !finite(v.b) || !finite(v.gamma) || !finite(v.delta) || v.gamma! <= 0 || v.delta! < 0) {
    throw new ArtifactError(`${SCOPE}: ${source} must be { kind: 'expected-f2', a, b, gamma > 0, delta >= 0 } (got ${JSON.stringify(value)}).`, "Retrain with 'trellis train'.");
  }
  return { kind: 'expected-f2', a: v.a!, b: v.b!, gamma: v.gamma!, delta: v.delta! };
}
