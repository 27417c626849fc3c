/**
 * Sentence-transformers pooling of token vectors into one vector per text:
 * mean over the real tokens ([CLS] and [SEP] included, padding excluded),
 * the [CLS] vector, the max over real tokens, or the sum divided by
 * sqrt(tokens); then optional L2 normalisation.
 */
import { tf, type Tensor2D, type Tensor3D } from '../runtime/tf.ts';
import type { PoolingConfig } from './config.ts';

/** hidden [B, L, H], mask [B * L] (1 = token) -> [B, H] (call inside tf.tidy). */
export function pool(hidden: Tensor3D, mask: Float32Array, config: PoolingConfig): Tensor2D {
  const [batch, length, width] = hidden.shape;
  let out: Tensor2D;
  if (config.mode === 'cls') {
    out = tf.reshape(tf.slice(hidden, [0, 0, 0], [batch, 1, width]), [batch, width]);
  } else if (config.mode === 'max') {
    const m = tf.tensor3d(mask, [batch, length, 1]);
    out = tf.max(tf.add(hidden, tf.mul(tf.sub(1, m), -1e9)), 1) as Tensor2D; // padding never wins
  } else {
    const m = tf.tensor3d(mask, [batch, length, 1]);
    const counts = new Float32Array(batch);
    for (let b = 0; b < batch; b++) for (let i = 0; i < length; i++) counts[b] += mask[b * length + i];
    const divisor = Float32Array.from(counts, (c) => Math.max(1e-9, config.mode === 'mean' ? c : Math.sqrt(c)));
    out = tf.div(tf.sum(tf.mul(hidden, m), 1), tf.tensor2d(divisor, [batch, 1])) as Tensor2D; // [B, H]
  }
  if (!config.normalize) return out;
  return tf.div(out, tf.maximum(tf.norm(out, 'euclidean', 1, true), 1e-12)) as Tensor2D; // [B, H]
}
