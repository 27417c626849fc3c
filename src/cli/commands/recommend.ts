import { readCsv } from '../../data/csv.ts';
import { DataError, UsageError } from '../../errors.ts';
import { answersOf } from '../../eval/split.ts';
import { scoreStages } from '../../pipeline/holdout.ts';
import { recommendationFormat, writeRecommendations } from '../../io/export.ts';
import { initRuntime } from '../../runtime/backend.ts';
import { openModel } from '../../pipeline/artifact.ts';
import { describeChanges } from '../../pipeline/catalogue.ts';
import { recommendTopics } from '../../pipeline/recommend.ts';
import type { FusedCandidates } from '../../retrieval/candidates.ts';
import type { Dataset } from '../../data/types.ts';
import { checkChoice } from '../../options.ts';
import { intOption, optionalString, requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import { BACKEND_OPTION, GRAPH_OPTION, graphSource, loadDataFrom, log, topicsToPredict } from '../context.ts';
import { stepProgress } from '../log.ts';
import { LOG_JSON_OPTION, REPORT_DETAILS, REPORT_OPTIONS, RunRecorder } from '../run-report.ts';
import { modelDirFrom } from './train.ts';

/** Topic rows named by a CSV file with a topic_id column (e.g. sample_submission.csv). */
async function topicsFromFile(path: string, dataset: Dataset): Promise<Uint32Array> {
  const rows: number[] = [];
  await readCsv(path, { required: ['topic_id'], known: ['topic_id'] }, (row) => {
    const id = row.get('topic_id').trim();
    const t = dataset.topicIndex.get(id);
    if (t === undefined) throw new DataError(`unknown topic id "${id}".`, { file: path, line: row.line, hint: 'Every topic_id must be in topics.csv of --data.' });
    rows.push(t);
  });
  return Uint32Array.from(new Set(rows));
}

export const recommend: Command = {
  name: 'recommend',
  summary: 'recommend content for topics with a trained model: retrieve, rerank, threshold for F2',
  usage: '--data DIR [--model DIR] --out FILE [--topics FILE|held-out] [--top-k K] [--stage full|retrieve] [--rerank-candidates N] [--ann hnsw|neo4j] [--report DIR | --no-report] [--log-json]',
  options: {
    data: SHARED_OPTIONS.data,
    graph: GRAPH_OPTION,
    model: SHARED_OPTIONS.model,
    out: { ...SHARED_OPTIONS.out, description: 'output: .csv (LECR topic_id,content_ids), .arrow or .parquet (one row per recommendation)' },
    topics: { type: 'string', description: "topics to recommend for: a CSV with a topic_id column, or 'held-out' (the topics the model was trained without); default: sample_submission.csv, else every topic", valueName: 'FILE' },
    'top-k': { type: 'string', description: "neural candidates per topic (default: the model config, 50); the output keeps the fused union. With learned fusion (retrieval.fusion 'learned'): the fused candidates kept per topic (default: retrieval.fusedTopK, 100)", valueName: 'K' },
    stage: { type: 'string', description: "'full' (default when the model has a reranker): retrieve, rerank, apply the F2 decision rule; 'retrieve': stop after retrieval (fused neural + lexical candidates)", valueName: 'STAGE' },
    'rerank-candidates': { type: 'string', description: "rerank only each topic's first N fused candidates, the rest are not recommended (default: the model config rerank.candidates, 0 = all); the cost knob for very large runs", valueName: 'N' },
    ann: { type: 'string', description: "nearest-neighbour index: 'hnsw' (default, the model's own) or 'neo4j' (write the content embeddings to the Neo4j graph and search its vector index)", valueName: 'KIND' },
    backend: BACKEND_OPTION,
    lenient: SHARED_OPTIONS.lenient,
    ...REPORT_OPTIONS,
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    'With --topics held-out, prints recall@K and F2 of the held-out topics as JSON on stdout.',
    'A model trained with rerank.compete > 0 lets the topics of one run compete for content items, so a',
    "topic's recommendations depend on the other topics given: recommend a channel's topics together.",
    '',
    REPORT_DETAILS,
    'The held-out plots need --topics held-out (other topics have no answers hidden from the model);',
    'the training curves come from the model folder.',
  ].join('\n'),
  async run(args) {
    const recorder = new RunRecorder('recommend', args);
    const graph = graphSource(args, 'recommend');
    const dir = graph === 'neo4j' ? 'neo4j' : requireString(args, 'recommend', 'data');
    const out = requireString(args, 'recommend', 'out');
    recommendationFormat('trellis recommend', out);
    const modelDir = modelDirFrom(optionalString(args, 'model'), dir);
    // The model folder's small files, read and checked once, before the data is loaded and encoded.
    const folder = await openModel(modelDir);
    const meta = folder.meta;
    const stageArg = optionalString(args, 'stage');
    const stage = checkChoice('trellis recommend', '--stage', stageArg ?? (folder.hasReranker ? 'full' : 'retrieve'), ['full', 'retrieve']);
    if (stageArg === undefined && stage === 'retrieve') log(`the model in ${modelDir} has no reranker: recommending retrieval candidates (--stage retrieve)`);
    if (stage === 'full' && !folder.hasReranker) {
      throw new UsageError(`trellis recommend: the model in ${modelDir} has no reranker, so --stage full cannot run.`, 'Pass --stage retrieve, or retrain with rerank.enabled.');
    }
    // Models saved before retrieval.fusion existed have no such key.
    const learned = meta.config.retrieval.fusion === 'learned';
    const topK = intOption(args, 'recommend', 'top-k', learned ? meta.config.retrieval.fusedTopK : meta.config.retrieval.topK, 1, 10000);
    const rerankCandidates = intOption(args, 'recommend', 'rerank-candidates', meta.config.rerank.candidates ?? 0, 0, 100000);
    const runtime = await initRuntime(optionalString(args, 'backend'));
    log(runtime.message);
    recorder.report.backend = runtime.kind;
    const { dataset, forest } = await recorder.stage('load', () => loadDataFrom(args, 'recommend'));
    const topicsArg = optionalString(args, 'topics');
    let topics: Uint32Array;
    if (topicsArg === 'held-out') {
      if (meta.heldOut.length === 0) throw new UsageError(`trellis recommend: the model in ${modelDir} was trained without --holdout, so it has no held-out topics.`);
      topics = Uint32Array.from(meta.heldOut, (id) => {
        const t = dataset.topicIndex.get(id);
        if (t === undefined) throw new DataError(`held-out topic "${id}" of the model is not in ${dir}.`, { hint: 'Pass the --data the model was trained on.' });
        return t;
      });
    } else {
      topics = topicsArg ? await topicsFromFile(topicsArg, dataset) : topicsToPredict(dataset, undefined);
    }
    const ann = checkChoice('trellis recommend', '--ann', optionalString(args, 'ann') ?? 'hnsw', ['hnsw', 'neo4j']);
    const result = await recorder.stage('recommend', () => recommendTopics(folder, dataset, forest, topics, { stage, topK, rerankCandidates, log, ann, onProgress: stepProgress('topics', { 'pretrained encoding': 'texts' }) }));
    recorder.record('load model and retrieve', result.seconds.retrieve, 'recommend');
    if (stage === 'full') recorder.record('rerank', result.seconds.rerank, 'recommend');
    const { table, candidates, probabilities, scores: cut } = result;
    await recorder.stage('export', () => writeRecommendations(out, table, { modelId: result.meta.modelId, seed: result.meta.seed, config: { ...result.meta.config, stage } }));
    log(`wrote ${table.length} recommendations for ${topics.length} topics to ${out} in ${recorder.stages.at(-1)!.seconds.toFixed(1)} s`);
    recorder.output('recommendations', out);
    recorder.report.model = { id: result.meta.modelId, dir: modelDir };
    recorder.report.config = { ...result.meta.config, recommend: { stage, topK, rerankCandidates, ann, topics: topicsArg ?? 'default' } };
    recorder.dataset(dataset, dir, { ...(meta.heldOut.length ? { heldOut: meta.heldOut.length } : {}), predicted: topics.length });
    recorder.training(result.meta, `from the model's training, ${modelDir}`);
    if (result.catalogue) {
      recorder.report.catalogue = result.catalogue;
      log(describeChanges(result.catalogue.changes, result.catalogue.drift), { catalogue: result.catalogue });
    }
    const answers = topicsArg === 'held-out' ? answersOf(dataset, topics) : undefined;
    const ids = Array.from(topics, (t) => dataset.topics[t].id);
    const scores = answers ? await recorder.stage('score', () => scoreStages(ids, answers, candidates, cut ? { table, scores: cut, ruleKept: result.cutoff && result.ruleKept } : undefined)) : undefined;
    await recorder.recommendations({ dataset, forest, topics, table, candidates, probabilities, scores: cut, rule: result.rule, answers }, scores,
      meta.heldOut.length
        ? "These topics have no answers hidden from the model, so there is nothing to score against: pass --topics held-out to score the model's held-out topics."
        : 'The model was trained without --holdout, so no topics have answers hidden from it: nothing to score against. Train with --holdout F and recommend with --topics held-out for these plots.');
    await recorder.finish();
    if (scores) process.stdout.write(JSON.stringify(scores, null, 2) + '\n');
  },
};
