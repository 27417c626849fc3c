/** Argument checks shared by the indexes' public methods. */
import { ConfigError, DataError } from '../errors.ts';

export function checkDim(scope: string, dim: number): void {
  if (!Number.isInteger(dim) || dim < 1) throw new ConfigError(`${scope}: dim must be a positive integer (got ${dim}).`);
}

export function checkK(scope: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`${scope}: k must be a positive integer (got ${k}).`);
}

/** vectors must hold labels.length rows of dim floats. */
export function checkRows(scope: string, vectors: Float32Array, labels: Uint32Array, dim: number): void {
  if (vectors.length !== labels.length * dim) {
    throw new DataError(`${scope}: vectors must hold labels.length x dim = ${labels.length} x ${dim} = ${labels.length * dim} floats (got ${vectors.length}).`);
  }
}

/** queries must be whole rows of dim floats; returns the number of rows. */
export function checkQueries(scope: string, queries: Float32Array, dim: number): number {
  if (queries.length % dim !== 0) {
    throw new DataError(`${scope}: the query length must be a multiple of dim = ${dim} (got ${queries.length}).`);
  }
  return queries.length / dim;
}

export function checkQuery(scope: string, query: Float32Array, dim: number): void {
  if (query.length !== dim) throw new DataError(`${scope}: the query must have dim = ${dim} floats (got ${query.length}).`);
}

/** Throws on a label already present (in `seen` or earlier in `labels`) and records the new ones. */
export function checkNewLabels(scope: string, labels: Uint32Array, seen: Set<number>): void {
  const fresh = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (seen.has(label) || fresh.has(label)) {
      throw new DataError(`${scope}: labels must be unique within an index (got ${label} twice).`, { hint: 'Each item goes into one index once.' });
    }
    fresh.add(label);
  }
  for (const label of fresh) seen.add(label);
}

/** Throws when row `row` has a non-finite squared norm (NaN or Infinity somewhere in it). */
export function checkFinite(scope: string, norm2: number, row: number, label?: number): void {
  if (!Number.isFinite(norm2)) {
    const where = label === undefined ? `row ${row}` : `row ${row}, label ${label}`;
    throw new DataError(`${scope}: vector values must be finite (got NaN or Infinity in ${where}).`);
  }
}
