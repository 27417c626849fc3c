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
  /**
   * The k most similar items for each of `queries.length / dim` queries
   * (row-major [Q, dim]), in query order. Optional so that remote indexes can
   * leave it out; `searchMany` in ./search.ts falls back to `search`.
   */
  searchBatch?(queries: Float32Array, k: number): SearchResult[];
}

/** The kinds of index that trellis writes to disk. */
export const INDEX_KINDS = ['brute-force', 'hnsw', 'partitioned'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

/** One data file of a saved index, as listed in its manifest. */
export interface ManifestFile {
  /** File name inside the index folder. */
  name: string;
  /** Size in bytes. */
  bytes: number;
  /** Lower-case hex sha256 of the file. */
  sha256: string;
}

/** One partition of a saved partitioned index. */
export interface ManifestPartition {
  key: string;
  kind: 'brute-force' | 'hnsw';
  /** Name of its data file (also listed in `files`). */
  file: string;
  count: number;
  /** Position among the partition's shards (absent for an unsharded partition). */
  shard?: number;
}

/** `manifest.json` of a saved index folder. */
export interface IndexManifest {
  format: 'trellis-ann';
  version: 1;
  kind: IndexKind;
  dimension: number;
  count: number;
  space: 'cosine';
  /** Index parameters (HNSW: m, efConstruction, efSearch, seed, ...). */
  params: Record<string, unknown>;
  /** The model whose embeddings the index holds. */
  modelId: string;
  /** The run seed, or null when none was given. */
  seed: number | null;
  files: ManifestFile[];
  /** Partitioned indexes only. */
  partitions?: ManifestPartition[];
  /** The run config or other metadata the caller wants kept with the index. */
  meta?: Record<string, unknown>;
  /** ISO 8601 time of writing. */
  createdAt: string;
}

/** What a caller records with an index it saves. */
export interface SaveInfo {
  /** The model whose embeddings the index holds. */
  modelId: string;
  /** The run seed. */
  seed?: number;
  /** The run config or other metadata to keep with the index. */
  meta?: Record<string, unknown>;
}

/** What a caller expects of an index it loads; a difference is an ArtifactError. */
export interface LoadExpectation {
  /** Vector dimension of the model that will query the index. */
  dimension?: number;
  /** The model whose embeddings the index must hold. */
  modelId?: string;
}
