/**
 * The one Adam family every trained part uses (the two-tower towers, the
 * fine-tuned transformer layers, the sparse embedding table, the
 * cross-encoder): Adam (Kingma & Ba, 2015), Algorithm 1,
 *
 *   m <- b1 m + (1 - b1) g             v <- b2 v + (1 - b2) g^2
 *   w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *
 * with, per variable, decoupled weight decay (AdamW, Loshchilov & Hutter,
 * 2019: w <- w - lr decay w, for the variables marked `decayed`, i.e.
 * matrices, not biases, norms or embeddings, as in BERT), clipping of the
 * gradient by its global norm (Pascanu et al., 2013) and row ("lazy")
 * updates of embedding tables: only the rows a batch used are read and
 * written, their moments decay and step as usual, the other rows' moments
 * wait until the row is used again (TensorFlow Addons' LazyAdam, PyTorch's
 * SparseAdam). The learning rate is given at every step (warm-up and decay
 * schedules live with the training loops).
 *
 * Two storages, one rule in two forms:
 *   - `Adam`: tfjs variables (dense, or by rows with a `RowGradient`), in the
 *     form above (as tf.train.adam);
 *   - `adamRows`: a row-major Float32Array table and its moments on the CPU,
 *     for tables too large to hold as a variable (SparseEmbedding), in Kingma
 *     & Ba's efficient form (Section 2, the line before 2.1: "epsilon hat",
 *     as Keras's Adam): w <- w - lr_t m / (sqrt(v) + eps) with
 *     lr_t = lr sqrt(1 - b2^t) / (1 - b1^t). One square root and no divisions
 *     by the corrections per entry, in the loop over up to millions of entries
 *     a step. The two differ only in where eps sits (eps here equals
 *     eps sqrt(1 - b2^t) above). The table was trained in this form before
 *     the Adam family existed, and still is, so that models train as they did.
 */
import { tf } from './tf.ts';
import type { Tensor, Tensor2D, Variable } from './tf.ts';
import type { NamedArray } from './weights.ts';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay per unit learning rate, for variables marked `decayed`. 0 turns it off. */
  weightDecay: number;
  /** Largest global L2 norm of the gradient; 0 turns clipping off. */
  clipNorm: number;
  /**
   * The bias corrections in float32, b^t accumulated step by step as
   * tf.train.adam does (the two towers were always trained so), instead of
   * computed in float64 (the cross-encoders). Only the `Adam` class reads it.
   */
  float32Corrections: boolean;
}

/** Kingma & Ba's defaults, with TensorFlow's float32 epsilon; no decay, no clipping, float64 corrections. */
export const DEFAULT_ADAM: Readonly<AdamSettings> = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0, clipNorm: 0, float32Corrections: false });

/** The bias corrections 1 - b1^t and 1 - b2^t of 1-based step t. */
export function biasCorrections(settings: Pick<AdamSettings, 'beta1' | 'beta2'>, step: number): [number, number] {
  return [1 - settings.beta1 ** step, 1 - settings.beta2 ** step];
}

/**
 * b^t for t = 1, 2, ... as tf.train.adam keeps it: a float32 scalar that
 * starts at b and is multiplied by b after every step (each product rounded
 * to float32), so 1 - b^t is float32 arithmetic too.
 */
class Float32Powers {
  private readonly base: number;
  private power: number;
  private at = 1;

  constructor(beta: number) {
    this.base = Math.fround(beta);
    this.power = this.base;
  }

  /** 1 - b^t in float32, for 1-based step t (steps only go forward, or restart from a checkpoint). */
  correction(step: number): number {
    if (step < this.at) {
      this.power = this.base;
      this.at = 1;
    }
    for (; this.at < step; this.at++) this.power = Math.fround(this.power * this.base);
    return Math.fround(1 - this.power);
  }
}

/** The used rows of a table and their gradient, for a row update. */
export interface RowGradient {
  /** Row ids, distinct. [U] */
  rows: Int32Array;
  /** Gradient of those rows. [U, H] */
  grad: Tensor2D;
}

/** One variable the optimizer owns moments for. */
export interface OptimizedVariable {
  variable: Variable;
  /** Decoupled weight decay applies to it. */
  decayed: boolean;
  /** Updated by rows (an embedding table, given RowGradients), else densely. */
  byRows: boolean;
}

interface Slot extends OptimizedVariable {
  first: Variable;
  second: Variable;
}

/** Adam's state (first and second moments, step) for a fixed list of tfjs variables. */
export class Adam {
  private readonly slots: Slot[];
  private readonly settings: AdamSettings;
  private readonly powers?: [Float32Powers, Float32Powers];
  private step = 0;

  constructor(variables: readonly (OptimizedVariable | Variable)[], settings: Partial<AdamSettings> = {}) {
    this.settings = { ...DEFAULT_ADAM, ...settings };
    if (this.settings.float32Corrections) this.powers = [new Float32Powers(this.settings.beta1), new Float32Powers(this.settings.beta2)];
    this.slots = variables.map((given) => {
      const v = given instanceof tf.Variable ? { variable: given, decayed: false, byRows: false } : given;
      return {
        ...v,
        first: tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)),
        second: tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)),
      };
    });
  }

  /** Steps taken. */
  get steps(): number {
    return this.step;
  }

  /**
   * One update at `learningRate`: `grads[i]` is the gradient of the i-th
   * variable (a Tensor, or a RowGradient for a row-updated one; undefined
   * leaves that variable and its moments as they are). Call inside the
   * training step's tf.tidy.
   */
  apply(grads: readonly (Tensor | RowGradient | undefined)[], learningRate: number): void {
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.settings;
    this.step++;
    const [correction1, correction2] = this.powers ? [this.powers[0].correction(this.step), this.powers[1].correction(this.step)] : biasCorrections(this.settings, this.step);
    let scale: Tensor | undefined;
    if (clipNorm > 0) {
      const values = grads.flatMap((g) => (g === undefined ? [] : [g instanceof tf.Tensor ? g : g.grad]));
      const norm = tf.sqrt(tf.addN(values.map((g) => tf.sum(tf.square(g))))); // []
      // clipNorm / max(norm, clipNorm): 1 below the limit, shrinks above it.
      scale = tf.div(clipNorm, tf.maximum(norm, clipNorm)); // []
    }
    const adam = (w: Tensor, m: Tensor, v: Tensor, grad: Tensor, decayed: boolean) => {
      const g = scale ? tf.mul(grad, scale) : grad; // shape of w
      const first = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)); // shape of w
      const second = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)); // shape of w
      let update = tf.div(tf.div(first, correction1), tf.add(tf.sqrt(tf.div(second, correction2)), epsilon)); // shape of w
      if (decayed && weightDecay > 0) update = tf.add(update, tf.mul(w, weightDecay));
      return { weights: tf.sub(w, tf.mul(update, learningRate)), first, second };
    };
    this.slots.forEach((slot, i) => {
      const grad = grads[i];
      if (grad === undefined) return;
      if (!slot.byRows) {
        const next = adam(slot.variable, slot.first, slot.second, grad as Tensor, slot.decayed);
        slot.variable.assign(next.weights);
        slot.first.assign(next.first);
        slot.second.assign(next.second);
        return;
      }
      const { rows, grad: rowGrad } = grad as RowGradient;
      const index = tf.tensor2d(rows, [rows.length, 1], 'int32'); // [U, 1]
      const pick = (t: Tensor) => tf.gatherND(t, index); // [U, H]
      const next = adam(pick(slot.variable), pick(slot.first), pick(slot.second), rowGrad, slot.decayed);
      slot.variable.assign(tf.tensorScatterUpdate(slot.variable, index, next.weights)); // [V, H]
      slot.first.assign(tf.tensorScatterUpdate(slot.first, index, next.first)); // [V, H]
      slot.second.assign(tf.tensorScatterUpdate(slot.second, index, next.second)); // [V, H]
    });
  }

  /** The moments and the step, for checkpoints (names from `nameOf`, e.g. the weights' own names). */
  state(nameOf: (variable: Variable) => string): NamedArray[] {
    const moments = this.slots.flatMap((s) => [
      { name: `${nameOf(s.variable)}/adam_m`, shape: s.first.shape.slice(), values: s.first.dataSync() as Float32Array },
      { name: `${nameOf(s.variable)}/adam_v`, shape: s.second.shape.slice(), values: s.second.dataSync() as Float32Array },
    ]);
    return [{ name: 'adam/step', shape: [1], values: Float32Array.of(this.step) }, ...moments];
  }

  /** Restores what `state` saved (the same variables, named the same way). */
  load(arrays: readonly NamedArray[], nameOf: (variable: Variable) => string): void {
    const byName = new Map(arrays.map((a) => [a.name, a]));
    const step = byName.get('adam/step');
    if (!step) throw new RangeError('Adam.load: the state has no adam/step.');
    this.step = step.values[0];
    for (const s of this.slots) {
      for (const [suffix, target] of [['adam_m', s.first], ['adam_v', s.second]] as const) {
        const a = byName.get(`${nameOf(s.variable)}/${suffix}`);
        if (!a) throw new RangeError(`Adam.load: the state has no ${nameOf(s.variable)}/${suffix}.`);
        tf.tidy(() => target.assign(tf.tensor(a.values, a.shape, 'float32')));
      }
    }
  }

  dispose(): void {
    tf.dispose(this.slots.flatMap((s) => [s.first, s.second]));
  }
}

/** A row-major [rows, dim] table and its Adam moments, updated by rows on the CPU. */
export interface AdamTable {
  table: Float32Array;
  m: Float32Array;
  v: Float32Array;
  dim: number;
}

/**
 * Adam on rows `rows` of a CPU table with their gradient [rows.length * dim]
 * at 1-based step `step`, in place, in the efficient form (epsilon hat; see
 * the top of this file), with decoupled weight decay. The table's other rows
 * and their moments are not touched.
 */
export function adamRows(target: AdamTable, rows: Int32Array, gradient: Float32Array, learningRate: number, step: number, settings: Readonly<AdamSettings> = DEFAULT_ADAM): void {
  const { beta1, beta2, epsilon, weightDecay } = settings;
  const [correction1, correction2] = biasCorrections(settings, step);
  const rate = (learningRate * Math.sqrt(correction2)) / correction1;
  const decay = learningRate * weightDecay;
  const { table, m, v, dim } = target;
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * dim;
    const g0 = i * dim;
    for (let j = 0; j < dim; j++) {
      const g = gradient[g0 + j];
      const k = base + j;
      const mk = (m[k] = beta1 * m[k] + (1 - beta1) * g);
      const vk = (v[k] = beta2 * v[k] + (1 - beta2) * g * g);
      const w = table[k];
      table[k] = w - (rate * mk) / (Math.sqrt(vk) + epsilon);
      if (decay !== 0) table[k] -= decay * w;
    }
  }
}
