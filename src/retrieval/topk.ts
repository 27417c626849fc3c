/**
 * Top-k selection over a score array: a bounded min-heap, O(n log k), ties
 * broken by the lower index so results are deterministic.
 */

/** Indices of the k largest scores, best first. */
export function topKIndices(scores: ArrayLike<number>, k: number): Uint32Array {
  const n = scores.length;
  const size = Math.min(k, n);
  if (size <= 0) return new Uint32Array(0);
  const heap = new Uint32Array(size);
  let count = 0;
  // "a is worse than b": lower score, or equal score and higher index.
  const worse = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < count && worse(heap[l], heap[m])) m = l;
      if (r < count && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      const tmp = heap[i];
      heap[i] = heap[m];
      heap[m] = tmp;
      i = m;
    }
  };
  for (let i = 0; i < n; i++) {
    if (count < size) {
      heap[count] = i;
      let c = count++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(heap[c], heap[p])) break;
        const tmp = heap[c];
        heap[c] = heap[p];
        heap[p] = tmp;
        c = p;
      }
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      siftDown(0);
    }
  }
  const out = Array.from(heap.subarray(0, count));
  out.sort((a, b) => (scores[b] - scores[a]) || a - b);
  return Uint32Array.from(out);
}
