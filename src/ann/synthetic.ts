/**
 * Seeded synthetic vectors for ANN tests and benchmarks: isotropic Gaussian
 * rows (the hard case for HNSW: no structure to exploit) or Gaussian clusters
 * around random centres (closer to real embeddings).
 */
import { resolveOptions } from '../options.ts';
import { fillNormal, rngFor } from '../random.ts';

export interface SyntheticVectorsOptions {
  /** Number of rows. Default 1000. */
  rows?: number;
  /** Floats per row. Default 64. */
  dim?: number;
  /** Number of cluster centres; 0 draws every row from N(0, I). Default 0. */
  clusters?: number;
  /** Standard deviation of a row around its centre, relative to the centre's norm. Default 0.5. */
  spread?: number;
  /** Seed. Default 42. */
  seed?: number;
}

export const DEFAULT_SYNTHETIC_VECTORS_OPTIONS: Readonly<Required<SyntheticVectorsOptions>> = Object.freeze({
  rows: 1000,
  dim: 64,
  clusters: 0,
  spread: 0.5,
  seed: 42,
});

/** Row-major [rows, dim] vectors; same options, same numbers. */
export function syntheticVectors(options?: SyntheticVectorsOptions): Float32Array {
  const { rows, dim, clusters, spread, seed } = resolveOptions('trellis/ann/synthetic', DEFAULT_SYNTHETIC_VECTORS_OPTIONS, options);
  const out = fillNormal(new Float32Array(rows * dim), rngFor(seed, 'vectors'));
  if (clusters === 0) return out;
  // Centres have norm ~sqrt(dim); noise per coordinate is spread, so the
  // noise norm is ~spread * sqrt(dim) too.
  const centres = fillNormal(new Float32Array(clusters * dim), rngFor(seed, 'centres'));
  const pick = rngFor(seed, 'assign');
  for (let r = 0; r < rows; r++) {
    const c = Math.floor(pick() * clusters);
    for (let j = 0; j < dim; j++) out[r * dim + j] = centres[c * dim + j] + spread * out[r * dim + j];
  }
  return out;
}
