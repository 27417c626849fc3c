/** Loads whichever kind of index a folder holds, after checking it (see ./artifact.ts). */
import { readManifest } from './artifact.ts';
import { BruteForceIndex } from './brute-force.ts';
import { HnswIndex, type HnswOptions } from './hnsw.ts';
import { PartitionedIndex } from './partitioned.ts';
import type { LoadExpectation } from './types.ts';

export type AnyIndex = BruteForceIndex | HnswIndex | PartitionedIndex;

/**
 * The index saved in `dir`, of the kind its manifest names. A dimension or
 * model id other than `expect`'s, or a corrupt file, is an ArtifactError.
 * `efSearch` overrides the saved value of HNSW indexes.
 */
export function loadIndex(dir: string, expect?: LoadExpectation, overrides?: Pick<HnswOptions, 'efSearch'>): AnyIndex {
  // The manifest names the reader, which then verifies the data files.
  const { kind } = readManifest(dir, expect);
  switch (kind) {
    case 'brute-force':
      return BruteForceIndex.load(dir, expect);
    case 'hnsw':
      return HnswIndex.load(dir, expect, overrides);
    case 'partitioned':
      return PartitionedIndex.load(dir, expect, overrides);
  }
}
