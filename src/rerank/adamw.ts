/**
 * Adam with decoupled weight decay and global-norm gradient clipping, for
 * the cross-encoder's training loop, with lazy row updates for embedding
 * tables.
 *
 * Adam: Kingma & Ba (2015). Decoupled weight decay (AdamW): Loshchilov &
 * Hutter (2019), w <- w - lr * (m_hat / (sqrt(v_hat) + eps) + decay * w),
 * applied only to the variables marked for decay (matrices, not biases,
 * LayerNorm gains or embeddings, as in BERT). Clipping by global norm as in
 * Pascanu et al. (2013).
 *
 * An embedding table of V rows sees only the few hundred rows a batch uses;
 * a dense update would still read and write all V rows of the table and both
 * moments every step. Row updates ("lazy Adam", as in TensorFlow Addons'
 * LazyAdam) touch only the used rows: their moments decay and step as usual,
 * the other rows' moments stay as they are until the row is used again.
 *
 * Written here rather than taken from tf.train because the learning rate
 * changes every step (warmup, then linear decay), which tf.train's Adam does
 * not expose, and because decay, clipping and row updates belong inside the
 * same update.
 */
import { tf } from '../models/tf.ts';
import type { Tensor, Tensor2D, Variable } from '../models/tf.ts';

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay per unit learning rate. */
  weightDecay: number;
  /** Largest global L2 norm of the gradient; 0 turns clipping off. */
  clipNorm: number;
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

/** Optimizer state (first and second moments) for a fixed list of variables. */
export class AdamW {
  private readonly slots: Slot[];
  private readonly settings: AdamWSettings;
  private step = 0;

  constructor(variables: readonly OptimizedVariable[], settings: AdamWSettings) {
    this.settings = settings;
    this.slots = variables.map((v) => ({
      ...v,
      first: tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)),
      second: tf.tidy(() => tf.variable(tf.zerosLike(v.variable), false)),
    }));
  }

  /**
   * One update at `learningRate`: `grads[i]` is a Tensor for a dense
   * variable and a RowGradient for a row-updated one. Call inside the
   * training step's tf.tidy; returns the gradient's global norm before
   * clipping (a scalar owned by that tidy).
   */
  apply(grads: readonly (Tensor | RowGradient)[], learningRate: number): Tensor {
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.settings;
    this.step++;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    const values = grads.map((g) => (g instanceof tf.Tensor ? g : g.grad));
    const norm = tf.sqrt(tf.addN(values.map((g) => tf.sum(tf.square(g))))); // []
    // scale = clipNorm / max(norm, clipNorm): 1 below the limit, shrinks above it.
    const scale = clipNorm > 0 ? tf.div(clipNorm, tf.maximum(norm, clipNorm)) : tf.scalar(1); // []
    const adam = (w: Tensor, m: Tensor, v: Tensor, grad: Tensor, decayed: boolean) => {
      const g = tf.mul(grad, scale); // shape of w
      const first = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)); // shape of w
      const second = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)); // shape of w
      let update = tf.div(tf.div(first, correction1), tf.add(tf.sqrt(tf.div(second, correction2)), epsilon)); // shape of w
      if (decayed && weightDecay > 0) update = tf.add(update, tf.mul(w, weightDecay));
      return { weights: tf.sub(w, tf.mul(update, learningRate)), first, second };
    };
    this.slots.forEach((slot, i) => {
      const grad = grads[i];
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
    return norm;
  }

  dispose(): void {
    tf.dispose(this.slots.flatMap((s) => [s.first, s.second]));
  }
}
