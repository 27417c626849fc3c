/**
 * Builds one HNSW partition on a worker thread and writes it to a file.
 * hnswlib-node inserts on one thread, so `PartitionedIndex.addGroupedParallel`
 * builds its partitions side by side, one per worker, and reads the files back.
 */
import { HnswIndex, type HnswOptions } from './hnsw.ts';

export interface PartitionBuild {
  dim: number;
  /** The partition's options, its own seed included. */
  options: HnswOptions;
  /** Row-major vectors of the partition. [n * dim] */
  vectors: Float32Array;
  labels: Uint32Array;
  /** Where to write hnswlib's index file. */
  path: string;
}

/** Rows inserted between two progress reports. */
const SLICE = 8192;

/** Runs in a worker: inserts every row in order, reports rows done, writes the file. Returns the count. */
export function buildPartition(input: PartitionBuild, progress?: (done: number) => void): number {
  const { dim, vectors, labels } = input;
  const index = new HnswIndex(dim, { ...input.options, capacity: Math.max(1, labels.length) });
  for (let start = 0; start < labels.length; start += SLICE) {
    const end = Math.min(labels.length, start + SLICE);
    index.add(vectors.subarray(start * dim, end * dim), labels.subarray(start, end));
    progress?.(end);
  }
  index.writeFile(input.path);
  return index.size;
}
