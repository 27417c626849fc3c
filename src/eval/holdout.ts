/**
 * Scores every stage of a run on held-out topics: each retriever's ranked
 * list alone, the fused list, and (when reranked) the final thresholded
 * recommendations and the reranked order.
 */
import { evaluateRanked, evaluateSets, rankedById } from './metrics.ts';
import type { FusedCandidates } from '../retrieval/neural.ts';
import type { RecommendationTable } from '../io/table.ts';

export interface RankedScores {
  'recall@10': number;
  'recall@50': number;
  'recall@100': number;
  /** The fixed top-k cut with the best mean F2, and that F2. */
  bestTopK: number;
  f2AtBestTopK: number;
}

export interface StageScores {
  topics: number;
  candidatesPerTopic: number;
  neural: RankedScores;
  lexical: RankedScores;
  /** The sentence-vector list, when the run had one (retrieval.sentenceTopK). */
  sentence?: RankedScores;
  fused: RankedScores;
  /** The final recommendations (after the decision rule) and the reranked candidate order. */
  reranked?: RankedScores & { f2: number; precision: number; recall: number };
}

function ranked(ids: string[], lists: { rows: Uint32Array }[], answers: Map<string, Uint32Array>): RankedScores {
  const m = evaluateRanked(rankedById(ids, lists), answers, [10, 50, 100], []);
  return { 'recall@10': m.recall['recall@10'], 'recall@50': m.recall['recall@50'], 'recall@100': m.recall['recall@100'], bestTopK: m.best.k, f2AtBestTopK: m.best.f2 };
}

/**
 * One retriever's list: its own rows when the candidates carry them (the
 * learned fusion keeps only part of each list), else recovered from the
 * fused candidates by its ranks (reciprocal rank fusion keeps every item).
 */
export function sourceList(c: FusedCandidates, source: 'neural' | 'lexical' | 'sentence'): { rows: Uint32Array } {
  if (c.sources) return { rows: c.sources[source] ?? new Uint32Array(0) };
  const ranks = { neural: c.neuralRank, lexical: c.lexicalRank, sentence: c.sentenceRank }[source];
  if (!ranks) return { rows: new Uint32Array(0) };
  const order = Array.from(c.rows.keys()).filter((j) => ranks[j] > 0).sort((a, b) => ranks[a] - ranks[b]);
  return { rows: Uint32Array.from(order, (j) => c.rows[j]) };
}

/** The fused candidates of each topic ordered by reranker probability, highest first. */
export function rerankedLists(candidates: FusedCandidates[], probabilities: Float32Array[]): { rows: Uint32Array }[] {
  return candidates.map((c, i) => ({ rows: Uint32Array.from(Array.from(c.rows.keys()).sort((a, b) => probabilities[i][b] - probabilities[i][a]), (j) => c.rows[j]) }));
}

/** The recommended content of each topic in a table, by topic id. */
export function predictedSets(table: RecommendationTable): Map<string, number[]> {
  const predicted = new Map<string, number[]>();
  for (let i = 0; i < table.length; i++) {
    const id = table.topicIds[table.topic[i]];
    if (!predicted.has(id)) predicted.set(id, []);
    predicted.get(id)!.push(table.content[i]);
  }
  return predicted;
}

export function scoreStages(
  ids: string[],
  answers: Map<string, Uint32Array>,
  candidates: FusedCandidates[],
  /** The recommendations, and the scores that order each topic's reranked candidates (the reranker's probabilities, after content competition when it is on). */
  final?: { table: RecommendationTable; scores: Float32Array[] },
): StageScores {
  const scores: StageScores = {
    topics: ids.length,
    candidatesPerTopic: candidates.reduce((s, c) => s + c.rows.length, 0) / Math.max(1, ids.length),
    neural: ranked(ids, candidates.map((c) => sourceList(c, 'neural')), answers),
    lexical: ranked(ids, candidates.map((c) => sourceList(c, 'lexical')), answers),
    fused: ranked(ids, candidates, answers),
  };
  if (candidates.some((c) => c.sentenceRank)) scores.sentence = ranked(ids, candidates.map((c) => sourceList(c, 'sentence')), answers);
  if (final) {
    const { table, scores: ordered } = final;
    const sets = evaluateSets(predictedSets(table), answers);
    scores.reranked = { f2: sets.f2, precision: sets.precision, recall: sets.recall, ...ranked(ids, rerankedLists(candidates, ordered), answers) };
  }
  return scores;
}
