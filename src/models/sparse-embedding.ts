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
import { tf, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { fillNormal, rngFor } from '../random.ts';
import { ownedVariable } from '../runtime/variables.ts';
import { adamRows, DEFAULT_ADAM, type AdamSettings } from '../runtime/adam.ts';
import type { NamedArray } from '../runtime/weights.ts';

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

  /** Lazy Adam (runtime/adam.ts) on rows `unique` with their gradient [U * D] at 1-based step `step`. */
  applyAdam(unique: Int32Array, gradient: Float32Array, learningRate: number, step: number, settings: Readonly<AdamSettings> = DEFAULT_ADAM): void {
    adamRows({ table: this.table, m: this.m, v: this.v, dim: this.dim }, unique, gradient, learningRate, step, settings);
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
