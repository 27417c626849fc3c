/** Top-k selection over a score array, on the ANN package's bounded heap (ties go to the lower index). */
import { TopK } from '../ann/top-k.ts';

/** Indices of the k largest scores, best first. */
export function topKIndices(scores: ArrayLike<number>, k: number): Uint32Array {
  const size = Math.min(k, scores.length);
  if (size <= 0) return new Uint32Array(0);
  const top = new TopK(size);
  for (let i = 0; i < scores.length; i++) if (scores[i] > top.threshold || top.size < size) top.push(scores[i], i);
  return top.result().labels;
}
