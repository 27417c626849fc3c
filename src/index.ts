/**
 * trellis public API: every export by name. Tests and users import from here.
 */

// Errors and options
export { TrellisError, UsageError, DataError, ConfigError, ArtifactError, ServiceError } from './errors.ts';
export { DEFAULT_INDEX_CONFIG, DEFAULT_RETRIEVAL_CONFIG, type IndexConfig, type RetrievalConfig } from './retrieval/config.ts';
export { fuseCandidates, type FusedCandidates } from './retrieval/candidates.ts';
export { mergeCandidates, type Candidates } from './retrieval/candidates.ts';
export { resolveOptions, checkChoice } from './options.ts';
export { DEFAULT_RUN_CONFIG, PRESETS, resolveRunConfig, type PresetName, type RunConfig } from './config.ts';
export { mulberry32, deriveSeed, rngFor, randomInt, fillNormal, shuffleInPlace, type Rng } from './random.ts';

// Data
export type { Topic, Content, Dataset } from './data/types.ts';
export { loadDataset, buildDataset, TOPIC_COLUMNS, CONTENT_COLUMNS, CORRELATION_COLUMNS, type LoadOptions } from './data/lecr.ts';
export { readCsv, firstInvalidUtf8, type CsvRow, type ReadCsvOptions } from './data/csv.ts';
export { writeDataset } from './data/write.ts';
export { convertKhan } from './data/convert-khan.ts';
export { convertDebian, readStanzas, longDescription, relationNames, type DebianStats } from './data/convert-debian.ts';
export { prepareSource, SOURCES, SOURCE_DEFAULTS } from './data/prepare.ts';

// Graph
export { buildForest, childrenOf, siblingsOf, ancestorsOf, breadcrumb, type TopicForest, type TopicAttributes } from './graph/forest.ts';

// Text
export { topicText, contentText } from './text/documents.ts';
export { fitTfidf, transformTfidf, wordTokens, DEFAULT_TFIDF_OPTIONS, type TfidfModel, type TfidfOptions, type SparseRows } from './text/tfidf.ts';

// Retrieval
export { buildLexicalIndex, lexicalSearch, type LexicalIndex } from './retrieval/lexical.ts';
export { topKIndices } from './retrieval/topk.ts';
export { candidatesTable } from './retrieval/table.ts';

// Evaluation
export { scoreTopic, f2Score, evaluateSets, recallAtK, bestTopK, evaluateRanked, rankedById, type SetMetrics, type TopicScore, type CandidateMetrics } from './eval/metrics.ts';
export { splitTopics, answersOf, type Split, type SplitOptions, type SplitBy } from './eval/split.ts';
export { evaluateFiles, type FileEvaluation } from './eval/evaluate.ts';
export { formatTable } from './eval/report.ts';

// Exports
export { writeFileAtomic, type ByteSink } from './io/atomic.ts';
export { writeRecommendations, readRecommendations, recommendationFormat, RECOMMENDATION_EXTENSIONS, type RecommendationFile } from './io/export.ts';
export { RecommendationTableBuilder, recommendationRows, type RecommendationTable, type RecommendationRow } from './io/table.ts';

// Neighbour sampling and item frequency estimation
export { buildNeighbourIndex, neighboursOf, sampleNeighbours, layerEdges, DEFAULT_NEIGHBOUR_INDEX_OPTIONS, type NeighbourIndex, type NeighbourIndexOptions, type SamplerOutput, type LayerEdges } from './graph/sampler.ts';
export { StreamingFrequencyEstimator, ExactFrequencyEstimator, DEFAULT_STREAMING_FREQUENCY_OPTIONS, DEFAULT_EXACT_FREQUENCY_OPTIONS, type FrequencyEstimator, type StreamingFrequencyOptions, type ExactFrequencyOptions } from './models/frequency-estimator.ts';

// Models (tfjs)
export { initRuntime, runtimeInfo, assertTrainable, resolveBackendChoice, BACKEND_CHOICES, type BackendChoice, type RuntimeInfo } from './runtime/backend.ts';
export { WorkerPool, mapInWorkers, splitRange, type WorkerPoolOptions } from './runtime/workers.ts';
export { BagEncoder, textBatch, topFeatures, DEFAULT_BAG_ENCODER_OPTIONS, type TextEncoder, type TextBatch, type EmbeddingRows, type BagEncoderOptions } from './models/text-encoder.ts';
export { SparseEmbedding } from './models/sparse-embedding.ts';
export { localize } from './runtime/variables.ts';
export { SAGEConv, l2Normalize, type NeighbourBlock, type Aggregator } from './models/sage-conv.ts';
export { TwoTowerModel, type TwoTowerShape, type QueryInput, type CandidateInput, type GraphSageMode } from './models/two-tower.ts';
export { inBatchLogits, inBatchSoftmaxLoss, type InBatchSoftmaxInputs } from './models/losses/in-batch-softmax.ts';
export { trainTwoTower, epochBatches, learningRateAt, type TrainInputs, type TrainResult, type EpochReport } from './models/train.ts';
export { buildTowerData, embedContent, embedTopics, type TowerData } from './models/tower-data.ts';
export { PretrainedEncoder, DEFAULT_PRETRAINED_ENCODER_OPTIONS, type PretrainedEncoderOptions } from './pretrained/encoder.ts';
export { inspectModelDir, type BertConfig, type PoolingConfig, type ModelFiles } from './pretrained/config.ts';
export { readSafetensors, parseSafetensors, type SafeTensor } from './pretrained/safetensors.ts';
export { BertTokenizer } from './pretrained/tokenizer.ts';
export { embedTexts, type EmbedTextsOptions } from './pretrained/parallel.ts';
export { EmbeddingCache, textKey } from './pretrained/cache.ts';
export { pretrainedFeatures, type PretrainedInfo } from './models/pretrained-features.ts';
export { openModel, saveModel, loadModel, loadTwoTower, loadContentIndex, loadReranker, loadFusion, readModelMeta, MODEL_LAYOUT, type ModelMeta, type ModelFolder } from './pipeline/artifact.ts';
export { DEFAULT_ENCODER_CONFIG, DEFAULT_GRAPHSAGE_CONFIG, DEFAULT_TRAINING_CONFIG, type EncoderConfig, type GraphSageConfig, type TrainingConfig } from './models/config.ts';

// Nearest-neighbour indexes
export type { VectorIndex, SearchResult } from './ann/types.ts';
export { BruteForceIndex } from './ann/brute-force.ts';
export { HnswIndex, DEFAULT_HNSW_OPTIONS, type HnswOptions } from './ann/hnsw.ts';
export { PartitionedIndex, partitionKey, type PartitionedIndexOptions } from './ann/partitioned.ts';
export { loadIndex } from './ann/load.ts';
export { searchMany, searchRecall } from './ann/search.ts';

// Neural retrieval and fusion
export { buildContentIndex, neuralSearch } from './retrieval/neural.ts';

// Reranking
export { CrossEncoder, DEFAULT_CROSS_ENCODER_OPTIONS, type CrossEncoderOptions } from './rerank/cross-encoder.ts';
export { searchDecisionRule, applyDecisionRule, evaluateRule, packCandidates, parseDecisionRule, type DecisionRule, type ScoredCandidates } from './rerank/threshold.ts';
export { DEFAULT_RERANK_CONFIG, type RerankConfig } from './rerank/config.ts';

// Pipeline stages
export { runTraining, type TrainJob, type TrainSummary } from './pipeline/train.ts';
export { loadRetriever, retrieve, recommendTopics, retrievalTable, type Retriever, type RecommendResult } from './pipeline/recommend.ts';
export { pairFeatures, trainReranker, rerankTable, FEATURE_NAMES } from './pipeline/rerank.ts';
export { updateIndex, type UpdateResult, type UpdateOptions } from './pipeline/update.ts';
export { diffCatalogue, catalogueDrift, applyChanges, trainedCatalogue, fingerprint, DRIFT_LIMITS, type Catalogue, type CatalogueChanges, type Drift } from './pipeline/catalogue.ts';
export { scoreStages, runHoldout, type StageScores, type HoldoutJob, type HoldoutResult } from './pipeline/holdout.ts';
export { syntheticDataset, syntheticForest, syntheticContent, syntheticTopicCount, writeSyntheticDataset, type SyntheticOptions, type SyntheticForest, type SyntheticItem, type SyntheticLeaf, type SyntheticWriteSummary } from './data/synthetic.ts';

// Neo4j
export {
  Neo4jClient, withNeo4j, connectionFromEnv, applySchema, pushDataset, graphSnapshot, pushRecommendations, loadDatasetFromNeo4j,
  runQuery, runNamedQuery, listNamedQueries, Neo4jVectorIndex, pushEmbeddings, ensureVectorIndex,
  type Neo4jConnection, type PushOptions, type PushReport, type GraphSnapshot,
} from './graph/neo4j.ts';
export { externalNeuralSearch, topicQueries, type ExternalSearch } from './retrieval/neural.ts';
export { embedContentParallel } from './models/encode-worker.ts';
