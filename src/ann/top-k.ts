/**
 * Keeps the k best (score, id) pairs seen so far in a binary min-heap whose
 * root is the worst kept pair, so a candidate that cannot enter costs one
 * comparison. Ties on score go to the smaller id, which keeps every index's
 * output deterministic.
 */
import type { SearchResult } from './types.ts';

export class TopK {
  readonly k: number;
  private readonly scores: Float64Array;
  private readonly ids: Uint32Array;
  private count = 0;

  constructor(k: number) {
    this.k = k;
    this.scores = new Float64Array(k);
    this.ids = new Uint32Array(k);
  }

  /** Number of pairs kept (at most k). */
  get size(): number {
    return this.count;
  }

  /** The score a candidate must beat to enter (-Infinity until k pairs are kept). */
  get threshold(): number {
    return this.count < this.k ? -Infinity : this.scores[0];
  }

  clear(): void {
    this.count = 0;
  }

  push(score: number, id: number): void {
    const { scores, ids } = this;
    if (this.count < this.k) {
      let i = this.count++;
      // Sift up while the new pair is worse than its parent (the root is the worst).
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(score, id, scores[parent], ids[parent])) break;
        scores[i] = scores[parent];
        ids[i] = ids[parent];
        i = parent;
      }
      scores[i] = score;
      ids[i] = id;
      return;
    }
    if (this.k === 0 || !worse(scores[0], ids[0], score, id)) return;
    this.siftDown(score, id);
  }

  /** The kept pairs, best first; `labelOf` maps an id to the label to report. */
  result(labelOf?: (id: number) => number): SearchResult {
    const n = this.count;
    const order = Array.from({ length: n }, (_, i) => i);
    const { scores, ids } = this;
    order.sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
    const labels = new Uint32Array(n);
    const out = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      const i = order[r];
      labels[r] = labelOf ? labelOf(ids[i]) : ids[i];
      out[r] = scores[i];
    }
    return { labels, scores: out };
  }

  private siftDown(score: number, id: number): void {
    const { scores, ids, count } = this;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= count) break;
      const right = left + 1;
      let child = left;
      if (right < count && worse(scores[right], ids[right], scores[left], ids[left])) child = right;
      if (!worse(scores[child], ids[child], score, id)) break;
      scores[i] = scores[child];
      ids[i] = ids[child];
      i = child;
    }
    scores[i] = score;
    ids[i] = id;
  }
}

/** True when (sa, ia) ranks below (sb, ib): lower score, or equal score and larger id. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** An empty result. */
export function emptyResult(): SearchResult {
  return { labels: new Uint32Array(0), scores: new Float32Array(0) };
}

/**
 * Merges per-source results into the k best, keeping each label once (with
 * its best score).
 */
export function mergeResults(results: readonly SearchResult[], k: number): SearchResult {
  if (results.length === 1 && results[0].labels.length <= k) return results[0];
  const best = new Map<number, number>();
  for (const r of results) {
    for (let i = 0; i < r.labels.length; i++) {
      const previous = best.get(r.labels[i]);
      if (previous === undefined || r.scores[i] > previous) best.set(r.labels[i], r.scores[i]);
    }
  }
  const top = new TopK(k);
  for (const [label, score] of best) top.push(score, label);
  return top.result();
}
