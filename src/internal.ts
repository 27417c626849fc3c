/**
 * Internals the benchmark and probe scripts under scripts/ reach for (the
 * public API is ./index.ts). Nothing here is a stable interface: names and
 * shapes change with the code they come from.
 */
export { tf } from './runtime/tf.ts';
export { batchMatMul } from './runtime/ops.ts';
export { syntheticVectors } from './ann/synthetic.ts';
export { subsampleDataset, type SubsampleOptions } from './data/subsample.ts';
export { encodeMetadata, recommendationSchema, recordBatches, type StringColumnMode } from './io/arrow.ts';
export { clearGraph, dropEmbeddings, readRecommendationFile, totals } from './graph/neo4j.ts';
export { languageRoute } from './retrieval/candidates.ts';
export { fitFusion, scorePool, FUSION_FEATURES, FUSION_FEATURE_NAMES, type FusionPool } from './retrieval/fusion.ts';
export { competeScores } from './rerank/compete.ts';
export { keepCount, parseCutoff } from './rerank/cutoff.ts';
export type { PairSet } from './rerank/tokens.ts';
export { linkContext, topicPriors } from './pipeline/rerank.ts';
export { candidateDepth, fusionPools, modelContext } from './pipeline/recommend.ts';
export { predictedSets, rerankedLists, sourceList, type RankedScores } from './pipeline/holdout.ts';
export { loadLexical, rerankerDir, saveCatalogue, saveIndex } from './pipeline/artifact.ts';
export { contentInputs } from './models/tower-data.ts';
export { checkInChromium } from './report/chromium.ts';
