/**
 * The contract every nearest-neighbour index in trellis keeps: HNSW
 * (hnswlib-node), the exact brute-force index (the answer key in tests), and
 * Neo4j's vector index. Vectors are rows of a row-major Float32Array; labels
 * are row numbers (Uint32) into the caller's item table. Similarity is cosine.
 */
export interface SearchResult {
  /** Item labels, best first. [k] */
  labels: Uint32Array;
  /** Cosine similarities, same order. [k] */
  scores: Float32Array;
}

export interface VectorIndex {
  readonly dim: number;
  readonly size: number;
  /** Adds `rows` vectors of `dim` floats with the given labels. */
  add(vectors: Float32Array, labels: Uint32Array): void;
  /** The k most similar items to one query vector. */
  search(query: Float32Array, k: number): SearchResult;
}
