/**
 * Heterogeneous GraphSAGE layer over topics and content: one hop of the topic
 * tree plus the content the neighbour topics link, with one weight matrix per
 * relation (as PyTorch Geometric's `to_hetero` and HinSAGE do), after
 * GraphSAGE (Hamilton, Ying & Leskovec, NeurIPS 2017) and PinSage (Ying et
 * al., "Graph Convolutional Neural Networks for Web-Scale Recommender
 * Systems", KDD 2018):
 *
 *   a_T(t) = mean_{u in N(t)} h_u                 sampled parent, children, siblings: their text encodings
 *   a_C(t) = AGG_{e = (u, c), u in N(t)} x_c      items in the neighbours' visible links: their candidate vectors
 *     mean:      (1 / |E_t|) sum_e x_c            an item held by k neighbours has k edges: PinSage's
 *                                                 importance pooling by visit counts
 *     attention: sum_e softmax_e(s * cos(h_t W_a, x_c)) x_c    s = exp(log_scale), learned
 *   h'_t = h_t W_self + a_T W_topic + a_C W_content + b
 *
 * x_c is the candidate tower's output, the space the query is scored in, so
 * the layer can point a topic at the region of the catalogue its neighbours
 * fill. W_self starts as the identity and the neighbour weights small: a fresh
 * layer passes the topic's own text through, as GraphSAGE 'off' does, and
 * training decides how much the neighbourhood adds. No neighbours (or no
 * linked content) aggregate a zero vector. The output is not normalised: the
 * query head and the final normalisation follow, as for a topic's own text.
 *
 * Which links feed a_C is the sampler's business (graph/sampler.ts
 * `sampleLinkedContent`): only the neighbours' lists, never the topic's own.
 */
import { tf, type Tensor1D, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { identityVariable, ownedVariable, seededVariable } from '../runtime/variables.ts';
import { gatherRows, segmentSum } from '../runtime/ops.ts';
import { padded, l2Normalize, type NeighbourBlock } from './sage-conv.ts';

export type HeteroAggregator = 'mean' | 'attention';

/** Attention's starting sharpness: a cosine 0.1 higher weighs e times more. */
const INITIAL_SCALE = 10;

export class HeteroConv {
  readonly variables: readonly Variable[];
  private readonly wSelf: Variable;
  private readonly wTopic: Variable;
  private readonly wContent: Variable;
  private readonly bias: Variable;
  private readonly wAttention?: Variable;
  private readonly logScale?: Variable;

  constructor(readonly dim: number, readonly aggregator: HeteroAggregator, seed: number, name: string) {
    this.wSelf = identityVariable(`${name}/w_self`, dim);
    this.wTopic = seededVariable(`${name}/w_topic`, [dim, dim], seed, 0.1 / Math.sqrt(dim));
    this.wContent = seededVariable(`${name}/w_content`, [dim, dim], seed, 0.1 / Math.sqrt(dim));
    this.bias = seededVariable(`${name}/bias`, [dim], seed, 0);
    const variables = [this.wSelf, this.wTopic, this.wContent, this.bias];
    if (aggregator === 'attention') {
      // Query and candidate vectors share the text encoder, so the identity is a sensible start.
      this.wAttention = identityVariable(`${name}/w_attention`, dim);
      this.logScale = ownedVariable(tf.scalar(Math.log(INITIAL_SCALE)), `${name}/log_scale`);
      variables.push(this.wAttention, this.logScale);
    }
    this.variables = variables;
  }

  /**
   * h: [N, D] topic node table (targets first), x: [C, D] content vectors.
   * `topics` and `content` have the same targets. Returns [targets, D]. Call inside tf.tidy.
   */
  apply(h: Tensor2D, topics: NeighbourBlock, x: Tensor2D, content: NeighbourBlock): Tensor2D {
    const { targets } = topics;
    const self = tf.slice(h, [0, 0], [targets, this.dim]); // [T, D]
    const topicMean = this.mean(h, topics); // [T, D]
    const contentAggregate = this.aggregator === 'mean' ? this.mean(x, content) : this.attend(self, x, content); // [T, D]
    const out = tf.add(tf.add(tf.matMul(self, this.wSelf), tf.matMul(topicMean, this.wTopic)), tf.matMul(contentAggregate, this.wContent)); // [T, D]
    return tf.add(out, this.bias as Tensor1D); // [T, D]
  }

  /** Segment mean of `table` rows over the block's edges. [targets, D] */
  private mean(table: Tensor2D, block: NeighbourBlock): Tensor2D {
    if (block.row.length === 0) return tf.zeros([block.targets, this.dim]);
    const sums = segmentSum(gatherRows(table, block.col), block.row, block.targets); // [T, D]
    return tf.mul(sums, tf.tensor2d(block.inverseDegree, [block.targets, 1])); // [T, D]
  }

  /** Attention of each target over its content edges (a repeated item has a slot per edge). [targets, D] */
  private attend(self: Tensor2D, x: Tensor2D, block: NeighbourBlock): Tensor2D {
    const { targets, fanout } = block;
    if (block.row.length === 0) return tf.zeros([targets, this.dim]);
    const { index, mask } = padded(block);
    const slots = tf.reshape(gatherRows(x, index), [targets, fanout, this.dim]); // [T, F, D]
    const query = l2Normalize(tf.matMul(self, this.wAttention as Tensor2D)); // [T, D]
    const cosines = tf.sum(tf.mul(slots, tf.reshape(query, [targets, 1, this.dim])), 2); // [T, F]
    const maskT = tf.tensor2d(mask, [targets, fanout]); // [T, F]
    // Empty slots get -1e9 before the softmax and 0 after: a target without content aggregates 0.
    const logits = tf.add(tf.mul(cosines, tf.exp(this.logScale as Tensor1D)), tf.mul(tf.sub(maskT, 1), 1e9)); // [T, F]
    const weights = tf.mul(tf.softmax(logits), maskT); // [T, F]
    return tf.sum(tf.mul(slots, tf.reshape(weights, [targets, fanout, 1])), 1); // [T, D]
  }
}
