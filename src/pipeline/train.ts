/**
 * `trellis train`: the whole training job on a dataset.
 *
 *   1. hold out topics when asked (their links are hidden from every stage);
 *   2. fit TF-IDF on the content texts (shared by the lexical retriever and
 *      the encoder's input features);
 *   3. hold out a validation share of the training topics for early stopping;
 *   4. train the two-tower model (GraphSAGE topic tower, in-batch softmax);
 *   5. embed all content and build the ANN index;
 *   6. fit the learned fusion of the candidate lists on the validation
 *      topics (retrieval.fusion 'learned');
 *   7. save model, index, fusion, the TF-IDF weights, the catalogue (what the
 *      index holds: pipeline/catalogue.ts) and a summary in the model folder;
 *   8. train the cross-encoder reranker on the validation topics' candidates
 *      and tune the F2 decision rule (rerank.enabled).
 */
import { buildLexicalIndex, lexicalSearch, type LexicalIndex } from '../retrieval/lexical.ts';
import { splitTopics, type Split } from '../eval/split.ts';
import { buildTowerData, withContentTopics, type TowerData } from '../models/tower-data.ts';
import { attachPretrained, fineTuneInputs, pretrainedFeatures, type PretrainedInfo } from '../models/pretrained-features.ts';
import type { PretrainedEncoder } from '../pretrained/encoder.ts';
import { trainTwoTower, type EpochReport } from '../models/train.ts';
import { checkpointStore, clearCheckpoint, contentChecksum, makeModelId, saveCatalogue, saveFusion, saveIndex, saveLexical, saveModel, saveReranker, MODEL_FORMAT, type ModelMeta } from './artifact.ts';
import { trainedCatalogue } from './catalogue.ts';
import { buildContentIndex } from '../retrieval/neural.ts';
import { deriveSeed, rngFor, shuffleInPlace } from '../random.ts';
import { candidateDepth, fusionPools, retrieve, sentenceVectors, type Retriever } from './recommend.ts';
import { fitFusion, FUSION_FEATURE_NAMES, type FusionModel } from '../retrieval/fusion.ts';
import { FEATURE_NAMES, linkContext, rerankFolds, trainReranker, type LinkContext, type RerankTrainInput } from './rerank.ts';
import type { RunConfig } from '../config.ts';
import type { Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';
import type { FusedCandidates } from '../retrieval/candidates.ts';

export interface TrainJob {
  dataset: Dataset;
  forest: TopicForest;
  config: RunConfig;
  seed: number;
  modelDir: string;
  /** Held-out topics (from --holdout), if any. */
  split?: Split;
  splitSpec?: { fraction: number; by: string };
  backend: string;
  log: (line: string) => void;
  onEpoch?: (report: EpochReport, epochs: number) => void;
  onStep?: (epoch: number, step: number, steps: number, loss: number) => void;
  /** Progress of pretrained encoding (encoder kind 'pretrained'): texts encoded of those not cached. */
  onEncode?: (done: number, total: number) => void;
  /** Progress of the content index build: items inserted. */
  onIndex?: (done: number, total: number) => void;
}

export interface TrainSummary {
  modelId: string;
  meta: ModelMeta;
  seconds: { features: number; training: number; index: number; rerank: number; total: number };
}

/**
 * Out-of-fold candidates for the cross-encoder: the training topics in
 * `rerank.crossFit` folds; per fold, a two-tower model trained without the
 * fold's links retrieves the fold's candidates (joined by the final model's
 * learned fusion, if any), which therefore look like those of unseen topics.
 * The fold's links are hidden from its features too.
 */
async function crossFit(input: { job: TrainJob; data: TowerData; lexical: LexicalIndex; meta: ModelMeta; validation: Split; fusion?: FusionModel }): Promise<NonNullable<RerankTrainInput['crossFitted']>> {
  const { job, data, lexical, meta, validation, fusion } = input;
  const { config, seed, dataset, log } = job;
  const folds = config.rerank.crossFit;
  const order = shuffleInPlace(Array.from(validation.train), rngFor(seed, 'rerank/cross-fit'));
  const out = { topics: [] as number[], candidates: [] as FusedCandidates[], contexts: [] as LinkContext[] };
  for (let f = 0; f < folds; f++) {
    const t0 = performance.now();
    const fold = Uint32Array.from(order.filter((_, i) => i % folds === f)).sort();
    const inFold = new Set(fold);
    const links = validation.trainLinks.map((l, t) => (inFold.has(t) ? new Uint32Array(0) : l));
    const result = await trainTwoTower({
      data,
      links,
      trainTopics: validation.train.filter((t) => !inFold.has(t)),
      validationTopics: validation.heldOut,
      encoder: config.encoder,
      graphsage: config.graphsage,
      training: config.training,
      seed: deriveSeed(seed, `cross-fit/${f}`),
    });
    try {
      const index = await buildContentIndex(result.model, withContentTopics(result.model, data, links), config.index, seed);
      const context = linkContext(dataset, links, productVectors(config, data));
      const candidates = await retrieve({ model: result.model, meta, index, lexical, data, fusion }, fold, { visible: context });
      out.topics.push(...fold);
      out.candidates.push(...candidates);
      out.contexts.push(...Array.from(fold, () => context));
    } finally {
      result.model.dispose();
    }
    log(`cross-fit fold ${f + 1}/${folds}: ${fold.length} topics, retriever trained without their links (validation recall@${config.training.recallK} ${result.bestRecall.toFixed(4)}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  return { topics: Uint32Array.from(out.topics), candidates: out.candidates, contexts: out.contexts };
}

/** The sentence vectors whose product the reranker reads (rerank.sentenceProduct with a pretrained encoder). */
function productVectors(config: RunConfig, data: TowerData) {
  return config.rerank.sentenceProduct ? sentenceVectors(data) : undefined;
}

/** Validation topics the learned fusion needs at least, as the reranker does. */
const MIN_FUSION_TOPICS = 4;
/** Validation topics the learned fusion is fitted on at most (a seeded sample beyond). */
const MAX_FUSION_TOPICS = 2000;

/**
 * Fits the learned fusion (retrieval.fusion 'learned') on the pools of the
 * validation topics (the towers never trained on their links, and their
 * links are hidden from the features), labelled with their links in `gold`.
 * Undefined, with a log line, when there is too little to fit on: the model
 * then joins its lists by reciprocal rank fusion.
 */
async function fitLearnedFusion(retriever: Retriever, validation: Split, gold: readonly Uint32Array[], log: (line: string) => void): Promise<FusionModel | undefined> {
  const t0 = performance.now();
  // 13 weights need few topics; a sample bounds the time and memory of the fit on big trees.
  const topics = validation.heldOut.length <= MAX_FUSION_TOPICS ? validation.heldOut : Uint32Array.from(shuffleInPlace(Array.from(validation.heldOut), rngFor(retriever.meta.seed, 'fusion/fit')).slice(0, MAX_FUSION_TOPICS)).sort();
  const skip = (why: string) => (log(`learned fusion: skipped, ${why}; candidates are joined by reciprocal rank fusion`), undefined);
  if (topics.length < MIN_FUSION_TOPICS) return skip(`${topics.length} validation topics are too few to fit it on (need ${MIN_FUSION_TOPICS})`);
  const pools = await fusionPools(retriever, topics, { visible: linkContext(retriever.data.dataset, validation.trainLinks) });
  let positives = 0;
  let recall = 0;
  const labelled = pools.map((pool, i) => {
    const links = new Set(gold[topics[i]]);
    const labels = Uint8Array.from(pool.candidates.rows, (row) => (links.has(row) ? 1 : 0));
    const found = labels.reduce((s, v) => s + v, 0);
    positives += found;
    recall += links.size ? found / links.size : 0;
    return { features: pool.features, labels };
  });
  if (positives === 0) return skip(`the validation topics' candidate pools hold none of their links`);
  const fusion = fitFusion(labelled);
  const depth = retriever.meta.config.retrieval.fusionDepth;
  const weights = FUSION_FEATURE_NAMES.map((name, f) => `${name} ${fusion.weights[f].toFixed(2)}`).join(', ');
  log(`learned fusion fitted on ${topics.length} topics in ${((performance.now() - t0) / 1000).toFixed(1)} s: pools of ${(labelled.reduce((s, p) => s + p.labels.length, 0) / topics.length).toFixed(0)} items (lists ${depth} deep) holding ${(recall / topics.length).toFixed(4)} of the links; weights ${weights}`);
  return fusion;
}

/** Links training may see: all, or all but the held-out topics'. */
export function visibleLinks(dataset: Dataset, split?: Split): Uint32Array[] {
  return split ? split.trainLinks : dataset.links;
}

export async function runTraining(job: TrainJob): Promise<TrainSummary> {
  const { dataset, forest, config, seed, modelDir, log } = job;
  const t0 = performance.now();
  const links = visibleLinks(dataset, job.split);
  const linked = Uint32Array.from(dataset.topics.keys()).filter((t) => links[t].length > 0);
  const validation = splitTopics(dataset, { fraction: config.training.validationFraction, seed: deriveSeed(seed, 'validation'), among: linked }, links);
  log(`training on ${validation.train.length} topics, validating on ${validation.heldOut.length}`);

  const lexical = buildLexicalIndex(dataset, config.lexical);
  const data = buildTowerData(dataset, forest, lexical.model, config.encoder.maxFeatures, lexical.contentFeatures);
  let pretrained: PretrainedInfo | undefined;
  let sentence: PretrainedEncoder | undefined;
  if (config.encoder.kind === 'pretrained' && config.encoder.fineTuneLayers > 0) {
    const inputs = await fineTuneInputs(dataset, forest, config.encoder, { log, onProgress: job.onEncode });
    attachPretrained(data, inputs.vectors, config.encoder.bag);
    ({ sentence, info: pretrained } = inputs);
    log(`fine-tuning the top ${config.encoder.fineTuneLayers} of ${inputs.sentence.files.bert.layers} layers of ${pretrained.dir} with the towers`);
  } else if (config.encoder.kind === 'pretrained') {
    const features = await pretrainedFeatures(dataset, forest, config.encoder, { log, onProgress: job.onEncode });
    attachPretrained(data, features.vectors, config.encoder.bag);
    pretrained = features.info;
    log(`pretrained vectors (${features.info.dim}-d) ready in ${features.seconds.toFixed(1)} s: ${features.encoded} texts encoded, ${features.cached} from the cache`);
  }
  let lexicalCandidates: Map<number, Uint32Array> | undefined;
  if (config.training.hardNegatives === 'lexical') {
    const lists = lexicalSearch(lexical, dataset, forest, validation.train, config.training.hardNegativePool);
    lexicalCandidates = new Map(Array.from(validation.train, (t, i) => [t, lists[i].rows]));
  }
  const t1 = performance.now();
  log(`features ready in ${((t1 - t0) / 1000).toFixed(1)} s`);

  const result = await trainTwoTower({
    data,
    links: validation.trainLinks,
    trainTopics: validation.train,
    validationTopics: validation.heldOut,
    lexicalCandidates,
    encoder: config.encoder,
    graphsage: config.graphsage,
    training: config.training,
    seed,
    checkpoints: checkpointStore(modelDir),
    onStart: (recall) => log(`untrained model: validation recall@${config.training.recallK} ${recall.toFixed(4)}`),
    onEpoch: (report) => job.onEpoch?.(report, config.training.epochs),
    onStep: job.onStep,
    sentence,
  });
  if (result.resumedFrom > 0) log(`resumed from the checkpoint after epoch ${result.resumedFrom}`);
  const t2 = performance.now();

  const modelId = makeModelId(config, seed, dataset, new Date().toISOString());
  // graphsage.contentTopics: the indexed items read the training topics' links, as in training (never the validation topics').
  const index = await buildContentIndex(result.model, withContentTopics(result.model, data, validation.trainLinks), config.index, seed, job.onIndex);
  saveIndex(modelDir, index, { modelId, seed, meta: { content: dataset.content.length } });
  const t3 = performance.now();

  const meta: ModelMeta = {
    format: MODEL_FORMAT,
    modelId,
    seed,
    config,
    shape: result.model.shape,
    kinds: data.kinds,
    languages: data.languages,
    dataset: { content: dataset.content.length, contentChecksum: contentChecksum(dataset), topics: dataset.topics.length },
    heldOut: job.split ? Array.from(job.split.heldOut, (t) => dataset.topics[t].id) : [],
    split: job.splitSpec,
    training: {
      history: result.history,
      bestEpoch: result.bestEpoch,
      bestRecall: result.bestRecall,
      initialRecall: result.initialRecall,
      examplesPerSecond: result.examplesPerSecond,
      seconds: (t2 - t1) / 1000,
      backend: job.backend,
    },
    ...(pretrained ? { pretrained } : {}),
    createdAt: new Date().toISOString(),
  };
  const retriever: Retriever = { model: result.model, meta, index, lexical, data };
  if (config.retrieval.fusion === 'learned') {
    retriever.fusion = await fitLearnedFusion(retriever, validation, links, log);
    // Saved as what it is: a model without a fitted fusion joins by reciprocal rank fusion.
    if (!retriever.fusion) meta.config = { ...config, retrieval: { ...config.retrieval, fusion: 'rrf' } };
  }
  await saveModel(modelDir, result.model, meta);
  // What a grown catalogue is measured against: the index's items and the TF-IDF weights the towers read.
  await saveLexical(modelDir, lexical.model);
  await saveCatalogue(modelDir, trainedCatalogue(dataset));
  if (retriever.fusion) await saveFusion(modelDir, retriever.fusion, { topics: Math.min(validation.heldOut.length, MAX_FUSION_TOPICS) });
  const t4 = performance.now();
  let rerankSeconds = 0;
  if (config.rerank.enabled && validation.heldOut.length < 4) {
    log(`rerank: skipped, ${validation.heldOut.length} validation topics are too few to train and tune it (need 4); recommend will stop after retrieval`);
  } else if (config.rerank.enabled) {
    // The cross-encoder learns from the candidates of the validation topics: the
    // retriever never trained on them, so their candidates look like the ones it
    // will see at recommend time. One share trains it, the rest tunes the decision
    // rule; with rerank.tuneFolds, each fold of them tunes it once, scored by
    // cross-encoders trained on the other folds.
    const crossFitted = config.rerank.crossFit > 1 ? await crossFit({ job, data, lexical, meta, validation, fusion: retriever.fusion }) : undefined;
    const context = linkContext(dataset, validation.trainLinks, productVectors(config, data));
    const folds = await rerankFolds(validation.heldOut, config.rerank, seed, (topics) => retrieve(retriever, topics, { visible: context }));
    const reranked = await trainReranker({
      dataset,
      forest,
      context,
      folds,
      crossFitted,
      config: config.rerank,
      topK: candidateDepth(meta.config.retrieval),
      seed,
      encoderTable: { table: result.model.encoder.embedding.table, rows: config.encoder.vocab, cols: config.encoder.dim },
      pretrained,
      log,
    });
    await saveReranker(modelDir, reranked.reranker, { rule: reranked.rule, compete: reranked.compete, tuneF2: reranked.tuneF2, cutoff: reranked.cutoff, cutoffF2: reranked.cutoffF2, withoutCount: reranked.withoutCount, features: FEATURE_NAMES }, reranked.stacker);
    reranked.reranker.dispose();
    reranked.stacker?.dispose();
    rerankSeconds = (performance.now() - t4) / 1000;
  }
  result.model.dispose();
  await clearCheckpoint(modelDir);
  return { modelId, meta, seconds: { features: (t1 - t0) / 1000, training: (t2 - t1) / 1000, index: (t3 - t2) / 1000, rerank: rerankSeconds, total: (performance.now() - t0) / 1000 } };
}
