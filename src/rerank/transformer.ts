/**
 * Transformer encoder layers written with tf ops: multi-head self-attention
 * with an additive padding mask, a GELU feed-forward block, LayerNorm.
 *
 * Follows Vaswani et al. (2017), "Attention Is All You Need", with
 * pre-LayerNorm residual blocks (Xiong et al. 2020, "On Layer Normalization
 * in the Transformer Architecture"): x + Attn(LN(x)), then x + FFN(LN(x)),
 * and one more LayerNorm after the last layer. Pre-LN keeps gradients of a
 * freshly initialised stack well scaled, so a small model trains at a higher
 * learning rate with a short warmup. GELU is the exact erf form (Hendrycks &
 * Gimpel 2016) as in BERT.
 *
 * `queryRows: 'first'` computes a layer's output at position 0 only (keys and
 * values still come from every position). The cross-encoder reads nothing
 * but the [CLS] vector after its last layer, so the last layer needs no
 * other rows: exact, and about a third less work for a 2-layer model.
 *
 * The matrix products and LayerNorm come from ./ops.ts, whose gradients are
 * laid out for fast kernels. Every function here is pure over tensors and
 * runs inside the caller's tidy.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D } from '../runtime/tf.ts';
import { add, batchMatMul, dense as denseOp, gatherRows, gelu as geluOp, layerNorm2d, maskedSoftmax } from '../runtime/ops.ts';

/** Weights of one LayerNorm: gain and bias. [H] each */
export interface NormWeights {
  gamma: Tensor;
  beta: Tensor;
}

/** Weights of one dense layer: kernel [I, O] and bias [O]. */
export interface DenseWeights {
  kernel: Tensor;
  bias: Tensor;
}

/** Weights of one pre-LN encoder layer. */
export interface EncoderLayerWeights {
  attentionNorm: NormWeights;
  /** [H, H], [H] each */
  query: DenseWeights;
  key: DenseWeights;
  value: DenseWeights;
  output: DenseWeights;
  ffnNorm: NormWeights;
  /** [H, F], [F] */
  ffnIn: DenseWeights;
  /** [F, H], [H] */
  ffnOut: DenseWeights;
}

/** Applies dropout during training; the identity at inference. */
export type Dropout = <T extends Tensor>(x: T) => T;

/** LayerNorm over the last axis. x: [..., H] -> [..., H] */
export function layerNorm<T extends Tensor>(x: T, weights: NormWeights): T {
  const width = x.shape[x.rank - 1];
  const flat = tf.reshape(x, [-1, width]) as Tensor2D; // [N, H]
  return tf.reshape(layerNorm2d(flat, weights.gamma as Tensor1D, weights.beta as Tensor1D), x.shape) as T; // [..., H]
}

/** GELU, exact form: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu<T extends Tensor>(x: T): T {
  return geluOp(x); // same shape as x
}

/** x [N, I] times kernel [I, O] plus bias [O] -> [N, O] */
export function dense(x: Tensor2D, weights: DenseWeights): Tensor2D {
  return denseOp(x, weights.kernel as Tensor2D, weights.bias as Tensor1D); // [N, O]
}

/** [B*L, H] -> [B*heads, L, H / heads] */
function splitHeads(x: Tensor2D, batch: number, length: number, heads: number): Tensor3D {
  const width = x.shape[1] / heads;
  const split = tf.transpose(tf.reshape(x, [batch, length, heads, width]), [0, 2, 1, 3]); // [B, heads, L, dH]
  return tf.reshape(split, [batch * heads, length, width]); // [B*heads, L, dH]
}

/**
 * One pre-LN encoder layer.
 *
 * x: [B, L, H]; mask: [B, 1, 1, L], 0 on tokens and -1e9 on padding, so a
 * padded key gets weight exp(-1e9 - max) = 0 exactly and its values never
 * reach a token. Returns [B, L, H], or [B, 1, H] with `queryRows: 'first'`.
 */
export function encoderLayer(
  x: Tensor3D,
  mask: tf.Tensor4D,
  weights: EncoderLayerWeights,
  heads: number,
  dropout: Dropout,
  queryRows: 'all' | 'first' = 'all',
): Tensor3D {
  const [batch, length, hidden] = x.shape;
  const queryLength = queryRows === 'all' ? length : 1;
  const width = hidden / heads;

  const normed = layerNorm(x, weights.attentionNorm); // [B, L, H]
  const flat = tf.reshape(normed, [batch * length, hidden]) as Tensor2D; // [B*L, H]
  // Row b*L of the flat [B*L, H] layout is sequence b's first position.
  const firsts = queryRows === 'all' ? undefined : Int32Array.from({ length: batch }, (_, b) => b * length);
  const queryIn = firsts ? gatherRows(flat, firsts) : flat; // [B*Lq, H]
  const query = splitHeads(dense(queryIn, weights.query), batch, queryLength, heads); // [B*heads, Lq, dH]
  const key = splitHeads(dense(flat, weights.key), batch, length, heads); // [B*heads, L, dH]
  const value = splitHeads(dense(flat, weights.value), batch, length, heads); // [B*heads, L, dH]

  const keyT = tf.transpose(key, [0, 2, 1]); // [B*heads, dH, L]
  const raw = tf.reshape(batchMatMul(query, keyT), [batch, heads, queryLength, length]) as tf.Tensor4D; // [B, heads, Lq, L]
  const weights4 = maskedSoftmax(raw, mask, 1 / Math.sqrt(width)); // [B, heads, Lq, L]
  const attention = tf.reshape(weights4, [batch * heads, queryLength, length]) as Tensor3D; // [B*heads, Lq, L]
  const context = tf.reshape(batchMatMul(attention, value), [batch, heads, queryLength, width]); // [B, heads, Lq, dH]
  const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * queryLength, hidden]) as Tensor2D; // [B*Lq, H]
  const attended = dropout(dense(merged, weights.output)); // [B*Lq, H]

  const xFlat = tf.reshape(x, [batch * length, hidden]) as Tensor2D; // [B*L, H]
  const residualIn = firsts ? gatherRows(xFlat, firsts) : xFlat; // [B*Lq, H]
  const afterAttention = add(residualIn, attended); // [B*Lq, H]

  const ffnNormed = layerNorm(afterAttention, weights.ffnNorm); // [B*Lq, H]
  const inner = gelu(dense(ffnNormed, weights.ffnIn)); // [B*Lq, F]
  const ffnOut = dropout(dense(inner, weights.ffnOut)); // [B*Lq, H]
  return tf.reshape(add(afterAttention, ffnOut), [batch, queryLength, hidden]) as Tensor3D; // [B, Lq, H]
}
