/**
 * Evaluation on held-out topics: `runHoldout` trains with their links hidden,
 * recommends for them and scores every stage (`scoreStages`): each
 * retriever's ranked list alone, the fused list, and (when reranked) the
 * final thresholded recommendations and the reranked order. `trellis demo`
 * and the benchmarks run it.
 */
import { evaluateRanked, evaluateSets, rankedById } from '../eval/metrics.ts';
import { answersOf, type Split } from '../eval/split.ts';
import type { FusedCandidates } from '../retrieval/candidates.ts';
import type { RecommendationTable } from '../io/table.ts';
import { openModel, type ModelFolder } from './artifact.ts';
import { runTraining, type TrainJob, type TrainSummary } from './train.ts';
import { recommendTopics, type RecommendJob, type RecommendResult } from './recommend.ts';

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
  reranked?: RankedScores & {
    f2: number;
    precision: number;
    recall: number;
    /** What the global rule would have kept, when a per-topic cut-off chose the recommendations. */
    rule?: { f2: number; precision: number; recall: number };
  };
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
  /**
   * The recommendations, the scores that order each topic's reranked
   * candidates (the reranker's probabilities, after content competition
   * when it is on), and, when a per-topic cut-off made the recommendations,
   * what the global rule keeps of each topic's candidates.
   */
  final?: { table: RecommendationTable; scores: Float32Array[]; ruleKept?: Uint32Array[] },
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
    if (final.ruleKept) {
      const rule = evaluateSets(new Map(ids.map((id, i) => [id, Array.from(final.ruleKept![i], (j) => candidates[i].rows[j])])), answers);
      scores.reranked.rule = { f2: rule.f2, precision: rule.precision, recall: rule.recall };
    }
  }
  return scores;
}

export interface HoldoutJob extends TrainJob {
  /** The held-out topics: their links are hidden from training, and they are the ones recommended for and scored. */
  split: Split;
  /** How far the recommendations go (default: 'full' when the config reranks, else 'retrieve'), and their progress. */
  recommend?: Partial<RecommendJob>;
  /** Runs each named step ('train', 'recommend', 'score'); e.g. to time it. Default: just runs it. */
  step?: <T>(name: 'train' | 'recommend' | 'score', run: () => Promise<T>) => Promise<T>;
  /** Called when training is done, and when the recommendations are. */
  onTrained?: (summary: TrainSummary) => void;
  onRecommended?: (result: RecommendResult) => void;
}

export interface HoldoutResult {
  trained: TrainSummary;
  folder: ModelFolder;
  result: RecommendResult;
  /** Ids of the held-out topics, in the order of `result`, and their links. */
  ids: string[];
  answers: Map<string, Uint32Array>;
  scores: StageScores;
}

/** Trains with the held-out topics' links hidden, recommends for those topics and scores every stage. */
export async function runHoldout(job: HoldoutJob): Promise<HoldoutResult> {
  const step = job.step ?? (<T>(_: string, run: () => Promise<T>) => run());
  const { dataset, forest, split, config } = job;
  const trained = await step('train', () => runTraining(job));
  job.onTrained?.(trained);
  const folder = await openModel(job.modelDir);
  const stage = config.rerank.enabled && folder.hasReranker ? 'full' : 'retrieve';
  const result = await step('recommend', () => recommendTopics(folder, dataset, forest, split.heldOut, { stage, log: job.log, ...job.recommend }));
  job.onRecommended?.(result);
  const ids = Array.from(split.heldOut, (t) => dataset.topics[t].id);
  const answers = answersOf(dataset, split.heldOut);
  const scores = await step('score', async () => scoreStages(ids, answers, result.candidates, result.scores ? { table: result.table, scores: result.scores, ruleKept: result.cutoff && result.ruleKept } : undefined));
  return { trained, folder, result, ids, answers, scores };
}
