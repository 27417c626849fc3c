/**
 * The models' sections of the run config: the text encoder, the GraphSAGE
 * aggregator and the two-tower training. Each key is declared once here with
 * its default and its checks; src/config.ts composes the sections, merges a
 * config file over them and rejects unknown keys.
 */
import { isPositiveInteger, isNonNegativeInteger, isPowerOfTwo, type ConfigSection } from '../options.ts';
import type { BagEncoderOptions } from './text-encoder.ts';

export interface EncoderConfig extends Required<BagEncoderOptions> {
  /**
   * 'hashed': the from-scratch hashed n-gram embedding bag. 'pretrained':
   * a pretrained transformer's sentence vectors (frozen, cached on disk),
   * projected into the towers, plus the hashed bag unless `bag` is false.
   */
  kind: 'hashed' | 'pretrained';
  /**
   * The pretrained encoder (kind 'pretrained'): a local Hugging Face model
   * folder, or a model id ("sentence-transformers/all-MiniLM-L6-v2") found in
   * the Hugging Face cache or downloaded from the hub (src/pretrained/hub.ts).
   * Default ''.
   */
  model: string;
  /** The hub revision (branch, tag or commit) of a model id; '' = main. Default ''. */
  revision: string;
  /** Tokens per text for the pretrained encoder; 0 = the model's max_seq_length. Default 128. */
  maxLength: number;
  /** With kind 'pretrained', also read the hashed n-gram bag. Default true. */
  bag: boolean;
  /** Folder of the pretrained-vector cache. Default 'models/cache'. */
  cacheDir: string;
  /** Threads that encode with the pretrained model; 0 = one per core. Default 0. */
  workers: number;
  /**
   * Top transformer layers fine-tuned with the towers (kind 'pretrained');
   * 0 keeps the encoder frozen and its vectors cached. Every step runs the
   * trainable layers over the batch's texts (the frozen ones once per text,
   * see fineTuneCacheMiB). Default 0.
   */
  fineTuneLayers: number;
  /** Adam learning rate of the fine-tuned layers. Default 2e-5. */
  fineTuneLearningRate: number;
  /**
   * Memory (MiB) for the frozen lower layers' hidden states when
   * fine-tuning: every text runs through the frozen layers once and the
   * steps train the top layers over the kept states (bfloat16, 2 bytes per
   * token per dimension: Khan's 9,062 texts take 230 MiB at maxLength 128).
   * A catalogue that needs more runs the whole transformer on every step;
   * 0 always does. Default 6144.
   */
  fineTuneCacheMiB: number;
}

export interface GraphSageConfig {
  /**
   * 'off': the topic's own text. 'mean' or 'pool' (homogeneous): the texts of
   * the sampled parent, children and siblings, over fanouts.length hops.
   * 'hetero-mean' or 'hetero-attention' (heterogeneous, one hop,
   * models/hetero-conv.ts): the neighbours' texts and the content their
   * visible links hold (never the topic's own links), pooled by mean or by
   * attention. Default 'off' (see BENCHMARKS.md).
   */
  aggregator: GraphSageAggregator;
  /**
   * Neighbours sampled per hop; its length is the number of layers (one
   * entry with a hetero aggregator). Default [10, 5].
   */
  fanouts: number[];
  /** Hetero aggregators: items drawn from each sampled neighbour topic's visible links. Default 3. */
  contentFanout: number;
  /**
   * The candidate tower's side of the graph: each content item also reads
   * up to this many of the topics that link it (the mean of their text
   * encodings through one weight matrix; models/two-tower.ts). Only the
   * training topics' links are read, at training and when the index is
   * built; in a training batch, never a topic that is a query of that batch.
   * Items added or edited after training read none. 0: off (the item's
   * own text). Default 0 (see BENCHMARKS.md).
   */
  contentTopics: number;
}

export type GraphSageAggregator = 'off' | 'mean' | 'pool' | 'hetero-mean' | 'hetero-attention';
const AGGREGATORS: readonly GraphSageAggregator[] = ['off', 'mean', 'pool', 'hetero-mean', 'hetero-attention'];

/** Does the aggregator read the content of the neighbours' links (one hop, models/hetero-conv.ts)? */
export function isHetero(aggregator: GraphSageAggregator): aggregator is 'hetero-mean' | 'hetero-attention' {
  return aggregator === 'hetero-mean' || aggregator === 'hetero-attention';
}

export interface TrainingConfig {
  /** Most epochs (early stopping may end sooner). Default 8. */
  epochs: number;
  /** (topic, content) pairs per batch. Default 256. */
  batchSize: number;
  /** Peak Adam learning rate. Default 0.003. */
  learningRate: number;
  /** Linear warm-up steps, then cosine decay to learningRate * 0.05. Default 20. */
  warmupSteps: number;
  /** Softmax temperature. Default 0.1. */
  temperature: number;
  /** Popularity correction: 'streaming' (Yi et al. 2019), 'exact' counts, or 'off'. Default 'streaming'. */
  logQ: 'off' | 'streaming' | 'exact';
  /** Learning rate alpha of the streaming frequency estimator. Default 0.05. */
  estimatorAlpha: number;
  /** Hard negatives: 'none', 'lexical' (TF-IDF top-k of the topic) or 'model' (the previous epoch's top-k). Default 'none' (see BENCHMARKS.md). */
  hardNegatives: 'none' | 'lexical' | 'model';
  /** Hard negatives appended to each batch. Default 64. */
  hardNegativesPerBatch: number;
  /** Top-k list hard negatives are drawn from. Default 30. */
  hardNegativePool: number;
  /** Pairs of one topic per epoch at most (a topic with 20,000 links must not fill the epoch). Default 64. */
  maxPairsPerTopic: number;
  /** Share of training topics held out for validation, early stopping and the reranker. Default 0.2. */
  validationFraction: number;
  /** Epochs without a better validation recall before stopping. Default 2. */
  patience: number;
  /** K of the validation recall@K. Default 50. */
  recallK: number;
  /**
   * Seconds of training between two checkpoints: an epoch saves one when at
   * least this long has passed since the last (or the start); the last epoch
   * always does. 0 saves after every epoch. Default 120: a checkpoint of the
   * default model is about half a gigabyte (the table and its moments), which
   * costs more than short epochs are worth re-running.
   */
  checkpointSeconds: number;
}

export const DEFAULT_ENCODER_CONFIG: Readonly<EncoderConfig> = Object.freeze({
  kind: 'hashed',
  vocab: 1 << 17,
  dim: 256,
  hidden: 256,
  maxFeatures: 256,
  model: '',
  revision: '',
  maxLength: 128,
  bag: true,
  cacheDir: 'models/cache',
  workers: 0,
  fineTuneLayers: 0,
  fineTuneLearningRate: 2e-5,
  fineTuneCacheMiB: 6144,
});
// GraphSAGE is off by default: on both bundled datasets the topic's own text scored better than
// either homogeneous aggregator (BENCHMARKS.md, "Retrieval ablations").
// 'mean', 'pool', 'hetero-mean' or 'hetero-attention' turn it on.
export const DEFAULT_GRAPHSAGE_CONFIG: Readonly<GraphSageConfig> = Object.freeze({ aggregator: 'off', fanouts: [10, 5], contentFanout: 3, contentTopics: 0 });
export const DEFAULT_TRAINING_CONFIG: Readonly<TrainingConfig> = Object.freeze({
  epochs: 8,
  batchSize: 256,
  learningRate: 0.003,
  warmupSteps: 20,
  temperature: 0.1,
  logQ: 'streaming',
  estimatorAlpha: 0.05,
  hardNegatives: 'none',
  hardNegativesPerBatch: 64,
  hardNegativePool: 30,
  maxPairsPerTopic: 64,
  validationFraction: 0.2,
  patience: 2,
  recallK: 50,
  checkpointSeconds: 120,
});

const oneOf = (value: string, allowed: readonly string[]) => allowed.includes(value);

export const ENCODER_SECTION: ConfigSection<EncoderConfig> = {
  name: 'encoder',
  defaults: DEFAULT_ENCODER_CONFIG,
  check(c, need, run) {
    const lexical = run.lexical as { buckets: number };
    need(oneOf(c.kind, ['hashed', 'pretrained']), 'kind', 'one of hashed, pretrained', c.kind);
    need(c.kind !== 'pretrained' || c.model !== '', 'model', "a model folder or Hugging Face id when encoder.kind is 'pretrained'", c.model);
    need(Number.isInteger(c.maxLength) && c.maxLength >= 0 && c.maxLength !== 1 && c.maxLength !== 2, 'maxLength', "0 (the model's own) or an integer of at least 3", c.maxLength);
    need(isNonNegativeInteger(c.workers), 'workers', 'a non-negative integer', c.workers);
    need(isNonNegativeInteger(c.fineTuneLayers), 'fineTuneLayers', 'a non-negative integer', c.fineTuneLayers);
    need(c.fineTuneLayers === 0 || c.kind === 'pretrained', 'fineTuneLayers', "0 unless encoder.kind is 'pretrained'", c.fineTuneLayers);
    need(c.fineTuneLearningRate > 0, 'fineTuneLearningRate', 'positive', c.fineTuneLearningRate);
    need(isNonNegativeInteger(c.fineTuneCacheMiB), 'fineTuneCacheMiB', 'a non-negative integer (0 = no cache)', c.fineTuneCacheMiB);
    need(isPowerOfTwo(c.vocab) && c.vocab <= lexical.buckets, 'vocab', 'a power of two no larger than lexical.buckets', c.vocab);
    for (const key of ['dim', 'hidden'] as const) need(isPositiveInteger(c[key]), key, 'a positive integer', c[key]);
  },
};

export const GRAPHSAGE_SECTION: ConfigSection<GraphSageConfig> = {
  name: 'graphsage',
  defaults: DEFAULT_GRAPHSAGE_CONFIG,
  check(c, need) {
    need(oneOf(c.aggregator, AGGREGATORS), 'aggregator', `one of ${AGGREGATORS.join(', ')}`, c.aggregator);
    need(c.fanouts.length >= 1 && c.fanouts.length <= 3 && c.fanouts.every(isPositiveInteger), 'fanouts', '1 to 3 positive integers', c.fanouts);
    need(!isHetero(c.aggregator) || c.fanouts.length === 1, 'fanouts', `one entry with aggregator '${c.aggregator}' (it reads one hop: the topic's neighbours and their content), e.g. [10]`, c.fanouts);
    need(isPositiveInteger(c.contentFanout), 'contentFanout', 'a positive integer', c.contentFanout);
    need(isNonNegativeInteger(c.contentTopics) && c.contentTopics <= 64, 'contentTopics', 'an integer from 0 (off) to 64', c.contentTopics);
  },
};

export const TRAINING_SECTION: ConfigSection<TrainingConfig> = {
  name: 'training',
  defaults: DEFAULT_TRAINING_CONFIG,
  check(c, need) {
    need(oneOf(c.logQ, ['off', 'streaming', 'exact']), 'logQ', 'one of off, streaming, exact', c.logQ);
    need(oneOf(c.hardNegatives, ['none', 'lexical', 'model']), 'hardNegatives', 'one of none, lexical, model', c.hardNegatives);
    for (const key of ['epochs', 'batchSize', 'maxPairsPerTopic', 'patience', 'recallK', 'hardNegativePool'] as const) need(isPositiveInteger(c[key]), key, 'a positive integer', c[key]);
    need(c.batchSize >= 2, 'batchSize', 'at least 2', c.batchSize);
    need(c.learningRate > 0, 'learningRate', 'positive', c.learningRate);
    need(c.temperature > 0, 'temperature', 'positive', c.temperature);
    need(c.estimatorAlpha > 0 && c.estimatorAlpha < 1, 'estimatorAlpha', 'in (0, 1)', c.estimatorAlpha);
    need(c.validationFraction > 0 && c.validationFraction < 0.5, 'validationFraction', 'in (0, 0.5)', c.validationFraction);
    need(Number.isFinite(c.checkpointSeconds) && c.checkpointSeconds >= 0, 'checkpointSeconds', 'a number of seconds, 0 or more', c.checkpointSeconds);
  },
};
