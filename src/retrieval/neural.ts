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
import type { IndexConfig } from '../models/config.ts';
import { languageRoute, type Candidates } from './lexical.ts';
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

/** Topic embeddings for retrieval (neighbourhoods sampled with a seed-derived generator). [topics * D] */
export function topicQueries(model: TwoTowerModel, data: TowerData, topics: ArrayLike<number>, fanouts: readonly number[], seed: number): Float32Array {
  return embedTopics(model, data, topics, fanouts, rngFor(seed, 'recommend/sample'));
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

/** Top-k content per topic row for its query vector (`topicQueries`), within the topic's language (all languages for a topic without one). */
export function neuralSearch(data: TowerData, index: PartitionedIndex, topics: ArrayLike<number>, queries: Float32Array, k: number): Candidates[] {
  return index.searchBatch(queries, k, languageRoutes(data, index, topics)).map((r) => ({ rows: r.labels, scores: r.scores }));
}

/** The partitions each topic searches (`languageRoute`). */
function languageRoutes(data: TowerData, index: PartitionedIndex, topics: ArrayLike<number>): string[][] {
  const keys = index.keys();
  return Array.from(topics, (t) => languageRoute(data.dataset.topics[t].language, keys));
}

/**
 * A neural list cut to its top `k`, then extended with up to `extra` items
 * from further down that no visible topic links yet (`placed[row] === 0`),
 * in their order. `deep` is the neural list searched deeper than `k`.
 */
export function withUnplaced(deep: Candidates, k: number, extra: number, placed: ArrayLike<number>): Candidates {
  const keep: number[] = [];
  for (let i = 0; i < deep.rows.length && keep.length < k + extra; i++) {
    if (i < k || placed[deep.rows[i]] === 0) keep.push(i);
  }
  return { rows: Uint32Array.from(keep, (i) => deep.rows[i]), scores: Float32Array.from(keep, (i) => deep.scores[i]), ranks: Uint32Array.from(keep, (i) => i + 1) };
}

/** One topic's fused candidates: every item any retriever found, with their scores and ranks. */
export interface FusedCandidates {
  /** Content rows, ordered by fused score. [n] */
  rows: Uint32Array;
  /** Reciprocal-rank-fusion score. [n] */
  fused: Float32Array;
  /** Cosine from the neural retriever (NaN when it did not find the item). [n] */
  neural: Float32Array;
  /** TF-IDF cosine (NaN when the lexical retriever did not find the item). [n] */
  lexical: Float32Array;
  /** 1-based ranks in each list (0 when absent). [n] */
  neuralRank: Int32Array;
  lexicalRank: Int32Array;
  /** 1-based ranks in the sentence-vector list (retrieval.sentenceTopK; 0 when absent). [n] */
  sentenceRank?: Int32Array;
  /** Cosine of the pretrained encoder's own sentence vectors (pretrained encoders only). [n] */
  sentence?: Float32Array;
  /**
   * Each retriever's own ranked list (its first SOURCE_ROWS rows) when the
   * candidates keep only part of the lists (the learned fusion): the
   * retrievers are scored on these, not on what the fusion kept.
   */
  sources?: { neural: Uint32Array; lexical: Uint32Array; sentence?: Uint32Array };
}

/** Rows of each retriever's list kept in `FusedCandidates.sources`: enough for recall@100. */
export const SOURCE_ROWS = 100;

/**
 * The union of ranked lists: each item once, in order of first appearance,
 * with its 1-based rank in each list (the list's own ranks when it has them;
 * 0 when absent) and its score there (NaN when absent). Absent lists are
 * empty columns.
 */
export function joinLists(lists: readonly (Candidates | undefined)[]): { rows: Uint32Array; ranks: Int32Array[]; scores: Float32Array[] } {
  const order: number[] = [];
  const slot = new Map<number, number>();
  const entries: { list: number; at: number; rank: number; score: number }[] = [];
  lists.forEach((list, l) => {
    list?.rows.forEach((row, i) => {
      let j = slot.get(row);
      if (j === undefined) {
        slot.set(row, (j = order.length));
        order.push(row);
      }
      entries.push({ list: l, at: j, rank: list.ranks ? list.ranks[i] : i + 1, score: list.scores[i] });
    });
  });
  const ranks = lists.map(() => new Int32Array(order.length));
  const scores = lists.map(() => new Float32Array(order.length).fill(NaN));
  for (const e of entries) {
    ranks[e.list][e.at] = e.rank;
    scores[e.list][e.at] = e.score;
  }
  return { rows: Uint32Array.from(order), ranks, scores };
}

/**
 * Union of ranked lists (neural, lexical and optionally the sentence-vector
 * list), ordered by reciprocal rank fusion (Cormack et al., SIGIR 2009): sum
 * over lists of 1 / (c + rank), c = 60, with each list's own ranks when it
 * has them.
 */
export function fuseCandidates(neural: Candidates, lexical: Candidates, sentence?: Candidates, c = 60): FusedCandidates {
  const joined = joinLists(sentence ? [neural, lexical, sentence] : [neural, lexical]);
  const fusedScore = Array.from(joined.rows, (_, j) => joined.ranks.reduce((sum, ranks) => (ranks[j] > 0 ? sum + 1 / (c + ranks[j]) : sum), 0));
  const order = Array.from(joined.rows.keys()).sort((a, b) => fusedScore[b] - fusedScore[a] || joined.rows[a] - joined.rows[b]);
  const fused: FusedCandidates = {
    rows: Uint32Array.from(order, (j) => joined.rows[j]),
    fused: Float32Array.from(order, (j) => fusedScore[j]),
    neural: Float32Array.from(order, (j) => joined.scores[0][j]),
    lexical: Float32Array.from(order, (j) => joined.scores[1][j]),
    neuralRank: Int32Array.from(order, (j) => joined.ranks[0][j]),
    lexicalRank: Int32Array.from(order, (j) => joined.ranks[1][j]),
  };
  if (sentence) fused.sentenceRank = Int32Array.from(order, (j) => joined.ranks[2][j]);
  return fused;
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

/** Which retriever found an item, for the export's explanation column. */
export function retrievalExplanation(c: FusedCandidates, j: number): string {
  const parts: string[] = [];
  if (c.neuralRank[j]) parts.push(`neural #${c.neuralRank[j]}`);
  if (c.lexicalRank[j]) parts.push(`lexical #${c.lexicalRank[j]}`);
  if (c.sentenceRank?.[j]) parts.push(`sentence #${c.sentenceRank[j]}`);
  return parts.join(', ');
}
