/**
 * The report's measured sections, computed from what a recommend run holds
 * in memory: per-stage recall@K curves, mean F2 against the reranker's
 * probability threshold, F2 per channel / language / level, and example
 * topics. All scores follow LECR (src/eval/metrics.ts): per-topic F2 of the
 * predicted set against the topic's gold set, averaged over topics with a
 * non-empty gold set.
 */
import { f2Score, scoreTopic } from '../eval/metrics.ts';
import { rerankedLists, sourceList, type StageScores } from '../pipeline/holdout.ts';
import { breadcrumb, type TopicForest } from '../graph/forest.ts';
import { groupByTopic, utf8At, type RecommendationTable } from '../io/table.ts';
import type { FusedCandidates } from '../retrieval/candidates.ts';
import type { Dataset } from '../data/types.ts';
import type { EvaluationSection, ExampleTopic, GroupScore, ThresholdCurve } from './types.ts';

/** What a recommend run produced, as the pipeline returns it (src/pipeline/recommend.ts). */
export interface RecommendRun {
  dataset: Dataset;
  forest: TopicForest;
  /** Topic rows recommended for; `table.topicIds[i]` is topic `topics[i]`. */
  topics: Uint32Array;
  /** The recommendations written. */
  table: RecommendationTable;
  /** Fused candidates per topic, aligned with `topics`. */
  candidates: FusedCandidates[];
  /** Reranker probabilities per topic, aligned with `candidates` (absent without a reranker). */
  probabilities?: Float32Array[];
  /** The scores the decision rule cut (default: `probabilities`; they differ with content competition). */
  scores?: Float32Array[];
  /** The decision rule the recommendations were cut with (absent without a reranker). */
  rule?: { threshold: number; margin: number; cap: number };
  /** Gold content rows per topic id; absent when the topics have no known answers. */
  answers?: Map<string, Uint32Array>;
}

/** Mean recall@K for K = 1..maxK over the topics with answers, in one pass per topic. [maxK] */
export function recallCurve(topicIds: readonly string[], lists: readonly { rows: Uint32Array }[], answers: Map<string, Uint32Array>, maxK: number): number[] {
  const sums = new Float64Array(maxK);
  let topics = 0;
  lists.forEach((list, i) => {
    const gold = answers.get(topicIds[i]);
    if (!gold || gold.length === 0) return;
    topics++;
    const goldSet = new Set(gold);
    const seen = new Set<number>();
    let hits = 0;
    for (let k = 0; k < maxK; k++) {
      if (k < list.rows.length) {
        const c = list.rows[k];
        if (goldSet.has(c) && !seen.has(c)) hits++;
        seen.add(c);
      }
      sums[k] += hits / goldSet.size;
    }
  });
  return Array.from(sums, (s) => (topics ? s / topics : 0));
}

/**
 * Mean F2 when each topic keeps the candidates whose score (probability, competed when on) is at least
 * a threshold, for every threshold in `thresholds`. Gold items the retriever
 * missed still count against recall.
 */
export function thresholdCurve(
  topicIds: readonly string[], candidates: readonly FusedCandidates[], probabilities: readonly Float32Array[],
  answers: Map<string, Uint32Array>, thresholds: readonly number[],
): Pick<ThresholdCurve, 'f2' | 'f2AtLeastOne'> {
  const f2 = new Float64Array(thresholds.length);
  const atLeastOne = new Float64Array(thresholds.length);
  let topics = 0;
  candidates.forEach((c, i) => {
    const gold = answers.get(topicIds[i]);
    if (!gold || gold.length === 0) return;
    topics++;
    const goldSet = new Set(gold);
    const p = probabilities[i];
    const order = Array.from(c.rows.keys()).sort((a, b) => p[b] - p[a]);
    // hitsAt[k]: gold items among the k most probable candidates.
    const hitsAt = new Uint32Array(order.length + 1);
    order.forEach((j, k) => (hitsAt[k + 1] = hitsAt[k] + (goldSet.has(c.rows[j]) ? 1 : 0)));
    const score = (k: number) => (k === 0 ? 0 : f2Score(hitsAt[k] / k, hitsAt[k] / goldSet.size));
    thresholds.forEach((threshold, ti) => {
      let k = 0;
      while (k < order.length && p[order[k]] >= threshold) k++;
      f2[ti] += score(k);
      atLeastOne[ti] += score(Math.max(k, Math.min(1, order.length)));
    });
  });
  const mean = (a: Float64Array) => Array.from(a, (s) => (topics ? s / topics : 0));
  return { f2: mean(f2), f2AtLeastOne: mean(atLeastOne) };
}

/** Predicted content rows per topic index of the table. */
function predictedSets(table: RecommendationTable): Uint32Array[] {
  const { start, order } = groupByTopic('report', table);
  return Array.from(table.topicIds, (_, t) => Uint32Array.from(order.subarray(start[t], start[t + 1]), (r) => table.content[r]));
}

/** Mean F2, precision and recall of the recommendations per channel, language and topic level. */
export function scoresByGroup(run: RecommendRun): GroupScore[] {
  const { dataset, topics, table, answers } = run;
  if (!answers) return [];
  const predicted = predictedSets(table);
  const groups = new Map<string, GroupScore>();
  topics.forEach((t, i) => {
    const gold = answers.get(dataset.topics[t].id);
    if (!gold || gold.length === 0) return;
    const s = scoreTopic(predicted[i], gold);
    const topic = dataset.topics[t];
    const keys: [GroupScore['by'], string][] = [['channel', topic.channel || '(none)'], ['language', topic.language || '(none)'], ['level', topic.level < 0 ? '(none)' : String(topic.level)]];
    for (const [by, group] of keys) {
      const key = `${by}\u0000${group}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { by, group, topics: 0, f2: 0, precision: 0, recall: 0 }));
      g.topics++;
      g.f2 += s.f2;
      g.precision += s.precision;
      g.recall += s.recall;
    }
  });
  const out = [...groups.values()].map((g) => ({ ...g, f2: g.f2 / g.topics, precision: g.precision / g.topics, recall: g.recall / g.topics }));
  const order: Record<GroupScore['by'], number> = { channel: 0, language: 1, level: 2 };
  return out.sort((a, b) => order[a.by] - order[b.by] || (a.by === 'level' ? Number(a.group) - Number(b.group) : b.topics - a.topics || a.group.localeCompare(b.group)));
}

const THRESHOLDS = Array.from({ length: 101 }, (_, i) => i / 100);

/** Scores of every stage on the run's topics with answers; undefined when there are none. */
export function evaluationSection(run: RecommendRun, scores: StageScores): EvaluationSection | undefined {
  const { dataset, topics, candidates, probabilities, answers } = run;
  if (!answers) return undefined;
  const ids = Array.from(topics, (t) => dataset.topics[t].id);
  // K up to the longest candidate list (the fused union of both retrievers), at most 100.
  const maxK = Math.max(1, Math.min(100, candidates.reduce((m, c) => Math.max(m, c.rows.length), 0)));
  const recallCurves = [
    { stage: 'lexical', recall: recallCurve(ids, candidates.map((c) => sourceList(c, 'lexical')), answers, maxK) },
    { stage: 'neural', recall: recallCurve(ids, candidates.map((c) => sourceList(c, 'neural')), answers, maxK) },
    { stage: 'fused', recall: recallCurve(ids, candidates, answers, maxK) },
  ];
  if (probabilities) recallCurves.push({ stage: 'reranked', recall: recallCurve(ids, rerankedLists(candidates, run.scores ?? probabilities), answers, maxK) });
  const row = (stage: string, s: StageScores['lexical']) => ({ stage, recall10: s['recall@10'], recall50: s['recall@50'], recall100: s['recall@100'], f2: s.f2AtBestTopK, cut: `best fixed top-${s.bestTopK}` });
  const summary = [row('lexical (TF-IDF)', scores.lexical), row('neural (two-tower)', scores.neural), row('fused candidates', scores.fused)];
  let threshold: ThresholdCurve | undefined;
  if (scores.reranked && probabilities) {
    summary.push(row('reranked order', scores.reranked));
    summary.push({ stage: 'final (decision rule)', recall10: NaN, recall50: NaN, recall100: NaN, f2: scores.reranked.f2, cut: `P ${scores.reranked.precision.toFixed(3)}, R ${scores.reranked.recall.toFixed(3)}` });
    threshold = { thresholds: THRESHOLDS, ...thresholdCurve(ids, candidates, run.scores ?? probabilities, answers, THRESHOLDS) };
    if (run.rule) threshold.rule = { ...run.rule, f2: scores.reranked.f2 };
  }
  return {
    topics: scores.topics,
    summary,
    recallCurves,
    threshold,
    thresholdMissing: threshold ? undefined : 'The run stopped after retrieval (no reranker), so there are no probabilities to threshold.',
    groups: scoresByGroup(run),
  };
}

/**
 * A few topics with their recommendations: with answers, the best, quartile,
 * median and worst topics by F2 (so the page shows the spread, not only
 * successes); without, topics spread evenly over the run.
 */
export function exampleTopics(run: RecommendRun, count = 5, itemsPerTopic = 10): ExampleTopic[] {
  const { dataset, forest, topics, table, answers } = run;
  const predicted = predictedSets(table);
  const { start, order } = groupByTopic('report', table);
  let picks: number[];
  const f2Of = new Map<number, number>();
  const withGold = answers ? Array.from(topics.keys()).filter((i) => (answers.get(dataset.topics[topics[i]].id)?.length ?? 0) > 0) : [];
  if (answers && withGold.length > 0) {
    for (const i of withGold) f2Of.set(i, scoreTopic(predicted[i], answers.get(dataset.topics[topics[i]].id)!).f2);
    const ranked = withGold.sort((a, b) => f2Of.get(b)! - f2Of.get(a)! || a - b);
    picks = spread(ranked, count);
  } else {
    picks = spread(Array.from(topics.keys()), count);
  }
  return picks.map((i) => {
    const t = topics[i];
    const gold = answers?.get(dataset.topics[t].id);
    const goldSet = gold ? new Set(gold) : undefined;
    const rows = Array.from(order.subarray(start[i], start[i + 1]));
    const items = rows.slice(0, itemsPerTopic).map((r) => {
      const c = table.content[r];
      const item = dataset.content[c];
      return { rank: table.rank[r], contentId: table.contentIds[c], title: item?.title ?? '', kind: item?.kind ?? '', score: table.score[r], explanation: utf8At(table.explanation, r), hit: goldSet ? goldSet.has(c) : undefined };
    });
    const example: ExampleTopic = { topicId: dataset.topics[t].id, breadcrumb: breadcrumb(forest, dataset, t), items, recommended: rows.length };
    if (gold && goldSet) {
      const recommended = new Set(predicted[i]);
      const missed = Array.from(gold).filter((c) => !recommended.has(c));
      example.gold = gold.length;
      example.f2 = f2Of.get(i) ?? scoreTopic(predicted[i], gold).f2;
      example.missed = { titles: missed.slice(0, 5).map((c) => dataset.content[c].title), count: missed.length };
    }
    return example;
  });
}

/** `count` entries of `list` at evenly spaced positions, first and last included. */
function spread<T>(list: T[], count: number): T[] {
  if (list.length <= count) return list;
  const out: T[] = [];
  for (let j = 0; j < count; j++) out.push(list[Math.round((j * (list.length - 1)) / (count - 1))]);
  return [...new Set(out)];
}
