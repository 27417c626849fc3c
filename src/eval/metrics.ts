/**
 * Metrics of the LECR competition and of candidate retrieval.
 *
 * Mean F2 over topics, exactly as LECR scores a submission: for every topic in
 * the answers, precision P and recall R of its predicted set against its gold
 * set, F2 = 5PR / (4P + R) (recall weighs four times precision), 0 when
 * nothing correct is predicted, including a topic with no prediction; the
 * mean is over the answer topics. Precision and recall are averaged the same
 * way. recall@K scores a ranked candidate list: the share of a topic's gold
 * items found in its first K candidates, averaged over topics.
 */

/** One topic's scores. */
export interface TopicScore {
  precision: number;
  recall: number;
  f2: number;
}

/** P, R and F2 of a predicted set against a gold set (both without duplicates). */
export function scoreTopic(predicted: ArrayLike<number>, gold: ArrayLike<number>): TopicScore {
  if (gold.length === 0 || predicted.length === 0) return { precision: 0, recall: 0, f2: 0 };
  const goldSet = new Set<number>();
  for (let i = 0; i < gold.length; i++) goldSet.add(gold[i]);
  let hits = 0;
  const seen = new Set<number>();
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i];
    if (seen.has(p)) continue;
    seen.add(p);
    if (goldSet.has(p)) hits++;
  }
  const precision = hits / seen.size;
  const recall = hits / goldSet.size;
  return { precision, recall, f2: f2Score(precision, recall) };
}

/** F-beta with beta = 2: 5PR / (4P + R); 0 when both are 0. */
export function f2Score(precision: number, recall: number): number {
  const denominator = 4 * precision + recall;
  return denominator === 0 ? 0 : (5 * precision * recall) / denominator;
}

export interface SetMetrics {
  /** Mean F2 over answer topics. */
  f2: number;
  precision: number;
  recall: number;
  /** Number of answer topics the means are over. */
  topics: number;
  /** Answer topics that had no prediction (each scored 0). */
  topicsWithoutPrediction: number;
}

/**
 * Mean F2 / precision / recall over the answer topics. `predictions` and
 * `answers` map topic keys to item keys; predicted topics that are not in the
 * answers are ignored, as in LECR.
 */
export function evaluateSets(predictions: Map<string, ArrayLike<number>>, answers: Map<string, ArrayLike<number>>): SetMetrics {
  let f2 = 0;
  let precision = 0;
  let recall = 0;
  let missing = 0;
  let topics = 0;
  for (const [topic, gold] of answers) {
    if (gold.length === 0) continue;
    topics++;
    const predicted = predictions.get(topic);
    if (!predicted || predicted.length === 0) {
      missing++;
      continue;
    }
    const s = scoreTopic(predicted, gold);
    f2 += s.f2;
    precision += s.precision;
    recall += s.recall;
  }
  const n = Math.max(topics, 1);
  return { f2: f2 / n, precision: precision / n, recall: recall / n, topics, topicsWithoutPrediction: missing };
}

/**
 * Mean recall@K for each K in `ks`: ranked candidate lists (best first)
 * against gold sets. Topics with an empty gold set are left out.
 */
export function recallAtK(ranked: Map<string, ArrayLike<number>>, answers: Map<string, ArrayLike<number>>, ks: readonly number[]): Record<string, number> {
  const sums = new Float64Array(ks.length);
  let topics = 0;
  for (const [topic, gold] of answers) {
    if (gold.length === 0) continue;
    topics++;
    const list = ranked.get(topic);
    if (!list) continue;
    const goldSet = new Set<number>();
    for (let i = 0; i < gold.length; i++) goldSet.add(gold[i]);
    ks.forEach((k, j) => {
      let hits = 0;
      const seen = new Set<number>();
      for (let i = 0; i < Math.min(k, list.length); i++) {
        if (goldSet.has(list[i]) && !seen.has(list[i])) hits++;
        seen.add(list[i]);
      }
      sums[j] += hits / goldSet.size;
    });
  }
  const out: Record<string, number> = {};
  ks.forEach((k, j) => (out[`recall@${k}`] = topics ? sums[j] / topics : 0));
  return out;
}

/**
 * The best fixed top-k cut of ranked lists for mean F2: tries every k in
 * [1, maxK] and returns it with its metrics.
 */
export function bestTopK(ranked: Map<string, ArrayLike<number>>, answers: Map<string, ArrayLike<number>>, maxK: number): { k: number } & SetMetrics {
  let best: ({ k: number } & SetMetrics) | undefined;
  for (let k = 1; k <= maxK; k++) {
    const cut = new Map<string, ArrayLike<number>>();
    for (const [topic, list] of ranked) cut.set(topic, Array.prototype.slice.call(list, 0, k) as number[]);
    const m = evaluateSets(cut, answers);
    if (!best || m.f2 > best.f2) best = { k, ...m };
  }
  return best ?? { k: 0, ...evaluateSets(new Map(), answers) };
}

/** Ranked candidate lists of topic rows, keyed by topic id for the metrics above. */
export function rankedById(topicIds: readonly string[], lists: readonly { rows: Uint32Array }[]): Map<string, Uint32Array> {
  const ranked = new Map<string, Uint32Array>();
  lists.forEach((list, i) => ranked.set(topicIds[i], list.rows));
  return ranked;
}

export interface CandidateMetrics {
  /** recall@K for each K asked. */
  recall: Record<string, number>;
  /** The best fixed top-k cut for F2, and its metrics. */
  best: { k: number } & SetMetrics;
  /** Metrics at fixed cuts. */
  atK: Record<string, SetMetrics>;
}

/** recall@K and F2 at fixed and best top-k cuts of ranked lists. */
export function evaluateRanked(ranked: Map<string, ArrayLike<number>>, answers: Map<string, ArrayLike<number>>, ks: readonly number[], cuts: readonly number[], maxK = 50): CandidateMetrics {
  const atK: Record<string, SetMetrics> = {};
  for (const k of cuts) {
    const cut = new Map<string, ArrayLike<number>>();
    for (const [topic, list] of ranked) cut.set(topic, Array.prototype.slice.call(list, 0, k) as number[]);
    atK[`top${k}`] = evaluateSets(cut, answers);
  }
  return { recall: recallAtK(ranked, answers, ks), best: bestTopK(ranked, answers, maxK), atK };
}
