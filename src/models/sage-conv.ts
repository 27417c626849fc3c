/**
 * GraphSAGE convolution (Hamilton, Ying & Leskovec, "Inductive Representation
 * Learning on Large Graphs", NeurIPS 2017), with the mean and max-pool
 * aggregators:
 *
 *   mean: a_v = mean_{u in N(v)} h_u
 *   pool: a_v = max_{u in N(v)} relu(W_pool h_u + b_pool)
 *   h'_v = sigma(W_self h_v + W_neigh a_v + b),  then h'_v / ||h'_v||
 *
 * (W [h_v || a_v] of the paper, split in two.) W_self starts as the identity
 * and W_neigh small, so a freshly built layer passes a node's own text
 * through; training decides how much the neighbourhood adds. Nodes without
 * sampled neighbours aggregate a zero vector.
 *
 * Neighbours come as sampled edges (see graph/sampler.ts): the mean is a
 * segment sum of the neighbours' rows keyed by target, divided by the
 * target's degree; the max pool reads a padded [targets, fanout] block.
 */
import { tf, type Tensor1D, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { identityVariable, seededVariable } from '../runtime/variables.ts';
import { dense, gatherRows, segmentSum } from '../runtime/ops.ts';

/** The edges one layer aggregates over: targets are local ids 0..targets-1 of the node table. */
export interface NeighbourBlock {
  targets: number;
  /** Target of each edge (non-decreasing). [E] */
  row: Int32Array;
  /** Neighbour (source) of each edge. [E] */
  col: Int32Array;
  /** 1 / degree of each target (0 for a target without neighbours). [targets, 1] */
  inverseDegree: Float32Array;
  /** Largest degree: the width of the padded block the pool aggregator reads. */
  fanout: number;
}

export type Aggregator = 'mean' | 'pool';

/** Padded neighbour slots: index [T * F] and mask [T * F] (1 filled, 0 empty). */
export function padded(block: NeighbourBlock): { index: Int32Array; mask: Float32Array } {
  const { targets, fanout, row, col } = block;
  const index = new Int32Array(targets * fanout);
  const mask = new Float32Array(targets * fanout);
  const fill = new Uint32Array(targets);
  for (let e = 0; e < row.length; e++) {
    const slot = row[e] * fanout + fill[row[e]]++;
    index[slot] = col[e];
    mask[slot] = 1;
  }
  return { index, mask };
}

export class SAGEConv {
  readonly variables: readonly Variable[];
  private readonly wSelf: Variable;
  private readonly wNeigh: Variable;
  private readonly bias: Variable;
  private readonly wPool?: Variable;
  private readonly bPool?: Variable;

  constructor(readonly dim: number, readonly aggregator: Aggregator, readonly activate: boolean, seed: number, name: string) {
    this.wSelf = identityVariable(`${name}/w_self`, dim);
    this.wNeigh = seededVariable(`${name}/w_neigh`, [dim, dim], seed, 0.1 / Math.sqrt(dim));
    this.bias = seededVariable(`${name}/bias`, [dim], seed, 0);
    const variables = [this.wSelf, this.wNeigh, this.bias];
    if (aggregator === 'pool') {
      this.wPool = seededVariable(`${name}/w_pool`, [dim, dim], seed, Math.sqrt(2 / dim));
      this.bPool = seededVariable(`${name}/b_pool`, [dim], seed, 0);
      variables.push(this.wPool, this.bPool);
    }
    this.variables = variables;
  }

  /** h: [N, D] node table -> [targets, D], L2-normalised. Call inside tf.tidy. */
  apply(h: Tensor2D, block: NeighbourBlock): Tensor2D {
    const { targets } = block;
    const self = tf.slice(h, [0, 0], [targets, this.dim]); // [T, D]
    let aggregated: Tensor2D;
    if (this.aggregator === 'mean') {
      const sums = segmentSum(gatherRows(h, block.col), block.row, targets); // [T, D]
      aggregated = tf.mul(sums, tf.tensor2d(block.inverseDegree, [targets, 1])); // [T, D]
    } else {
      const { index, mask } = padded(block);
      const pooled = tf.relu(dense(h, this.wPool as Tensor2D, this.bPool as Tensor1D)) as Tensor2D; // [N, D]
      const slots = tf.reshape(gatherRows(pooled, index), [targets, block.fanout, this.dim]); // [T, F, D]
      // Pool outputs are >= 0 (relu), so zeroing empty slots keeps the max right and gives 0 with no neighbours.
      aggregated = tf.max(tf.mul(slots, tf.tensor3d(mask, [targets, block.fanout, 1])), 1); // [T, D]
    }
    let out = tf.add(tf.matMul(self, this.wSelf), dense(aggregated, this.wNeigh as Tensor2D, this.bias as Tensor1D)) as Tensor2D; // [T, D]
    if (this.activate) out = tf.relu(out) as Tensor2D;
    return l2Normalize(out);
  }
}

/** Rows divided by their L2 norm (a zero row stays zero). [N, D] -> [N, D] */
export function l2Normalize(x: Tensor2D): Tensor2D {
  const norm = tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12)); // [N, 1]
  return tf.div(x, norm);
}
