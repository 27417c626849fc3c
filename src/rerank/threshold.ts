/**
 * The F2 decision rule: which reranked candidates of a topic to recommend.
 *
 * Rule (per topic, candidates sorted by probability p, highest first; ties
 * keep candidate order):
 *
 *   keep candidate  if  p >= threshold  OR  p >= maxP * (1 - margin)
 *   always keep the top candidate (a topic with no prediction scores 0)
 *   keep at most `cap` candidates (the highest)
 *
 * Both conditions are lower bounds on p, so the kept set is always a prefix
 * of the sorted list: k = min(cap, max(1, #{p >= min(threshold, maxP(1 - margin))})).
 *
 * The search maximises LECR's metric, mean F2 over topics (Learning Equality
 * curriculum recommendations, Kaggle 2023): per topic F2 = 5PR / (4P + R)
 * of the kept set against the topic's gold set, topics with an empty gold set
 * left out of the mean. With k kept, h of them gold and g gold items in all,
 * P = h/k and R = h/g.
 *
 * Search: exact over every threshold, grid over margin and cap. Mean F2 only
 * changes when the threshold crosses a candidate's score, so for one
 * (margin, cap) a single sweep down all candidates in global score order,
 * updating one topic's F2 per step from prefix hit counts, evaluates every
 * distinct threshold: O(N) per grid point after one O(N log N) sort. The
 * chosen threshold is the midpoint of the winning score interval (the
 * max-margin choice for unseen topics).
 */
import { ArtifactError, DataError, UsageError } from '../errors.ts';
import { f2Score } from '../eval/metrics.ts';
import { resolveOptions } from '../options.ts';

/** A decision rule; plain JSON, stored with the model. */
export interface DecisionRule {
  /** Absolute probability threshold: keep p >= threshold (above 1: never fires). */
  threshold: number;
  /** Relative margin in [0, 1]: keep p >= maxP * (1 - margin); 0 keeps only the top score (and its ties). */
  margin: number;
  /** At most this many items per topic (>= 1). */
  cap: number;
}

/**
 * Scored candidates of validation topics, CSR-packed: topic t owns
 * candidates [offsets[t], offsets[t + 1]).
 */
export interface ScoredCandidates {
  /** [T + 1], offsets[0] = 0, non-decreasing, offsets[T] = N. */
  offsets: Uint32Array;
  /** Probability of each candidate, in [0, 1]. [N] */
  scores: Float32Array;
  /** 1 where the candidate is in its topic's gold set, else 0. [N] */
  labels: Uint8Array;
  /**
   * Size of each topic's gold set: at least its gold candidates, more when
   * retrieval missed gold items (they still count against recall). [T]
   */
  goldCounts: Uint32Array;
}

export interface DecisionRuleSearchOptions {
  /** Margins tried. Default 0, 0.05, ..., 1 (21 values). */
  margins?: number[];
  /** Caps tried. Default [5, 10, 20, 50, 100]. */
  caps?: number[];
}

export const DEFAULT_DECISION_RULE_SEARCH_OPTIONS: Readonly<Required<DecisionRuleSearchOptions>> = Object.freeze({
  margins: Array.from({ length: 21 }, (_, i) => i / 20),
  caps: [5, 10, 20, 50, 100],
});

export interface DecisionRuleSearchResult {
  rule: DecisionRule;
  /** Mean F2 of `rule` over the topics with a non-empty gold set. */
  f2: number;
  /** Mean precision and recall of `rule` over the same topics. */
  precision: number;
  recall: number;
  /** Topics the means are over. */
  topics: number;
  /** (threshold, margin, cap) combinations evaluated. */
  evaluated: number;
}

const SCOPE = 'rerank/threshold';

/**
 * The rule with the highest mean F2 on `candidates`. Ties go to the largest
 * cap (cut only where it helps), then the smallest margin, then the highest
 * threshold.
 */
export function searchDecisionRule(candidates: ScoredCandidates, options?: DecisionRuleSearchOptions): DecisionRuleSearchResult {
  const { margins, caps } = resolveOptions(SCOPE, DEFAULT_DECISION_RULE_SEARCH_OPTIONS, options);
  if (margins.length === 0 || margins.some((m) => !(m >= 0 && m <= 1))) {
    throw new UsageError(`${SCOPE}: margins must be a non-empty list of numbers in [0, 1] (got ${JSON.stringify(margins)}).`);
  }
  if (caps.length === 0 || caps.some((c) => !Number.isSafeInteger(c) || c < 1)) {
    throw new UsageError(`${SCOPE}: caps must be a non-empty list of positive integers (got ${JSON.stringify(caps)}).`);
  }
  checkCandidates(candidates);
  const { offsets, scores, labels, goldCounts } = candidates;
  const T = goldCounts.length;
  const N = scores.length;
  let topics = 0;
  for (let t = 0; t < T; t++) if (goldCounts[t] > 0) topics++;
  if (topics === 0) throw new DataError(`${SCOPE}: at least one topic must have a gold item (got ${T} topics, none with gold).`);

  // Each topic's candidates sorted once, best first; f2At[t + offsets[t] + k] = F2 when keeping the top k.
  const sorted = new Float64Array(N); // [N] scores in per-topic sorted order
  const f2At = new Float64Array(N + T); // [N + T]
  for (let t = 0; t < T; t++) {
    const a = offsets[t];
    const order = sortedIndices(scores, a, offsets[t + 1]);
    const base = a + t;
    let hits = 0;
    for (let j = 0; j < order.length; j++) {
      sorted[a + j] = scores[a + order[j]];
      hits += labels[a + order[j]];
      f2At[base + j + 1] = goldCounts[t] > 0 ? f2Score(hits / (j + 1), hits / goldCounts[t]) : 0;
    }
  }

  // All candidates of topics with gold in global score order (ties: topic, then position), as positions into `sorted`.
  const sweepIds: number[] = [];
  for (let t = 0; t < T; t++) if (goldCounts[t] > 0) for (let i = offsets[t]; i < offsets[t + 1]; i++) sweepIds.push(i);
  const sweep = Uint32Array.from(sweepIds).sort((x, y) => sorted[y] - sorted[x] || x - y);
  const topicOf = new Uint32Array(N);
  for (let t = 0; t < T; t++) topicOf.fill(t, offsets[t], offsets[t + 1]);

  const byMargin = new Uint32Array(T); // [T] count of p >= maxP * (1 - margin)
  const byThreshold = new Uint32Array(T); // [T] count of p >= threshold
  const kept = new Uint32Array(T); // [T]
  let best = { total: -1, threshold: 0, margin: 0, cap: 0 };
  let evaluated = 0;

  for (const cap of [...new Set(caps)].sort((x, y) => y - x)) {
    for (const margin of [...new Set(margins)].sort((x, y) => x - y)) {
      let total = 0;
      for (let t = 0; t < T; t++) {
        const a = offsets[t];
        const n = offsets[t + 1] - a;
        byThreshold[t] = 0;
        let c = 0;
        if (n > 0) {
          const bound = sorted[a] * (1 - margin);
          while (c < n && sorted[a + c] >= bound) c++;
        }
        byMargin[t] = c;
        kept[t] = n === 0 ? 0 : Math.min(cap, Math.max(1, c));
        if (goldCounts[t] > 0) total += f2At[a + t + kept[t]];
      }
      // Threshold above every score: only the margin rule acts.
      const top = sweep.length > 0 ? sorted[sweep[0]] : 0;
      evaluated++;
      if (total > best.total + 1e-12) best = { total, threshold: (top + Math.max(1, top + 1e-3)) / 2, margin, cap };
      let g = 0;
      while (g < sweep.length) {
        const p = sorted[sweep[g]];
        for (; g < sweep.length && sorted[sweep[g]] === p; g++) {
          const id = sweep[g];
          const t = topicOf[id];
          const a = offsets[t];
          byThreshold[t] = id - a + 1;
          const k = Math.min(cap, Math.max(1, byMargin[t], byThreshold[t]));
          if (k !== kept[t]) {
            total += f2At[a + t + k] - f2At[a + t + kept[t]];
            kept[t] = k;
          }
        }
        // Every threshold in (next lower score, p] keeps what we have now.
        const lower = g < sweep.length ? sorted[sweep[g]] : 0;
        evaluated++;
        if (total > best.total + 1e-12) best = { total, threshold: (p + lower) / 2, margin, cap };
      }
    }
  }

  const rule: DecisionRule = { threshold: best.threshold, margin: best.margin, cap: best.cap };
  return { rule, ...evaluateRule(rule, candidates), topics, evaluated };
}

/**
 * Indices of the candidates `rule` keeps, best first. `scores` are one
 * topic's probabilities; an empty list keeps nothing, any other at least one.
 */
export function applyDecisionRule(rule: DecisionRule, scores: ArrayLike<number>): Uint32Array {
  const order = sortedIndices(scores, 0, scores.length);
  if (order.length === 0) return order;
  const bound = Math.min(rule.threshold, scores[order[0]] * (1 - rule.margin));
  let count = 0;
  while (count < order.length && scores[order[count]] >= bound) count++;
  return order.subarray(0, Math.min(rule.cap, Math.max(1, count)));
}

/** Mean F2, precision and recall of `rule` over the topics with gold, recomputed directly. */
export function evaluateRule(rule: DecisionRule, candidates: ScoredCandidates): { f2: number; precision: number; recall: number } {
  const { offsets, scores, labels, goldCounts } = candidates;
  let f2 = 0;
  let precision = 0;
  let recall = 0;
  let topics = 0;
  for (let t = 0; t < goldCounts.length; t++) {
    if (goldCounts[t] === 0) continue;
    topics++;
    const a = offsets[t];
    const keep = applyDecisionRule(rule, scores.subarray(a, offsets[t + 1]));
    if (keep.length === 0) continue;
    let hits = 0;
    for (const j of keep) hits += labels[a + j];
    const p = hits / keep.length;
    const r = hits / goldCounts[t];
    precision += p;
    recall += r;
    f2 += f2Score(p, r);
  }
  const n = Math.max(topics, 1);
  return { f2: f2 / n, precision: precision / n, recall: recall / n };
}

/** Indices lo..hi-1 rebased to 0, sorted by score descending, ties by index. */
function sortedIndices(scores: ArrayLike<number>, lo: number, hi: number): Uint32Array {
  const order = new Uint32Array(hi - lo);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((x, y) => scores[lo + y] - scores[lo + x] || x - y);
}

function checkCandidates(c: ScoredCandidates): void {
  const T = c.goldCounts.length;
  const N = c.scores.length;
  if (c.offsets.length !== T + 1 || c.offsets[0] !== 0 || c.offsets[T] !== N) {
    throw new DataError(`${SCOPE}: offsets must have T + 1 = ${T + 1} entries from 0 to N = ${N} (got ${c.offsets.length} entries, from ${c.offsets[0]} to ${c.offsets[c.offsets.length - 1]}).`);
  }
  if (c.labels.length !== N) throw new DataError(`${SCOPE}: labels must have one entry per score, N = ${N} (got ${c.labels.length}).`);
  for (let t = 0; t < T; t++) {
    if (c.offsets[t + 1] < c.offsets[t]) throw new DataError(`${SCOPE}: offsets must be non-decreasing (got ${c.offsets[t]} then ${c.offsets[t + 1]} at topic ${t}).`);
    let positives = 0;
    for (let i = c.offsets[t]; i < c.offsets[t + 1]; i++) {
      const p = c.scores[i];
      if (!(p >= 0 && p <= 1)) throw new DataError(`${SCOPE}: scores must be probabilities in [0, 1] (got ${p} at candidate ${i}).`, { hint: 'Apply a sigmoid to logits first.' });
      if (c.labels[i] > 1) throw new DataError(`${SCOPE}: labels must be 0 or 1 (got ${c.labels[i]} at candidate ${i}).`);
      positives += c.labels[i];
    }
    if (positives > c.goldCounts[t]) {
      throw new DataError(`${SCOPE}: goldCounts[${t}] must be at least the topic's gold candidates, ${positives} (got ${c.goldCounts[t]}).`);
    }
  }
}

/** One validation topic, unpacked. */
export interface TopicCandidates {
  scores: ArrayLike<number>;
  /** Truthy where the candidate is gold. */
  labels: ArrayLike<number | boolean>;
  /** Gold set size (default: the gold candidates). */
  goldCount?: number;
}

/** Packs per-topic lists into ScoredCandidates. */
export function packCandidates(topics: readonly TopicCandidates[]): ScoredCandidates {
  const offsets = new Uint32Array(topics.length + 1);
  topics.forEach((t, i) => (offsets[i + 1] = offsets[i] + t.scores.length));
  const scores = new Float32Array(offsets[topics.length]);
  const labels = new Uint8Array(scores.length);
  const goldCounts = new Uint32Array(topics.length);
  topics.forEach((t, i) => {
    if (t.labels.length !== t.scores.length) {
      throw new UsageError(`${SCOPE}: topic ${i} must have one label per score (got ${t.labels.length} labels, ${t.scores.length} scores).`);
    }
    let positives = 0;
    for (let j = 0; j < t.scores.length; j++) {
      scores[offsets[i] + j] = t.scores[j];
      labels[offsets[i] + j] = t.labels[j] ? 1 : 0;
      positives += labels[offsets[i] + j];
    }
    goldCounts[i] = t.goldCount ?? positives;
  });
  return { offsets, scores, labels, goldCounts };
}

/** A rule read back from JSON (e.g. a model artifact), checked; an ArtifactError if it is not one. */
export function parseDecisionRule(value: unknown, source = 'decision rule'): DecisionRule {
  const v = value as Partial<DecisionRule> | null;
  const ok =
    typeof v === 'object' &&
    v !== null &&
    typeof v.threshold === 'number' &&
    Number.isFinite(v.threshold) &&
    typeof v.margin === 'number' &&
    v.margin >= 0 &&
    v.margin <= 1 &&
    Number.isSafeInteger(v.cap) &&
    (v.cap as number) >= 1 &&
    Object.keys(v).length === 3;
  if (!ok) {
    throw new ArtifactError(
      `${SCOPE}: ${source} must be { threshold: number, margin: number in [0, 1], cap: integer >= 1 } (got ${JSON.stringify(value)}).`,
      'Run the threshold search again to rebuild it.',
    );
  }
  return { threshold: v!.threshold!, margin: v!.margin!, cap: v!.cap! };
}
