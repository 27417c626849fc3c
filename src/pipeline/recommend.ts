/**
 * `trellis recommend`: candidates from the trained two-tower model (ANN index)
 * joined with lexical candidates, fused into one ranked list per topic.
 */
import { join } from 'node:path';
import { PartitionedIndex } from '../ann/partitioned.ts';
import { buildLexicalIndex, lexicalSearch } from '../retrieval/lexical.ts';
import { fuseCandidates, neuralSearch, type FusedCandidates } from '../retrieval/neural.ts';
import { buildTowerData } from '../models/tower-data.ts';
import { loadModel, type ModelMeta } from '../models/artifact.ts';
import { RecommendationTableBuilder, type RecommendationTable } from '../io/table.ts';
import type { Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';

export interface RetrieveJob {
  dataset: Dataset;
  forest: TopicForest;
  modelDir: string;
  /** Topic rows to recommend for. */
  topics: Uint32Array;
  /** Neural candidates per topic (default: the model's retrieval.topK). */
  topK?: number;
  /** Lexical candidates per topic (default: the model's retrieval.lexicalTopK). */
  lexicalTopK?: number;
  log: (line: string) => void;
}

export interface RetrieveResult {
  meta: ModelMeta;
  candidates: FusedCandidates[];
  seconds: { load: number; neural: number; lexical: number };
}

export async function retrieveCandidates(job: RetrieveJob): Promise<RetrieveResult> {
  const { dataset, forest, topics, log } = job;
  const t0 = performance.now();
  const { model, meta } = await loadModel(job.modelDir, dataset);
  try {
    const index = PartitionedIndex.load(join(job.modelDir, 'index'), { dimension: meta.shape.encoder.dim, modelId: meta.modelId });
    const config = meta.config;
    const lexical = buildLexicalIndex(dataset, config.lexical);
    const data = buildTowerData(dataset, forest, lexical.model, config.encoder.maxFeatures, undefined, meta.kinds, meta.languages);
    const t1 = performance.now();
    log(`model ${meta.modelId} loaded in ${((t1 - t0) / 1000).toFixed(1)} s`);
    const neural = neuralSearch(model, data, index, topics, job.topK ?? config.retrieval.topK, config.graphsage.fanouts, meta.seed);
    const t2 = performance.now();
    const lexicalTopK = job.lexicalTopK ?? config.retrieval.lexicalTopK;
    const lexicalLists = lexicalTopK > 0 ? lexicalSearch(lexical, dataset, forest, topics, lexicalTopK) : topics.length ? Array.from(topics, () => ({ rows: new Uint32Array(0), scores: new Float32Array(0) })) : [];
    const t3 = performance.now();
    log(`retrieved candidates for ${topics.length} topics (neural ${((t2 - t1) / 1000).toFixed(1)} s, lexical ${((t3 - t2) / 1000).toFixed(1)} s)`);
    const candidates = neural.map((list, i) => fuseCandidates(list, lexicalLists[i]));
    return { meta, candidates, seconds: { load: (t1 - t0) / 1000, neural: (t2 - t1) / 1000, lexical: (t3 - t2) / 1000 } };
  } finally {
    model.dispose();
  }
}

/** Which retriever found an item, for the export's explanation column. */
export function retrievalExplanation(c: FusedCandidates, j: number): string {
  const parts: string[] = [];
  if (c.neuralRank[j]) parts.push(`neural #${c.neuralRank[j]}`);
  if (c.lexicalRank[j]) parts.push(`lexical #${c.lexicalRank[j]}`);
  return parts.join(', ');
}

/** The fused candidate lists as a recommendation table (stage scores: retrieval cosine, lexical TF-IDF, fused). */
export function retrievalTable(dataset: Dataset, topics: Uint32Array, candidates: FusedCandidates[], limit = Infinity): RecommendationTable {
  const builder = new RecommendationTableBuilder(['retrieval', 'lexical', 'fused'], Array.from(topics, (t) => dataset.topics[t].id), dataset.content.map((c) => c.id));
  candidates.forEach((c, i) => {
    for (let j = 0; j < Math.min(limit, c.rows.length); j++) {
      builder.add({ topic: i, content: c.rows[j], rank: j + 1, score: c.fused[j], stages: { retrieval: c.neural[j], lexical: c.lexical[j], fused: c.fused[j] }, explanation: retrievalExplanation(c, j) });
    }
  });
  return builder.build();
}
