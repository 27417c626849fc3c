/** The run report: data shape, measures, rendering and writing. */
export type { RunReport, StageTiming, EpochPoint, TrainingSection, RecallCurve, ThresholdCurve, GroupScore, EvaluationSection, ExampleItem, ExampleTopic, DatasetSection } from './types.ts';
export { recallCurve, thresholdCurve, scoresByGroup, evaluationSection, exampleTopics, type RecommendRun } from './collect.ts';
export { renderSvg } from './charts.ts';
export { renderReport, escapeHtml, SECTIONS } from './html.ts';
export { makeRunId, freeRunId, writeRunReport } from './write.ts';
