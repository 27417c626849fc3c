import { join, basename, resolve } from 'node:path';
import { initRuntime } from '../../runtime/backend.ts';
import { runTraining, type TrainSummary } from '../../pipeline/train.ts';
import { UsageError } from '../../errors.ts';
import { epochProgress, progressCallback } from '../log.ts';
import { LOG_JSON_OPTION, REPORT_DETAILS, REPORT_OPTIONS, RunRecorder } from '../run-report.ts';
import { numberOption, optionalString, presetFromArgs, requireString, runConfigFromArgs, SHARED_OPTIONS, type Command } from '../command.ts';
import { loadDataFrom, log, seedFromArgs, splitFromArgs, SPLIT_OPTIONS, BACKEND_OPTION, GRAPH_OPTION, graphSource } from '../context.ts';

/** The model folder: --model, else models/<dataset folder name>. */
export function modelDirFrom(model: string | undefined, dataDir: string): string {
  return model ?? join('models', basename(resolve(dataDir)));
}

/** The parts of runTraining's time as sub-stages of 'train'. */
export function recordTrainingStages(recorder: RunRecorder, seconds: TrainSummary['seconds']): void {
  recorder.record('text features', seconds.features, 'train');
  recorder.record('two-tower epochs', seconds.training, 'train');
  recorder.record('content index', seconds.index, 'train');
  if (seconds.rerank > 0) recorder.record('reranker', seconds.rerank, 'train');
  log(`training stages: text features ${seconds.features.toFixed(1)} s, two-tower epochs ${seconds.training.toFixed(1)} s, content index ${seconds.index.toFixed(1)} s${seconds.rerank > 0 ? `, reranker ${seconds.rerank.toFixed(1)} s` : ''}`);
}

export const train: Command = {
  name: 'train',
  summary: 'train the two-tower retriever and the reranker, and build the content index',
  usage: '--data DIR | --graph neo4j  [--model DIR] [--holdout F [--split-by topic|channel]] [--preset fast|quality] [--config FILE] [--encoder DIR|ID [--revision REV]] [--seed N] [--report DIR | --no-report] [--log-json]',
  options: {
    data: SHARED_OPTIONS.data,
    graph: GRAPH_OPTION,
    model: SHARED_OPTIONS.model,
    ...SPLIT_OPTIONS,
    config: SHARED_OPTIONS.config,
    preset: SHARED_OPTIONS.preset,
    encoder: SHARED_OPTIONS.encoder,
    revision: SHARED_OPTIONS.revision,
    seed: SHARED_OPTIONS.seed,
    backend: BACKEND_OPTION,
    lenient: SHARED_OPTIONS.lenient,
    ...REPORT_OPTIONS,
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Writes model.json, weights and the content index (index/) into the model folder. With --holdout, the',
    "held-out topics' links are hidden from training and recorded, so `trellis recommend --topics held-out`",
    'scores them. A killed run resumes from its last epoch checkpoint when started again with the same',
    'arguments. Config sections: lexical, encoder, graphsage, training, index, retrieval, rerank (see README).',
    'Prints one JSON summary on stdout (with the report path).',
    '',
    REPORT_DETAILS,
    'A train report has the training curves; the held-out scores are in the report of',
    '`trellis recommend --topics held-out`.',
  ].join('\n'),
  async run(args) {
    const recorder = new RunRecorder('train', args);
    const graph = graphSource(args, 'train');
    const dir = graph === 'neo4j' ? 'neo4j' : requireString(args, 'train', 'data');
    const modelDir = modelDirFrom(optionalString(args, 'model'), dir);
    const seed = seedFromArgs(args, 'train');
    const preset = presetFromArgs(args, 'train');
    const config = runConfigFromArgs(args, preset);
    if (preset) log(`preset ${preset}`);
    const runtime = await initRuntime(optionalString(args, 'backend'));
    log(runtime.message);
    recorder.report.backend = runtime.kind;
    recorder.report.config = config;
    const { dataset, forest } = await recorder.stage('load', () => loadDataFrom(args, 'train'));
    const split = splitFromArgs(args, 'train', dataset, seed);
    recorder.dataset(dataset, dir, split ? { heldOut: split.heldOut.length } : {});
    if (dataset.links.every((l) => l.length === 0)) throw new UsageError(`trellis train: ${dir} has no links to learn from (correlations.csv is empty).`);
    const summary = await recorder.stage('train', () => runTraining({
      dataset,
      forest,
      config,
      seed,
      modelDir,
      split,
      splitSpec: split ? { fraction: numberOption(args, 'train', 'holdout', 0.25, 0, 1), by: optionalString(args, 'split-by') ?? 'topic' } : undefined,
      backend: runtime.kind,
      log,
      onStep: epochProgress(),
      onEncode: progressCallback('pretrained encoding', 'texts'),
      onIndex: progressCallback('content index', 'items'),
      onEpoch: (r, epochs) =>
        log(`epoch ${r.epoch + 1}/${epochs}: loss ${r.loss.toFixed(4)}, validation recall@${config.training.recallK} ${r.validationRecall.toFixed(4)}${r.best ? ' (best)' : ''}, ${r.pairs} pairs in ${r.seconds.toFixed(1)} s`,
          { epoch: r.epoch + 1, epochs, loss: r.loss, validationRecall: r.validationRecall, best: r.best, pairs: r.pairs, seconds: r.seconds }),
    }));
    recordTrainingStages(recorder, summary.seconds);
    log(`model ${summary.modelId} written to ${modelDir} (${summary.seconds.total.toFixed(1)} s)`);
    recorder.report.model = { id: summary.modelId, dir: modelDir };
    recorder.training(summary.meta, 'this run');
    recorder.output('model', modelDir);
    recorder.report.evaluationMissing = split
      ? `train scores no held-out topics itself: run 'trellis recommend --data ${dir} --model ${modelDir} --topics held-out --out FILE' for their recall@K and F2 (in that run's report).`
      : 'The model was trained without --holdout, so no topics have answers hidden from it to score against.';
    recorder.report.examplesMissing = 'train makes no recommendations; a recommend run shows example topics.';
    const report = await recorder.finish();
    const t = summary.meta.training;
    process.stdout.write(JSON.stringify({ modelId: summary.modelId, model: modelDir, bestEpoch: t.bestEpoch + 1, validationRecall: t.bestRecall, initialRecall: t.initialRecall, examplesPerSecond: Math.round(t.examplesPerSecond), seconds: summary.seconds, backend: t.backend, ...(report ? { report } : {}) }) + '\n');
  },
};
