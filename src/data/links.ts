/** Lookups on a topic's links (`Dataset.links[t]`, sorted ascending). */

/** Whether the sorted array holds `value` (binary search). */
export function hasLink(sorted: Uint32Array, value: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] === value) return true;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
