/**
 * The from-scratch text encoder: a TF-IDF-weighted embedding bag over hashed
 * word unigrams, bigrams and character n-grams (fastText-style buckets,
 * Joulin et al. 2017 / Bojanowski et al. 2017), followed by a residual MLP
 * block. Shared (Siamese) by both towers; each tower adds its own head.
 *
 *   bag(x) = sum_i w_i E[b_i]                 E: [V, D], w: TF-IDF weights (unit L2 per text)
 *   enc(x) = bag(x) + relu(bag(x) W1 + b1) W2 + b2   W1: [D, H], W2: [H, D] (zero at init)
 *
 * The bag reads each text's `maxFeatures` largest TF-IDF features: the
 * rest carry little weight and most of the cost.
 *
 * With W2 = 0 at init the encoder starts as a random projection of the TF-IDF
 * vector (norm about 1, cosine about the TF-IDF cosine), so retrieval is
 * sensible from the first step and training only has to improve on it.
 *
 * The `TextEncoder` interface is what both towers see; a pretrained
 * transformer can implement it too.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { seededVariable } from '../runtime/variables.ts';
import { SparseEmbedding } from './sparse-embedding.ts';
import { dense, gatherRows, segmentSum } from '../runtime/ops.ts';
import type { SparseRows } from '../text/tfidf.ts';
import type { SentenceEncoder } from '../pretrained/encoder.ts';

/** A batch of texts as a flat bag: feature `ids[k]` with weight `weights[k]` belongs to text `segments[k]`. */
export interface TextBatch {
  /** Number of texts. */
  rows: number;
  ids: Int32Array;
  weights: Float32Array;
  segments: Int32Array;
  /** Pretrained sentence vectors of the texts, when the encoder reads them. [rows * P] */
  dense?: Float32Array;
  /** Token ids of the texts, when a sentence encoder is fine-tuned (instead of `dense`). */
  tokens?: Int32Array[];
}

/** The embedding rows one batch reads: `rows[local[k]]` is the row of feature `ids[k]`. */
export interface EmbeddingRows {
  /** Gathered rows of the embedding table (a per-step variable when training). [U, D] */
  rows: Tensor2D;
  /** Per feature of the batch, its row in `rows`. [K] */
  local: Int32Array;
}

export interface TextEncoder {
  /** Output width. */
  readonly dim: number;
  /** Dense trainable variables, in a fixed order (the embedding table is updated sparsely). */
  readonly variables: readonly Variable[];
  /** Encodes a batch (call inside tf.tidy). Returns [rows, dim]. */
  encode(batch: TextBatch, embedding: EmbeddingRows): Tensor2D;
}

/**
 * Keeps the `k` largest-weight features of each row, rescaled to unit L2 norm:
 * the encoder's input. Long texts have hundreds of character n-grams whose
 * weights are small; the top ones carry the text and cost a fraction.
 */
export function topFeatures(features: SparseRows, k: number): SparseRows {
  const indptr = new Uint32Array(features.rows + 1);
  for (let r = 0; r < features.rows; r++) indptr[r + 1] = indptr[r] + Math.min(k, features.indptr[r + 1] - features.indptr[r]);
  const indices = new Uint32Array(indptr[features.rows]);
  const values = new Float32Array(indptr[features.rows]);
  for (let r = 0; r < features.rows; r++) {
    const start = features.indptr[r];
    const order = Array.from({ length: features.indptr[r + 1] - start }, (_, i) => start + i);
    if (order.length > k) order.sort((a, b) => features.values[b] - features.values[a] || features.indices[a] - features.indices[b]);
    let norm = 0;
    for (let i = 0; i < indptr[r + 1] - indptr[r]; i++) norm += features.values[order[i]] ** 2;
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < indptr[r + 1] - indptr[r]; i++) {
      indices[indptr[r] + i] = features.indices[order[i]];
      values[indptr[r] + i] = features.values[order[i]] * scale;
    }
  }
  return { rows: features.rows, indptr, indices, values };
}

/** Gathers rows of a TF-IDF matrix into a TextBatch, folding buckets into `vocab` (a power of two). */
export function textBatch(features: SparseRows, rows: ArrayLike<number>, vocab: number): TextBatch {
  let total = 0;
  for (let i = 0; i < rows.length; i++) total += features.indptr[rows[i] + 1] - features.indptr[rows[i]];
  const ids = new Int32Array(total);
  const weights = new Float32Array(total);
  const segments = new Int32Array(total);
  const mask = vocab - 1;
  let k = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let j = features.indptr[r]; j < features.indptr[r + 1]; j++, k++) {
      ids[k] = features.indices[j] & mask;
      weights[k] = features.values[j];
      segments[k] = i;
    }
  }
  return { rows: rows.length, ids, weights, segments };
}

export interface BagEncoderOptions {
  /** Embedding rows (hash buckets after folding; a power of two). Default 2^17. */
  vocab?: number;
  /** Embedding width D = output width. Default 256. */
  dim?: number;
  /** Hidden width H of the residual block. Default 256. */
  hidden?: number;
  /** Features per text the bag reads (the largest TF-IDF weights). Default 256. */
  maxFeatures?: number;
}

export const DEFAULT_BAG_ENCODER_OPTIONS: Readonly<Required<BagEncoderOptions>> = Object.freeze({ vocab: 1 << 17, dim: 256, hidden: 256, maxFeatures: 256 });

export class BagEncoder implements TextEncoder {
  readonly dim: number;
  readonly vocab: number;
  readonly embedding: SparseEmbedding;
  private readonly w1: Variable;
  private readonly b1: Variable;
  private readonly w2: Variable;
  private readonly b2: Variable;
  /** Projection of pretrained sentence vectors into the bag's space. [P, D] */
  private readonly projection?: Variable;
  readonly variables: readonly Variable[];

  /**
   * `pretrainedDim` > 0 adds a projection of pretrained vectors to the bag:
   * TextBatch.dense, or `sentence` run over TextBatch.tokens when fine-tuning.
   */
  constructor(options: Required<BagEncoderOptions>, seed: number, prefix = 'encoder', readonly pretrainedDim = 0, private readonly sentence?: SentenceEncoder) {
    const { vocab, dim, hidden } = options;
    this.dim = dim;
    this.vocab = vocab;
    this.embedding = new SparseEmbedding(`${prefix}/embeddings`, vocab, dim, seed, 1 / Math.sqrt(dim));
    this.w1 = seededVariable(`${prefix}/w1`, [dim, hidden], seed, Math.sqrt(2 / dim));
    this.b1 = seededVariable(`${prefix}/b1`, [hidden], seed, 0);
    this.w2 = seededVariable(`${prefix}/w2`, [hidden, dim], seed, 0);
    this.b2 = seededVariable(`${prefix}/b2`, [dim], seed, 0);
    // A random projection roughly keeps the pretrained cosines (Johnson-Lindenstrauss); a unit input maps to norm ~1, like the bag.
    if (pretrainedDim > 0) this.projection = seededVariable(`${prefix}/pretrained`, [pretrainedDim, dim], seed, 1 / Math.sqrt(dim));
    this.variables = [this.w1, this.b1, this.w2, this.b2, ...(this.projection ? [this.projection] : [])];
  }

  encode(batch: TextBatch, embedding: EmbeddingRows): Tensor2D {
    let bag: Tensor2D;
    if (batch.ids.length === 0) {
      bag = tf.zeros([batch.rows, this.dim]); // no features: pretrained vectors alone
    } else {
      const weights = tf.tensor2d(batch.weights, [batch.weights.length, 1]); // [K, 1]
      const rows = gatherRows(embedding.rows, embedding.local); // [K, D]
      bag = segmentSum(tf.mul(rows, weights) as Tensor2D, batch.segments, batch.rows); // [B, D]
    }
    if (this.projection) {
      let pretrained: Tensor2D; // [B, P]
      if (this.sentence && batch.tokens?.length === batch.rows) {
        pretrained = this.sentence.encodeTokens(batch.tokens);
      } else {
        if (!batch.dense || batch.dense.length !== batch.rows * this.pretrainedDim) throw new RangeError(`BagEncoder: the batch needs ${batch.rows} pretrained vectors of width ${this.pretrainedDim}.`);
        pretrained = tf.tensor2d(batch.dense, [batch.rows, this.pretrainedDim]);
      }
      bag = tf.add(bag, tf.matMul(pretrained, this.projection as Tensor2D)); // [B, D]
    }
    const hidden = tf.relu(dense(bag, this.w1 as Tensor2D, this.b1 as Tensor1D)) as Tensor2D; // [B, H]
    return tf.add(bag, dense(hidden, this.w2 as Tensor2D, this.b2 as Tensor1D)); // [B, D]
  }
}
