import { buildForest, resolveRunConfig, type Dataset, type TopicForest } from '../../src/index.ts';
import { runTraining } from '../../src/pipeline/train.ts';
import { openModel, type ModelFolder } from '../../src/pipeline/artifact.ts';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { splitTopics, type Split } from '../../src/eval/split.ts';

/**
 * A small synthetic catalogue (2 channels, 5 items a leaf), a 25% topic
 * holdout (seed 42) and a model trained on it into `modelDir` with the
 * `graphsage` section given: the pipeline tests of the graph variants.
 * Small towers and index, no reranker.
 */
export async function trainSyntheticModel(modelDir: string, graphsage: Record<string, unknown>): Promise<{ synthetic: Dataset; forest: TopicForest; split: Split; folder: ModelFolder }> {
  const synthetic = syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 7 });
  const forest = buildForest(synthetic);
  const config = resolveRunConfig({
    lexical: { buckets: 1 << 14 },
    encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
    graphsage,
    training: { epochs: 2, batchSize: 16, patience: 3 },
    index: { M: 8, efConstruction: 50, efSearch: 50 },
    retrieval: { topK: 10, lexicalTopK: 10, fusionDepth: 20, fusedTopK: 15 },
    rerank: { enabled: false },
  });
  const split = splitTopics(synthetic, { fraction: 0.25, seed: 42 });
  await runTraining({ dataset: synthetic, forest, config, seed: 42, modelDir, split, backend: 'test', log: () => {} });
  return { synthetic, forest, split, folder: await openModel(modelDir) };
}
