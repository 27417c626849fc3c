/**
 * Neural candidate generation: content embeddings from the candidate tower in
 * an ANN index with one partition per content language (no filter callbacks:
 * a topic searches the partition of its own language), topic embeddings from
 * the query tower, top-k by cosine. And the fusion of neural and lexical
 * candidates into one list per topic.
 */
import { PartitionedIndex } from '../ann/partitioned.ts';
import { deriveSeed, rngFor } from '../random.ts';
import { embedTopics, gatherVectors, type PretrainedVectors, type TowerData } from '../models/tower-data.ts';
import { embedContentParallel } from '../models/encode-worker.ts';
import type { TwoTowerModel } from '../models/two-tower.ts';
import { type IndexConfig } from './config.ts';
import { languageRoute, type Candidates } from './candidates.ts';
import type { SearchResult } from '../ann/types.ts';

/**
 * Builds the content index of a trained model. Large catalogues are encoded
 * on worker threads (one per core), and language partitions are built side by
 * side on worker threads.
 */
export async function buildContentIndex(model: TwoTowerModel, data: TowerData, config: IndexConfig, seed: number, onProgress?: (done: number, total: number) => void): Promise<PartitionedIndex> {
  const vectors = await embedContentParallel(model, data);
  const index = new PartitionedIndex(model.shape.encoder.dim, {
    kind: config.kind,
    hnsw: { m: config.M, efConstruction: config.efConstruction, efSearch: config.efSearch, seed: deriveSeed(seed, 'hnsw') },
    // Models saved before index.shardRows existed have no such key.
    shardRows: config.shardRows ?? 0,
  });
  await index.addGroupedParallel(vectors, Uint32Array.from(data.dataset.content.keys()), data.dataset.content.map((c) => c.language), { onProgress });
  return index;
}

/**
 * Topic embeddings for retrieval (neighbourhoods sampled with a seed-derived
 * generator). `links`: the visible links, which a hetero aggregator reads. [topics * D]
 */
export function topicQueries(model: TwoTowerModel, data: TowerData, topics: ArrayLike<number>, fanouts: readonly number[], seed: number, links?: readonly Uint32Array[]): Float32Array {
  return embedTopics(model, data, topics, fanouts, rngFor(seed, 'recommend/sample'), links);
}

/** A search over another index with the same result contract (e.g. Neo4j's vector index), unpartitioned. */
export type ExternalSearch = (queries: Float32Array, k: number) => Promise<SearchResult[]>;

/**
 * Top-k content per topic from an external, unpartitioned index: asks for
 * `k * overfetch` and keeps the best k in the topic's language.
 */
export async function externalNeuralSearch(search: ExternalSearch, data: TowerData, topics: ArrayLike<number>, queries: Float32Array, k: number, overfetch = 2): Promise<Candidates[]> {
  const results = await search(queries, k * overfetch);
  return results.map((r, i) => {
    const language = data.dataset.topics[topics[i]].language;
    const keep = Array.from(r.labels.keys()).filter((j) => language === '' || data.dataset.content[r.labels[j]].language === language).slice(0, k);
    return { rows: Uint32Array.from(keep, (j) => r.labels[j]), scores: Float32Array.from(keep, (j) => r.scores[j]) };
  });
}

/**
 * Top-k content per topic row for its query vector (`topicQueries`), within
 * the topic's language (all languages for a topic without one). The index's
 * labels are content rows, or go through `rowOfLabel` when the catalogue
 * changed since the index was built (pipeline/catalogue.ts).
 */
export function neuralSearch(data: TowerData, index: PartitionedIndex, topics: ArrayLike<number>, queries: Float32Array, k: number, rowOfLabel?: Int32Array): Candidates[] {
  return index.searchBatch(queries, k, languageRoutes(data, index, topics)).map((r) => {
    if (!rowOfLabel) return { rows: r.labels, scores: r.scores };
    const keep = Array.from(r.labels.keys()).filter((i) => rowOfLabel[r.labels[i]] >= 0);
    return { rows: Uint32Array.from(keep, (i) => rowOfLabel[r.labels[i]]), scores: Float32Array.from(keep, (i) => r.scores[i]) };
  });
}

/** The partitions each topic searches (`languageRoute`). */
function languageRoutes(data: TowerData, index: PartitionedIndex, topics: ArrayLike<number>): string[][] {
  const keys = index.keys();
  return Array.from(topics, (t) => languageRoute(data.dataset.topics[t].language, keys));
}

/**
 * Exact cosine search over the pretrained sentence vectors (retrieval.sentenceTopK):
 * one brute-force partition per content language, searched like the neural index.
 */
export function sentenceIndex(vectors: PretrainedVectors, data: TowerData): PartitionedIndex {
  const index = new PartitionedIndex(vectors.dim, { kind: 'brute-force' });
  index.addGrouped(vectors.content, Uint32Array.from(data.dataset.content.keys()), data.dataset.content.map((c) => c.language));
  return index;
}

/** Top-k content per topic row by sentence-vector cosine, within the topic's language. */
export function sentenceSearch(vectors: PretrainedVectors, data: TowerData, index: PartitionedIndex, topics: ArrayLike<number>, k: number): Candidates[] {
  return index.searchBatch(gatherVectors(vectors.topics, vectors.dim, topics), k, languageRoutes(data, index, topics)).map((r) => ({ rows: r.labels, scores: r.scores }));
}

/**
 * Cosine of topic `t`'s and each candidate's pretrained sentence vectors
 * (before the towers' projection). [rows.length]
 */
export function sentenceCosines(vectors: PretrainedVectors, t: number, rows: Uint32Array): Float32Array {
  const { dim, topics, content } = vectors;
  const q = topics.subarray(t * dim, (t + 1) * dim);
  let qq = 0;
  for (let d = 0; d < dim; d++) qq += q[d] * q[d];
  const out = new Float32Array(rows.length);
  rows.forEach((c, j) => {
    const v = content.subarray(c * dim, (c + 1) * dim);
    let dot = 0;
    let vv = 0;
    for (let d = 0; d < dim; d++) {
      dot += q[d] * v[d];
      vv += v[d] * v[d];
    }
    out[j] = qq > 0 && vv > 0 ? dot / Math.sqrt(qq * vv) : 0;
  });
  return out;
}

