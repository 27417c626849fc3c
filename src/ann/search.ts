/** Batch search over any VectorIndex, and recall (searchRecall) of one index against another. */
import type { SearchResult, VectorIndex } from './types.ts';

/**
 * Searches every row of `queries` ([Q, dim]); uses the index's own
 * `searchBatch` when it has one.
 */
export function searchMany(index: VectorIndex, queries: Float32Array, k: number): SearchResult[] {
  if (index.searchBatch) return index.searchBatch(queries, k);
  const results: SearchResult[] = [];
  for (let offset = 0; offset < queries.length; offset += index.dim) {
    results.push(index.search(queries.subarray(offset, offset + index.dim), k));
  }
  return results;
}

/**
 * recall@k of approximate results against exact ones: per query, the share of
 * the exact top k (or all of it, when shorter) found in the approximate top k,
 * averaged over queries. A query with no exact neighbours counts as 1.
 */
export function searchRecall(approx: readonly SearchResult[], exact: readonly SearchResult[], k: number): number {
  if (approx.length !== exact.length) {
    throw new RangeError(`trellis/ann/search: approx and exact must hold the same number of queries (got ${approx.length} and ${exact.length}).`);
  }
  if (exact.length === 0) return 1;
  let total = 0;
  for (let q = 0; q < exact.length; q++) {
    const truth = exact[q].labels.subarray(0, k);
    if (truth.length === 0) {
      total += 1;
      continue;
    }
    const found = new Set(approx[q].labels.subarray(0, k));
    let hits = 0;
    for (const label of truth) if (found.has(label)) hits++;
    total += hits / truth.length;
  }
  return total / exact.length;
}
