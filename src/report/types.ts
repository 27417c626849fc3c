/**
 * What a run report holds: plain JSON-serialisable data, gathered by the
 * command that ran (src/cli) and rendered by html.ts. Every section but the
 * header is optional, and a missing section carries the reason it is missing
 * (e.g. no held-out answers to score against), which the page shows instead
 * of a plot.
 */

import type { CatalogueChanges, Drift } from '../pipeline/catalogue.ts';

/** One timed stage of the run. */
export interface StageTiming {
  name: string;
  seconds: number;
  /**
   * process.resourceUsage().maxRSS at the end of the stage, in bytes: the
   * peak resident memory of the process so far. Absent for sub-stages timed
   * inside a library call.
   */
  maxRssBytes?: number;
  /** A stage timed inside another (e.g. the two-tower epochs inside train). */
  parent?: string;
}

/** One epoch of two-tower training (the model's meta.training.history). */
export interface EpochPoint {
  epoch: number;
  loss: number;
  validationRecall: number;
  learningRate: number;
  seconds: number;
  best: boolean;
}

export interface TrainingSection {
  history: EpochPoint[];
  /** The K of validation recall@K. */
  recallK: number;
  /** Validation recall of the untrained model (NaN when training resumed). */
  initialRecall: number;
  bestEpoch: number;
  examplesPerSecond: number;
  /** 'this run' or where the history was read from (e.g. the model folder). */
  source: string;
}

/** recall@K of one stage's ranked lists, K = 1 .. recall.length. */
export interface RecallCurve {
  stage: string;
  recall: number[];
}

/** Mean F2 of the reranked candidates kept by a score threshold alone (the probability, after content competition when on). */
export interface ThresholdCurve {
  thresholds: number[];
  /** Keep every candidate with p >= threshold (a topic may keep none: F2 0). */
  f2: number[];
  /** The same, keeping at least each topic's top candidate. */
  f2AtLeastOne: number[];
  /** The decision rule the model learned (threshold, margin, cap) and its F2 on these topics. */
  rule?: { threshold: number; margin: number; cap: number; f2: number };
}

export interface GroupScore {
  by: 'channel' | 'language' | 'level';
  group: string;
  topics: number;
  f2: number;
  precision: number;
  recall: number;
}

/** Scores on topics with known answers (held-out topics). */
export interface EvaluationSection {
  topics: number;
  /** Per-stage summary rows (name, recall@10, recall@50, recall@100, F2 and how it was cut). */
  summary: { stage: string; recall10: number; recall50: number; recall100: number; f2: number; cut: string }[];
  recallCurves: RecallCurve[];
  /** Absent when the run had no reranker. */
  threshold?: ThresholdCurve;
  thresholdMissing?: string;
  groups: GroupScore[];
}

export interface ExampleItem {
  rank: number;
  contentId: string;
  title: string;
  kind: string;
  score: number;
  explanation: string;
  /** In the topic's answers (absent when there are none). */
  hit?: boolean;
}

export interface ExampleTopic {
  topicId: string;
  breadcrumb: string;
  /** Answers known for the topic (absent when none). */
  gold?: number;
  f2?: number;
  /** The first recommendations, best first. */
  items: ExampleItem[];
  /** How many the topic got in all. */
  recommended: number;
  /** Gold items not recommended (titles, the first few) and how many in all. */
  missed?: { titles: string[]; count: number };
}

export interface DatasetSection {
  source: string;
  topics: number;
  content: number;
  links: number;
  topicsWithContent: number;
  channels: number;
  languages: string[];
  /** Topics whose links were hidden (held out), when any. */
  heldOut?: number;
  /** Topics recommended for, when the run recommended. */
  predicted?: number;
}

export interface RunReport {
  runId: string;
  /** The trellis command: 'demo', 'train', 'recommend'. */
  command: string;
  argv: string[];
  startedAt: string;
  finishedAt: string;
  environment: { node: string; platform: string; cpus: number; backend?: string };
  model?: { id: string; dir: string };
  /** The run configuration (JSON). */
  config?: unknown;
  dataset?: DatasetSection;
  stages: StageTiming[];
  /** Peak resident memory of the whole run, in bytes. */
  peakRssBytes: number;
  training?: TrainingSection;
  trainingMissing?: string;
  evaluation?: EvaluationSection;
  /** Why there is no evaluation (e.g. no answers for the recommended topics). */
  evaluationMissing?: string;
  examples: ExampleTopic[];
  examplesMissing?: string;
  /** Output files the run wrote. */
  outputs: { label: string; path: string }[];
  /** How the catalogue changed since the model's index was built, and drifted since training. */
  catalogue?: CatalogueSection;
}

/** How the catalogue changed since the model's index was built (counts), and its drift since training. */
export interface CatalogueSection {
  changes: CatalogueChanges['counts'];
  drift: Drift;
}
