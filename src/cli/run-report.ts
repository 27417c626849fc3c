/**
 * The command-line side of the run report: the --report / --no-report flags,
 * stage timing with peak memory, and gathering what a command did into the
 * RunReport that src/report renders. `train`, `recommend` and `demo` each
 * make one RunRecorder, time their stages through it and call `finish()`.
 */
import { statSync } from 'node:fs';
import { cpus } from 'node:os';
import { UsageError } from '../errors.ts';
import type { Dataset } from '../data/types.ts';
import type { ModelMeta } from '../pipeline/artifact.ts';
import type { StageScores } from '../pipeline/holdout.ts';
import type { EvaluationSection, ExampleTopic, RunReport, StageTiming, TrainingSection, RecommendRun } from '../report/index.ts';
import { optionalString, type ParsedArgs } from './command.ts';
import { emit } from './log.ts';

export const REPORT_OPTIONS = {
  report: { type: 'string', description: 'root folder of the run report (default: $TRELLIS_REPORTS, else reports): the page goes to DIR/<run-id>/index.html', valueName: 'DIR' },
  'no-report': { type: 'boolean', description: 'do not write the run report' },
} as const;

export const LOG_JSON_OPTION = {
  type: 'boolean',
  description: 'status and progress on stderr as JSON lines ({"t","event","step","done","total","rate",...}); stdout keeps the results',
} as const;

/** Help text shared by the commands that write a report. */
export const REPORT_DETAILS = [
  'Run report: reports/<run-id>/index.html (run id: time stamp and command, e.g. 20261123-191500-demo), one',
  'self-contained HTML page that opens offline: config, dataset sizes, stage timings and peak memory, training',
  'curves, and with held-out answers recall@K per stage, F2 against threshold, F2 per channel/language/level,',
  'and example topics with their recommendations. --report DIR changes the root, --no-report skips it.',
].join('\n');

const maxRss = () => process.resourceUsage().maxRSS * 1024;

export class RunRecorder {
  readonly startedAt = new Date();
  readonly stages: StageTiming[] = [];
  /** The report's sections, filled in by the command. */
  readonly report: Omit<RunReport, 'runId' | 'command' | 'argv' | 'startedAt' | 'finishedAt' | 'stages' | 'peakRssBytes' | 'environment'> & { backend?: string };
  private readonly root: string | undefined;

  constructor(readonly command: string, args: ParsedArgs) {
    this.root = args.values['no-report'] === true ? undefined : optionalString(args, 'report') ?? (process.env.TRELLIS_REPORTS || 'reports');
    if (args.values['no-report'] === true && args.values.report !== undefined) {
      throw new UsageError(`trellis ${command}: --report and --no-report exclude each other.`);
    }
    if (this.root !== undefined) {
      let isFolder = true;
      try {
        isFolder = statSync(this.root).isDirectory();
      } catch {
        // Not there yet: created when the report is written.
      }
      if (!isFolder) throw new UsageError(`trellis ${command}: --report must name a folder (got the file ${JSON.stringify(this.root)}).`, 'Pass a folder, or --no-report.');
    }
    this.report = { examples: [], outputs: [] };
  }

  /** Runs `fn` as a stage: its wall time and the peak RSS at its end go into the report (and a JSON "stage" event). */
  async stage<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    const result = await fn();
    this.record(name, (performance.now() - t0) / 1000);
    return result;
  }

  /** Records a stage timed elsewhere; `parent` marks a part of a stage recorded before. */
  record(name: string, seconds: number, parent?: string): void {
    const timing: StageTiming = parent ? { name, seconds, parent } : { name, seconds, maxRssBytes: maxRss() };
    this.stages.push(timing);
    emit('stage', { stage: name, ...(parent ? { parent } : {}), seconds: Math.round(seconds * 1000) / 1000, ...(parent ? {} : { maxRssMB: Math.round(maxRss() / 2 ** 20) }) });
  }

  dataset(dataset: Dataset, source: string, extra: { heldOut?: number; predicted?: number } = {}): void {
    const links = dataset.links.reduce((s, l) => s + l.length, 0);
    this.report.dataset = {
      source,
      topics: dataset.topics.length,
      content: dataset.content.length,
      links,
      topicsWithContent: dataset.links.reduce((s, l) => s + (l.length > 0 ? 1 : 0), 0),
      channels: new Set(dataset.topics.map((t) => t.channel)).size,
      languages: [...new Set([...dataset.topics.map((t) => t.language), ...dataset.content.map((c) => c.language)].filter((l) => l !== ''))].sort(),
      ...extra,
    };
  }

  /** The training section from a model's metadata (this run's, or the model a recommend run used). */
  training(meta: ModelMeta, source: string): void {
    const t = meta.training;
    const section: TrainingSection = {
      history: t.history.map((h) => ({ epoch: h.epoch, loss: h.loss, validationRecall: h.validationRecall, learningRate: h.learningRate, seconds: h.seconds, best: h.best })),
      recallK: meta.config.training.recallK,
      initialRecall: t.initialRecall,
      bestEpoch: t.bestEpoch,
      examplesPerSecond: t.examplesPerSecond,
      source,
    };
    this.report.training = section;
    this.report.model = { id: meta.modelId, dir: this.report.model?.dir ?? '' };
  }

  /** The evaluation and example sections of a recommend run (lazily loads the report library). */
  async recommendations(run: RecommendRun, scores: StageScores | undefined, missing: string): Promise<void> {
    if (this.root === undefined) return;
    const { evaluationSection, exampleTopics } = await import('../report/index.ts');
    const evaluation: EvaluationSection | undefined = run.answers && scores ? evaluationSection(run, scores) : undefined;
    if (evaluation) this.report.evaluation = evaluation;
    else this.report.evaluationMissing = missing;
    const examples: ExampleTopic[] = exampleTopics(run);
    this.report.examples = examples;
  }

  output(label: string, path: string): void {
    this.report.outputs.push({ label, path });
  }

  /** Writes the report (unless --no-report) and says where; returns its path. */
  async finish(): Promise<string | undefined> {
    if (this.root === undefined) return undefined;
    const root = this.root;
    const t0 = performance.now();
    const { makeRunId, freeRunId, writeRunReport } = await import('../report/index.ts');
    const runId = freeRunId(root, makeRunId(this.command, this.startedAt));
    const { backend, ...sections } = this.report;
    const build = (): RunReport => ({
      runId,
      command: this.command,
      argv: process.argv.slice(2),
      startedAt: this.startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      environment: { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: cpus().length, ...(backend ? { backend } : {}) },
      ...sections,
      stages: this.stages,
      peakRssBytes: maxRss(),
    });
    let path: string;
    try {
      path = await writeRunReport(root, build());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!code) throw error;
      throw new UsageError(`trellis ${this.command}: cannot write the run report under ${JSON.stringify(root)} (${code}).`, 'Pass --report DIR with a writable folder, or --no-report.');
    }
    // The page cannot hold its own rendering time: that goes to the log only.
    emit('stage', { stage: 'report', seconds: Math.round(performance.now() - t0) / 1000 });
    emit('report', { path }, `run report: ${path}`);
    return path;
  }
}
