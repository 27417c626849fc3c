/**
 * A large embedding table with sparse (lazy) Adam updates.
 *
 * A hashed n-gram vocabulary has 2^17 rows or more, but one batch touches a
 * few thousand. Through autodiff, tf.gather's gradient is a dense [V, D]
 * tensor and Adam then rewrites the whole table and both its moment tables
 * every step: on a single-threaded wasm backend that is about 40 ms per pass
 * over a 2^17 x 128 table, ten passes a step. Here the table lives in a
 * Float32Array; a step gathers the rows it touches into a small variable
 * [U, D], autodiff computes their gradient, and only those rows are updated
 * ("lazy Adam", as tf.contrib.opt.LazyAdamOptimizer and PyTorch's
 * SparseAdam): moments of untouched rows are left as they are, and bias
 * correction uses the global step.
 */
import { tf, type Tensor2D, type Variable } from './tf.ts';
import { fillNormal, rngFor } from '../random.ts';
import { ownedVariable } from './text-encoder.ts';
import type { NamedArray } from './weights.ts';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export const DEFAULT_ADAM: Readonly<AdamSettings> = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });

/** Ids of several id arrays mapped to one table of unique ids: `unique[local[k][i]] === ids[k][i]`. */
export interface Localized {
  unique: Int32Array;
  local: Int32Array[];
}

export function localize(idArrays: readonly Int32Array[]): Localized {
  const position = new Map<number, number>();
  const unique: number[] = [];
  const local = idArrays.map((ids) => {
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      let p = position.get(ids[i]);
      if (p === undefined) {
        p = unique.length;
        position.set(ids[i], p);
        unique.push(ids[i]);
      }
      out[i] = p;
    }
    return out;
  });
  return { unique: Int32Array.from(unique), local };
}

export class SparseEmbedding {
  readonly table: Float32Array;
  private readonly m: Float32Array;
  private readonly v: Float32Array;

  constructor(readonly name: string, readonly rows: number, readonly dim: number, seed: number, std: number) {
    this.table = fillNormal(new Float32Array(rows * dim), rngFor(seed, name), 0, std) as Float32Array;
    this.m = new Float32Array(rows * dim);
    this.v = new Float32Array(rows * dim);
  }

  /** Rows `unique` of the table as a tensor. [U, D] */
  gather(unique: Int32Array): Tensor2D {
    const d = this.dim;
    const out = new Float32Array(unique.length * d);
    for (let i = 0; i < unique.length; i++) out.set(this.table.subarray(unique[i] * d, (unique[i] + 1) * d), i * d);
    return tf.tensor2d(out, [unique.length, d]);
  }

  /** The gathered rows as a trainable variable, for a training step (dispose it after). */
  gatherVariable(unique: Int32Array): Variable {
    return ownedVariable(this.gather(unique), `${this.name}/rows`);
  }

  /** Lazy Adam on rows `unique` with their gradient [U * D] at 1-based step `step`. */
  applyAdam(unique: Int32Array, gradient: Float32Array, learningRate: number, step: number, adam: AdamSettings = DEFAULT_ADAM): void {
    const { beta1, beta2, epsilon } = adam;
    const d = this.dim;
    const c1 = 1 - beta1 ** step;
    const c2 = 1 - beta2 ** step;
    const rate = (learningRate * Math.sqrt(c2)) / c1;
    const { table, m, v } = this;
    for (let i = 0; i < unique.length; i++) {
      const base = unique[i] * d;
      const g0 = i * d;
      for (let j = 0; j < d; j++) {
        const g = gradient[g0 + j];
        const k = base + j;
        const mk = (m[k] = beta1 * m[k] + (1 - beta1) * g);
        const vk = (v[k] = beta2 * v[k] + (1 - beta2) * g * g);
        table[k] -= (rate * mk) / (Math.sqrt(vk) + epsilon);
      }
    }
  }

  /** The table and its moments, for checkpoints. */
  state(): NamedArray[] {
    const shape = [this.rows, this.dim];
    return [
      { name: this.name, shape, values: this.table },
      { name: `${this.name}/adam_m`, shape, values: this.m },
      { name: `${this.name}/adam_v`, shape, values: this.v },
    ];
  }

  /** Restores the table (and the moments when given). */
  load(arrays: readonly NamedArray[]): void {
    for (const a of arrays) {
      if (a.name === this.name) this.table.set(a.values);
      else if (a.name === `${this.name}/adam_m`) this.m.set(a.values);
      else if (a.name === `${this.name}/adam_v`) this.v.set(a.values);
    }
  }
}
