/**
 * The two-tower retrieval model (Yi et al., RecSys 2019; TensorFlow
 * Recommenders): a query tower for topics and a candidate tower for content,
 * sharing one text encoder (Siamese), each with its own head, scored by the
 * cosine of their outputs.
 *
 *   query(t)     = normalize(head_q(SAGE_2(SAGE_1(enc(text of t's sampled neighbourhood)))))
 *   candidate(c) = normalize(head_c(enc(text of c) + E_kind[kind c] + E_lang[language c]))
 *   head(x)      = x + relu(x W1 + b1) W2       (W2 zero at init)
 *
 * The text encoder's embedding table is sparse (see sparse-embedding.ts):
 * callers gather the rows a batch touches and pass them in; `variables` are
 * the dense ones.
 *
 * GraphSAGE can be off (the query is the topic's own text), use the mean
 * or max-pool aggregator over 1-2 hops of the topic tree (parent, children,
 * siblings), or a heterogeneous layer (hetero-conv.ts) over one hop of the
 * tree and the content the neighbours link, read as candidate vectors:
 *
 *   query(t)     = normalize(head_q(HeteroConv(enc(t), enc(neighbours), candidate(their linked content))))
 *
 * With graphsage.contentTopics the candidate tower reads its side of the
 * graph, the topics that link the item (sampled, never a query of the same
 * training batch; see tower-data.ts `withContentTopics`):
 *
 *   candidate(c) = normalize(head_c(enc(c) + E_kind + E_lang + mean_{t links c} enc(t) W_topics))
 *
 * W_topics starts small, so a fresh model reads the item's own text as
 * without it. The query tower's hetero layer reads its items' text-only
 * candidate vectors (an item's topics could hold the query itself).
 */
import { tf, type Tensor1D, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { dense, gatherRows, segmentSum } from '../runtime/ops.ts';
import { seededVariable } from '../runtime/variables.ts';
import { BagEncoder, type EmbeddingRows, type TextBatch, type TextEncoder, type BagEncoderOptions } from './text-encoder.ts';
import type { SentenceEncoder } from '../pretrained/encoder.ts';
import { SAGEConv, l2Normalize, type NeighbourBlock } from './sage-conv.ts';
import { HeteroConv } from './hetero-conv.ts';
import { isHetero, type GraphSageAggregator } from './config.ts';

export type GraphSageMode = GraphSageAggregator;

export interface TwoTowerShape {
  encoder: Required<BagEncoderOptions>;
  /** GraphSAGE aggregator, or 'off'. */
  graphsage: GraphSageMode;
  /** GraphSAGE layers (= hops sampled). */
  layers: number;
  /** Hetero aggregators: items drawn from each sampled neighbour topic's links. */
  contentFanout?: number;
  /** Number of distinct content kinds and languages (ids 0..n-1; unseen values map to 0). */
  kinds: number;
  languages: number;
  /** Width of the pretrained sentence vectors the encoder also reads (0 or absent: none). */
  pretrainedDim?: number;
  /** Top layers of the pretrained encoder fine-tuned with the towers (0 or absent: frozen). */
  fineTuneLayers?: number;
  /** graphsage.contentTopics: linking topics an item reads (0 or absent: none). */
  contentTopics?: number;
}

/** Residual MLP head: x + relu(x W1 + b1) W2. */
class Head {
  readonly variables: readonly Variable[];
  private readonly w1: Variable;
  private readonly b1: Variable;
  private readonly w2: Variable;
  private readonly b2: Variable;

  constructor(dim: number, hidden: number, seed: number, name: string) {
    this.w1 = seededVariable(`${name}/w1`, [dim, hidden], seed, Math.sqrt(2 / dim));
    this.b1 = seededVariable(`${name}/b1`, [hidden], seed, 0);
    this.w2 = seededVariable(`${name}/w2`, [hidden, dim], seed, 0);
    this.b2 = seededVariable(`${name}/b2`, [dim], seed, 0);
    this.variables = [this.w1, this.b1, this.w2, this.b2];
  }

  apply(x: Tensor2D): Tensor2D {
    const hidden = tf.relu(dense(x, this.w1 as Tensor2D, this.b1 as Tensor1D)) as Tensor2D; // [B, H]
    return tf.add(x, dense(hidden, this.w2 as Tensor2D, this.b2 as Tensor1D)); // [B, D]
  }
}

/** What the query tower reads: every node of the sampled neighbourhoods (seeds first) and one block per layer. */
export interface QueryInput {
  nodes: TextBatch;
  /** blocks[l] feeds layer l; its targets are a prefix of the node table, the last block's targets are the seeds. */
  blocks: NeighbourBlock[];
  /** Hetero aggregators: the content the neighbours link, as candidate-tower inputs, and the edges seed <- item. */
  content?: { input: CandidateInput; block: NeighbourBlock };
}

export interface CandidateInput {
  text: TextBatch;
  /** Kind id per item. [B] */
  kinds: Int32Array;
  /** Language id per item. [B] */
  languages: Int32Array;
  /** graphsage.contentTopics: the topics that link the items, and the edges item <- topic. */
  topics?: { nodes: TextBatch; block: NeighbourBlock };
}

export class TwoTowerModel {
  readonly encoder: TextEncoder & BagEncoder;
  readonly sage: SAGEConv[];
  /** The heterogeneous layer (aggregator 'hetero-mean' or 'hetero-attention'). */
  readonly hetero?: HeteroConv;
  private readonly queryHead: Head;
  private readonly candidateHead: Head;
  private readonly kindEmbeddings: Variable;
  private readonly languageEmbeddings: Variable;
  /** graphsage.contentTopics: the linking topics' mean encoding into the candidate tower. */
  private readonly topicWeights?: Variable;
  readonly variables: readonly Variable[];

  /** `sentence`: the pretrained encoder being fine-tuned (shape.fineTuneLayers > 0); the model owns it. */
  constructor(readonly shape: TwoTowerShape, seed: number, readonly sentence?: SentenceEncoder) {
    const { encoder, graphsage, layers } = shape;
    this.encoder = new BagEncoder(encoder, seed, 'encoder', shape.pretrainedDim ?? 0, sentence);
    const d = encoder.dim;
    if (graphsage === 'hetero-mean' || graphsage === 'hetero-attention') this.hetero = new HeteroConv(d, graphsage === 'hetero-mean' ? 'mean' : 'attention', seed, 'hetero');
    this.sage = graphsage === 'mean' || graphsage === 'pool' ? Array.from({ length: layers }, (_, l) => new SAGEConv(d, graphsage, l < layers - 1, seed, `sage/${l}`)) : [];
    this.queryHead = new Head(d, encoder.hidden, seed, 'query_head');
    this.candidateHead = new Head(d, encoder.hidden, seed, 'candidate_head');
    this.kindEmbeddings = seededVariable('candidate/kind', [Math.max(1, shape.kinds), d], seed, 0.01);
    this.languageEmbeddings = seededVariable('candidate/language', [Math.max(1, shape.languages), d], seed, 0.01);
    if (shape.contentTopics) this.topicWeights = seededVariable('candidate/topics', [d, d], seed, 0.1 / Math.sqrt(d));
    this.variables = [
      ...this.encoder.variables,
      ...this.sage.flatMap((s) => s.variables),
      ...(this.hetero?.variables ?? []),
      ...this.queryHead.variables,
      ...this.candidateHead.variables,
      this.kindEmbeddings,
      this.languageEmbeddings,
      ...(this.topicWeights ? [this.topicWeights] : []),
      ...(sentence?.variables ?? []),
    ];
  }

  /** Does the query tower read a sampled neighbourhood (any aggregator but 'off')? */
  get readsNeighbours(): boolean {
    return this.shape.graphsage !== 'off';
  }

  /** Does the query tower read the content of the neighbours' links (and so need the visible links)? */
  get readsLinks(): boolean {
    return isHetero(this.shape.graphsage);
  }

  /**
   * Topic embeddings for the seeds of `input`. [seeds, D], unit rows. Call inside tf.tidy.
   * `contentEmbedding`: the embedding rows of `input.content`'s texts (hetero aggregators).
   */
  queries(input: QueryInput, embedding: EmbeddingRows, contentEmbedding?: EmbeddingRows): Tensor2D {
    let h = this.encoder.encode(input.nodes, embedding); // [N, D]
    if (this.hetero) {
      if (!input.content || !contentEmbedding) throw new Error('TwoTowerModel.queries: a heterogeneous GraphSAGE model needs the content of the neighbours\' links');
      const { input: items, block } = input.content;
      const x = items.text.rows > 0 ? this.candidates(items, contentEmbedding) : tf.zeros([0, h.shape[1]]) as Tensor2D; // [C, D]
      h = this.hetero.apply(h, input.blocks[0], x, block); // [S, D]
    } else if (this.sage.length === 0) {
      const seeds = input.blocks.length ? input.blocks[input.blocks.length - 1].targets : input.nodes.rows;
      h = tf.slice(h, [0, 0], [seeds, h.shape[1]]); // [S, D]
    } else {
      for (let l = 0; l < this.sage.length; l++) h = this.sage[l].apply(h, input.blocks[l]); // [T_l, D]
    }
    return l2Normalize(this.queryHead.apply(h)); // [S, D]
  }

  /**
   * Content embeddings. [B, D], unit rows. Call inside tf.tidy.
   * `topicEmbedding`: the embedding rows of `input.topics`' texts (graphsage.contentTopics).
   */
  candidates(input: CandidateInput, embedding: EmbeddingRows, topicEmbedding?: EmbeddingRows): Tensor2D {
    const text = this.encoder.encode(input.text, embedding); // [B, D]
    const kind = gatherRows(this.kindEmbeddings as Tensor2D, input.kinds); // [B, D]
    const language = gatherRows(this.languageEmbeddings as Tensor2D, input.languages); // [B, D]
    let x: Tensor2D = tf.add(tf.add(text, kind), language); // [B, D]
    const { topics } = input;
    if (this.topicWeights && topics && topics.block.row.length > 0) {
      if (!topicEmbedding) throw new Error('TwoTowerModel.candidates: the items\' topics need their embedding rows');
      const h = this.encoder.encode(topics.nodes, topicEmbedding); // [N, D]
      const sums = segmentSum(gatherRows(h, topics.block.col), topics.block.row, topics.block.targets); // [B, D]
      const mean: Tensor2D = tf.mul(sums, tf.tensor2d(topics.block.inverseDegree, [topics.block.targets, 1])); // [B, D]
      x = tf.add(x, tf.matMul(mean, this.topicWeights as Tensor2D)); // [B, D]
    }
    return l2Normalize(this.candidateHead.apply(x)); // [B, D]
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
    this.sentence?.dispose();
  }
}
