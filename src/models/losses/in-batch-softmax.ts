/**
 * Sampled softmax with in-batch negatives, as in TensorFlow Recommenders'
 * Retrieval task: every other candidate in the batch (and any extra hard
 * negatives appended after the batch's positives) is a negative for a query.
 *
 *   logits[i, j] = <q_i, c_j> / temperature - log p_j     (logQ correction)
 *   logits[i, j] = -1e9 where candidate j is another true link of query i
 *                  ("RemoveAccidentalHits": not a negative)
 *   loss = mean_i  -log softmax(logits[i])[i]
 *
 * The logQ term (Yi et al., RecSys 2019) removes the bias of in-batch
 * sampling, where popular items are sampled as negatives more often than a
 * full softmax would weigh them. Query i's own positive is column i.
 */
import { tf, type Scalar, type Tensor2D } from '../../runtime/tf.ts';

export interface InBatchSoftmaxInputs {
  /** L2-normalised query embeddings. [B, D] */
  queries: Tensor2D;
  /** L2-normalised candidate embeddings; column i < B is query i's positive. [M, D], M >= B */
  candidates: Tensor2D;
  /** Softmax temperature. */
  temperature: number;
  /** log p of each candidate column for the logQ correction, or undefined for none. [M] */
  logQ?: Float32Array;
  /** 1 where candidate j is a true link of query i other than its own positive column. [B * M] */
  accidentalHits?: Uint8Array;
}

/** The logits after temperature, logQ and masking. [B, M] */
export function inBatchLogits(inputs: InBatchSoftmaxInputs): Tensor2D {
  const { queries, candidates, temperature, logQ, accidentalHits } = inputs;
  const b = queries.shape[0];
  const m = candidates.shape[0];
  // An explicit transpose, then a plain matMul: transposed matMuls are a slow path on wasm.
  let logits = tf.div(tf.matMul(queries, tf.transpose(candidates)), temperature) as Tensor2D; // [B, M]
  if (logQ) logits = tf.sub(logits, tf.tensor2d(logQ, [1, m])); // [B, M]
  if (accidentalHits) {
    const penalty = new Float32Array(b * m);
    for (let k = 0; k < penalty.length; k++) if (accidentalHits[k]) penalty[k] = -1e9;
    logits = tf.add(logits, tf.tensor2d(penalty, [b, m])); // [B, M]
  }
  return logits;
}

/** Mean softmax cross-entropy with query i's label at column i. Scalar. */
export function inBatchSoftmaxLoss(inputs: InBatchSoftmaxInputs): Scalar {
  const logits = inBatchLogits(inputs); // [B, M]
  const b = logits.shape[0];
  const logProbs = tf.logSoftmax(logits); // [B, M]
  const diagonal = tf.sum(tf.mul(tf.slice(logProbs, [0, 0], [b, b]), tf.eye(b)), 1); // [B]
  return tf.neg(tf.mean(diagonal)) as Scalar;
}
