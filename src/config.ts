/**
 * The run configuration: one JSON object for a whole run, one section per
 * stage. `--config FILE` is merged over these defaults; an unknown key at any
 * level is a ConfigError, so a typo is caught.
 */
import { DEFAULT_TFIDF_OPTIONS, type TfidfOptions } from './text/tfidf.ts';
import { resolveOptions, checkChoice } from './options.ts';
import { DEFAULT_RERANK_CONFIG, type RerankConfig } from './rerank/config.ts';
import { ConfigError } from './errors.ts';
import {
  DEFAULT_ENCODER_CONFIG, DEFAULT_GRAPHSAGE_CONFIG, DEFAULT_INDEX_CONFIG, DEFAULT_RETRIEVAL_CONFIG, DEFAULT_TRAINING_CONFIG,
  type EncoderConfig, type GraphSageConfig, type IndexConfig, type RetrievalConfig, type TrainingConfig,
} from './models/config.ts';

export interface RunConfig {
  /** Lexical retriever (TF-IDF) settings; the neural encoder reads the same features. */
  lexical: Required<TfidfOptions>;
  encoder: EncoderConfig;
  graphsage: GraphSageConfig;
  training: TrainingConfig;
  index: IndexConfig;
  retrieval: RetrievalConfig;
  rerank: RerankConfig;
}

export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = Object.freeze({
  lexical: { ...DEFAULT_TFIDF_OPTIONS },
  encoder: { ...DEFAULT_ENCODER_CONFIG },
  graphsage: { ...DEFAULT_GRAPHSAGE_CONFIG, fanouts: [...DEFAULT_GRAPHSAGE_CONFIG.fanouts] },
  training: { ...DEFAULT_TRAINING_CONFIG },
  index: { ...DEFAULT_INDEX_CONFIG },
  retrieval: { ...DEFAULT_RETRIEVAL_CONFIG },
  rerank: { ...DEFAULT_RERANK_CONFIG },
});

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Checks the values a type check cannot: choices, ranges, powers of two. */
function validate(scope: string, c: RunConfig): RunConfig {
  const need = (ok: boolean, key: string, what: string, got: unknown) => {
    if (!ok) throw new ConfigError(`${scope}: ${key} must be ${what} (got ${JSON.stringify(got)}).`);
  };
  checkChoice(scope, 'encoder.kind', c.encoder.kind, ['hashed', 'pretrained']);
  need(c.encoder.kind !== 'pretrained' || c.encoder.model !== '', 'encoder.model', "a model directory when encoder.kind is 'pretrained'", c.encoder.model);
  need(Number.isInteger(c.encoder.maxLength) && c.encoder.maxLength >= 0 && c.encoder.maxLength !== 1 && c.encoder.maxLength !== 2, 'encoder.maxLength', '0 (the model\'s own) or an integer of at least 3', c.encoder.maxLength);
  need(Number.isInteger(c.encoder.workers) && c.encoder.workers >= 0, 'encoder.workers', 'a non-negative integer', c.encoder.workers);
  need(Number.isInteger(c.encoder.fineTuneLayers) && c.encoder.fineTuneLayers >= 0, 'encoder.fineTuneLayers', 'a non-negative integer', c.encoder.fineTuneLayers);
  need(c.encoder.fineTuneLayers === 0 || c.encoder.kind === 'pretrained', 'encoder.fineTuneLayers', "0 unless encoder.kind is 'pretrained'", c.encoder.fineTuneLayers);
  need(c.encoder.fineTuneLearningRate > 0, 'encoder.fineTuneLearningRate', 'positive', c.encoder.fineTuneLearningRate);
  checkChoice(scope, 'graphsage.aggregator', c.graphsage.aggregator, ['off', 'mean', 'pool']);
  checkChoice(scope, 'training.logQ', c.training.logQ, ['off', 'streaming', 'exact']);
  checkChoice(scope, 'training.hardNegatives', c.training.hardNegatives, ['none', 'lexical', 'model']);
  checkChoice(scope, 'index.kind', c.index.kind, ['hnsw', 'brute-force']);
  need(isPowerOfTwo(c.lexical.buckets), 'lexical.buckets', 'a power of two', c.lexical.buckets);
  need(isPowerOfTwo(c.encoder.vocab) && c.encoder.vocab <= c.lexical.buckets, 'encoder.vocab', 'a power of two no larger than lexical.buckets', c.encoder.vocab);
  need(c.graphsage.fanouts.length >= 1 && c.graphsage.fanouts.length <= 3 && c.graphsage.fanouts.every((f) => Number.isInteger(f) && f >= 1), 'graphsage.fanouts', '1 to 3 positive integers', c.graphsage.fanouts);
  for (const key of ['dim', 'hidden'] as const) need(Number.isInteger(c.encoder[key]) && c.encoder[key] >= 1, `encoder.${key}`, 'a positive integer', c.encoder[key]);
  for (const key of ['epochs', 'batchSize', 'maxPairsPerTopic', 'patience', 'recallK', 'hardNegativePool'] as const) {
    need(Number.isInteger(c.training[key]) && c.training[key] >= 1, `training.${key}`, 'a positive integer', c.training[key]);
  }
  need(c.training.batchSize >= 2, 'training.batchSize', 'at least 2', c.training.batchSize);
  need(c.training.learningRate > 0, 'training.learningRate', 'positive', c.training.learningRate);
  need(c.training.temperature > 0, 'training.temperature', 'positive', c.training.temperature);
  need(c.training.estimatorAlpha > 0 && c.training.estimatorAlpha < 1, 'training.estimatorAlpha', 'in (0, 1)', c.training.estimatorAlpha);
  need(c.training.validationFraction > 0 && c.training.validationFraction < 0.5, 'training.validationFraction', 'in (0, 0.5)', c.training.validationFraction);
  need(c.rerank.trainShare > 0 && c.rerank.trainShare < 1, 'rerank.trainShare', 'in (0, 1)', c.rerank.trainShare);
  need(Number.isInteger(c.rerank.epochs) && c.rerank.epochs >= 1, 'rerank.epochs', 'a positive integer', c.rerank.epochs);
  need(Number.isInteger(c.rerank.crossFit) && c.rerank.crossFit >= 0 && c.rerank.crossFit <= 10, 'rerank.crossFit', 'an integer from 0 to 10', c.rerank.crossFit);
  need(c.rerank.crossFit <= 1 || c.encoder.fineTuneLayers === 0, 'rerank.crossFit', 'off (0) when encoder.fineTuneLayers is set', c.rerank.crossFit);
  need(Number.isInteger(c.rerank.candidates) && c.rerank.candidates >= 0, 'rerank.candidates', 'a non-negative integer (0 = all)', c.rerank.candidates);
  need(Number.isInteger(c.rerank.members) && c.rerank.members >= 1 && c.rerank.members <= 16, 'rerank.members', 'an integer from 1 to 16', c.rerank.members);
  need(Number.isFinite(c.rerank.compete) && c.rerank.compete >= 0 && c.rerank.compete <= 8, 'rerank.compete', 'a number from 0 to 8 (0 = off)', c.rerank.compete);
  need(typeof c.rerank.sentenceProduct === 'boolean', 'rerank.sentenceProduct', 'true or false', c.rerank.sentenceProduct);
  need(Number.isInteger(c.rerank.crossFitNegatives) && c.rerank.crossFitNegatives >= 0, 'rerank.crossFitNegatives', 'a non-negative integer', c.rerank.crossFitNegatives);
  need(Number.isInteger(c.index.shardRows) && c.index.shardRows >= 0, 'index.shardRows', 'a non-negative integer (0 = never shard)', c.index.shardRows);
  need(c.retrieval.topK >= 1 && c.retrieval.lexicalTopK >= 0, 'retrieval.topK', 'at least 1 (lexicalTopK at least 0)', c.retrieval);
  need(Number.isInteger(c.retrieval.unplacedTopK) && c.retrieval.unplacedTopK >= 0, 'retrieval.unplacedTopK', 'a non-negative integer', c.retrieval.unplacedTopK);
  need(c.retrieval.unplacedTopK === 0 || (Number.isInteger(c.retrieval.unplacedDepth) && c.retrieval.unplacedDepth > c.retrieval.topK), 'retrieval.unplacedDepth', 'an integer larger than retrieval.topK', c.retrieval.unplacedDepth);
  need(Number.isInteger(c.retrieval.sentenceTopK) && c.retrieval.sentenceTopK >= 0, 'retrieval.sentenceTopK', 'a non-negative integer', c.retrieval.sentenceTopK);
  need(c.retrieval.sentenceTopK === 0 || (c.encoder.kind === 'pretrained' && c.encoder.fineTuneLayers === 0), 'retrieval.sentenceTopK', "0 unless encoder.kind is 'pretrained' and encoder.fineTuneLayers is 0", c.retrieval.sentenceTopK);
  need(c.retrieval.fusion === 'rrf' || c.retrieval.fusion === 'learned', 'retrieval.fusion', "'rrf' or 'learned'", c.retrieval.fusion);
  need(Number.isInteger(c.retrieval.fusionDepth) && c.retrieval.fusionDepth >= 1, 'retrieval.fusionDepth', 'a positive integer', c.retrieval.fusionDepth);
  need(Number.isInteger(c.retrieval.fusedTopK) && c.retrieval.fusedTopK >= 1, 'retrieval.fusedTopK', 'a positive integer', c.retrieval.fusedTopK);
  return c;
}

/** Merges a parsed config file over the defaults (unknown keys are errors). */
export function resolveRunConfig(given: unknown, scope = 'config'): RunConfig {
  return validate(scope, resolveOptions(scope, DEFAULT_RUN_CONFIG as RunConfig, given));
}
