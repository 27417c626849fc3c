/**
 * The reranking stage: side features of (topic, candidate) pairs, training
 * the cross-encoder on the candidates of topics the retriever never trained
 * on, learning the F2 decision rule, and applying both at recommend time.
 *
 * Side features of a pair (topic t, content c), in this order:
 *   0  retriever cosine (0 when the neural retriever did not find c)
 *   1  lexical TF-IDF cosine (0 when the lexical retriever did not find c)
 *   2  found by the neural retriever (0/1)
 *   3  found by the lexical retriever (0/1)
 *   4  log(1 + neural rank), log(1 + K + 1) when absent
 *   5  log(1 + lexical rank), likewise
 *   6  fused (reciprocal-rank) score
 *   7  t's parent links c (0/1)
 *   8  number of t's siblings that link c
 *   9  log(1 + number of topics that link c): content popularity
 *  10  c's language equals t's (0/1)
 *  11  cosine of the pretrained encoder's sentence vectors (0 without one)
 *  12  log(1 + rank in the sentence-vector list), log(1 + K + 1) when absent
 * Links are the ones visible to the stage (held-out topics' links hidden).
 * With `rerank.sentenceProduct` and a pretrained encoder, the elementwise
 * product of the two sentence vectors follows (one value per dimension).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrossEncoder, type TrainHooks, type TrainReport } from '../rerank/cross-encoder.ts';
import type { PairSet } from '../rerank/tokens.ts';
import type { TrainMemberInput, TrainMemberOutput, TrainMemberProgress } from '../rerank/train-worker.ts';
import { meanProbabilities, RerankerEnsemble, type PairScorer } from '../rerank/ensemble.ts';
import { PretrainedCrossEncoder } from '../rerank/pretrained-cross-encoder.ts';
import type { PretrainedSource } from '../pretrained/hub.ts';
import { rocAuc } from '../eval/auc.ts';
import { competeScores, contentBest } from '../rerank/compete.ts';
import { applyDecisionRule, packCandidates, searchDecisionRule, type DecisionRule } from '../rerank/threshold.ts';
import { applyCutoff, searchCutoff, type ExpectedF2Cutoff, type TopicPrior } from '../rerank/cutoff.ts';
import { crossFitStacker, stackFeatureNames, stackFeatures, type Stacker, type StackTopic } from '../rerank/stacker.ts';
import { childrenOf, siblingsOf, type TopicForest } from '../graph/forest.ts';
import { topicText, contentText } from '../text/documents.ts';
import { wordTokens } from '../text/tfidf.ts';
import { RecommendationTableBuilder, type RecommendationTable } from '../io/table.ts';
import { ArtifactError, UsageError } from '../errors.ts';
import { chunkStarts, drain, transferables, WorkerPool } from '../runtime/workers.ts';
import { tensorWorkers } from '../runtime/backend.ts';
import { retrievalExplanation, type FusedCandidates } from '../retrieval/candidates.ts';
import { perTopicCutoff, type RerankConfig } from '../rerank/config.ts';
import type { Dataset } from '../data/types.ts';
import { hasLink } from '../data/links.ts';
import { deriveSeed, rngFor, shuffleInPlace, type Rng } from '../random.ts';
import type { PretrainedVectors } from '../models/tower-data.ts';

export const FEATURE_NAMES = [
  'retrieval_cosine', 'lexical_cosine', 'found_neural', 'found_lexical', 'log_neural_rank', 'log_lexical_rank',
  'fused', 'parent_links', 'sibling_links', 'log_popularity', 'same_language', 'sentence_cosine', 'log_sentence_rank',
] as const;
export const FEATURES = FEATURE_NAMES.length;

/** Per-content counts and per-topic link sets the features read. */
export interface LinkContext {
  links: Uint32Array[];
  /** Topics linking each content item. [content] */
  popularity: Uint32Array;
  /** Sentence vectors whose elementwise product joins the side features (rerank.sentenceProduct). */
  product?: PretrainedVectors;
}

export function linkContext(dataset: Dataset, links: Uint32Array[], product?: PretrainedVectors): LinkContext {
  const popularity = new Uint32Array(dataset.content.length);
  for (const list of links) for (const c of list) popularity[c]++;
  return { links, popularity, product };
}

/** Side-feature values per pair under `context`: the named features, then the sentence-vector product. */
export function featureWidth(context?: LinkContext): number {
  return FEATURES + (context?.product?.dim ?? 0);
}

/** The linking parent or siblings of a candidate, for the explanation column. */
export function linkingTopics(dataset: Dataset, forest: TopicForest, context: LinkContext, t: number, c: number): string[] {
  const out: string[] = [];
  const p = forest.parent[t];
  if (p >= 0 && hasLink(context.links[p], c)) out.push(`parent ${dataset.topics[p].id}`);
  for (const s of siblingsOf(forest, t)) if (hasLink(context.links[s], c)) out.push(`sibling ${dataset.topics[s].id}`);
  return out;
}

/** Side features of every candidate of topic `t`. [n * featureWidth(context)] */
export function pairFeatures(dataset: Dataset, forest: TopicForest, context: LinkContext, t: number, candidates: FusedCandidates, k: number): Float32Array {
  const n = candidates.rows.length;
  const width = featureWidth(context);
  const out = new Float32Array(n * width);
  const product = context.product;
  const q = product?.topics.subarray(t * product.dim, (t + 1) * product.dim);
  const parent = forest.parent[t];
  const siblings = siblingsOf(forest, t);
  const language = dataset.topics[t].language;
  const absent = Math.log(k + 2);
  for (let j = 0; j < n; j++) {
    const c = candidates.rows[j];
    const f = out.subarray(j * width, (j + 1) * width);
    const neural = candidates.neuralRank[j] > 0;
    const lexical = candidates.lexicalRank[j] > 0;
    f[0] = neural ? candidates.neural[j] : 0;
    f[1] = lexical ? candidates.lexical[j] : 0;
    f[2] = neural ? 1 : 0;
    f[3] = lexical ? 1 : 0;
    f[4] = neural ? Math.log(1 + candidates.neuralRank[j]) : absent;
    f[5] = lexical ? Math.log(1 + candidates.lexicalRank[j]) : absent;
    f[6] = candidates.fused[j];
    f[7] = parent >= 0 && hasLink(context.links[parent], c) ? 1 : 0;
    let siblingLinks = 0;
    for (const s of siblings) if (hasLink(context.links[s], c)) siblingLinks++;
    f[8] = siblingLinks;
    f[9] = Math.log(1 + context.popularity[c]);
    f[10] = language === '' || dataset.content[c].language === language ? 1 : 0;
    f[11] = candidates.sentence ? candidates.sentence[j] : 0;
    f[12] = candidates.sentenceRank?.[j] ? Math.log(1 + candidates.sentenceRank[j]) : absent;
    if (product && q) {
      const v = product.content.subarray(c * product.dim, (c + 1) * product.dim);
      for (let d = 0; d < product.dim; d++) f[FEATURES + d] = q[d] * v[d];
    }
  }
  return out;
}

/**
 * The pair set of some topics' candidates (labels from `gold` when given).
 * `context` is the links the features may read: one for all topics, or one per topic.
 */
export function buildPairs(reranker: Pick<RerankerEnsemble, 'tokenize'>, dataset: Dataset, forest: TopicForest, context: LinkContext | readonly LinkContext[], topics: Uint32Array, candidates: FusedCandidates[], k: number, gold?: Uint32Array[]) {
  const total = candidates.reduce((s, c) => s + c.rows.length, 0);
  const contexts = Array.isArray(context) ? (context as readonly LinkContext[]) : undefined;
  const width = featureWidth(contexts ? contexts[0] : (context as LinkContext));
  const topicIndex = new Uint32Array(total);
  const contentIndex = new Uint32Array(total);
  const features = new Float32Array(total * width);
  const labels = gold ? new Uint8Array(total) : undefined;
  // Only the texts the pairs read are tokenised: topics by position, content by a local table.
  const contentRows = new Map<number, number>();
  let at = 0;
  candidates.forEach((list, i) => {
    features.set(pairFeatures(dataset, forest, contexts ? contexts[i] : (context as LinkContext), topics[i], list, k), at * width);
    for (let j = 0; j < list.rows.length; j++, at++) {
      const c = list.rows[j];
      let local = contentRows.get(c);
      if (local === undefined) contentRows.set(c, (local = contentRows.size));
      topicIndex[at] = i;
      contentIndex[at] = local;
      if (labels && gold) labels[at] = hasLink(gold[i], c) ? 1 : 0;
    }
  });
  const contentTexts = new Array<string>(contentRows.size);
  for (const [c, local] of contentRows) contentTexts[local] = contentText(dataset.content[c]);
  return {
    topics: reranker.tokenize(Array.from(topics, (t) => topicText(dataset, forest, t))),
    contents: reranker.tokenize(contentTexts),
    topicIndex,
    contentIndex,
    features,
    labels,
  };
}

export interface RerankFold {
  trainTopics: Uint32Array;
  trainCandidates: FusedCandidates[];
  tuneTopics: Uint32Array;
  tuneCandidates: FusedCandidates[];
  /** The fold's cross-encoders score at recommend time; otherwise they only score its tuning topics. */
  serves: boolean;
}

/**
 * The validation topics' roles in the cross-encoder's training
 * (pipeline/rerank.ts RerankFold): with rerank.tuneFolds F >= 2, F folds,
 * each tuning on one F-th of them and training on the rest (every fold
 * serves, or with serveFolds 'one' the first); otherwise one split,
 * rerank.trainShare of them training and the rest tuning, and with
 * rerank.crossTune the same split the other way round as a second fold
 * that does not serve.
 */
export async function rerankFolds(topics: Uint32Array, config: Pick<RerankConfig, 'tuneFolds' | 'trainShare'> & Partial<Pick<RerankConfig, 'crossTune' | 'serveFolds'>>, seed: number, candidates: (topics: Uint32Array) => Promise<FusedCandidates[]>): Promise<RerankFold[]> {
  if (config.tuneFolds < 2) {
    const order = shuffleInPlace(Array.from(topics), rngFor(seed, 'rerank/split'));
    const cut = Math.max(1, Math.min(order.length - 1, Math.round(order.length * config.trainShare)));
    const trainTopics = Uint32Array.from(order.slice(0, cut)).sort();
    const tuneTopics = Uint32Array.from(order.slice(cut)).sort();
    const split = { trainTopics, trainCandidates: await candidates(trainTopics), tuneTopics, tuneCandidates: await candidates(tuneTopics), serves: true };
    if (!config.crossTune) return [split];
    return [split, { trainTopics: split.tuneTopics, trainCandidates: split.tuneCandidates, tuneTopics: split.trainTopics, tuneCandidates: split.trainCandidates, serves: false }];
  }
  const order = shuffleInPlace(Array.from(topics), rngFor(seed, 'rerank/folds'));
  const lists = await candidates(Uint32Array.from(order));
  const of = new Map(order.map((t, i) => [t, lists[i]]));
  const folds = Math.min(config.tuneFolds, order.length);
  return Array.from({ length: folds }, (_, f) => {
    const tuneTopics = Uint32Array.from(order.filter((_, i) => i % folds === f)).sort();
    const trainTopics = Uint32Array.from(order.filter((_, i) => i % folds !== f)).sort();
    return { trainTopics, trainCandidates: Array.from(trainTopics, (t) => of.get(t)!), tuneTopics, tuneCandidates: Array.from(tuneTopics, (t) => of.get(t)!), serves: f === 0 || config.serveFolds !== 'one' };
  });
}

export interface RerankTrainInput {
  dataset: Dataset;
  forest: TopicForest;
  /** Links visible to the reranker's training and tuning topics (theirs hidden). */
  context: LinkContext;
  /**
   * The validation topics' roles: in each fold, cross-encoders train on
   * `trainTopics` and score `tuneTopics`, and the decision rule is tuned on
   * every fold's tuning topics together (their scores come from the fold's
   * members, which never trained on them). One fold is the plain split; with
   * rerank.tuneFolds, every validation topic tunes the rule once.
   */
  folds: RerankFold[];
  /** More training topics from cross-fitting: each with its out-of-fold candidates and the links visible to it. */
  crossFitted?: { topics: Uint32Array; candidates: FusedCandidates[]; contexts: LinkContext[] };
  config: RerankConfig;
  topK: number;
  seed: number;
  /** The text encoder's embedding table, to initialise token embeddings. */
  encoderTable?: { table: Float32Array; rows: number; cols: number };
  /** The pretrained encoder a 'pretrained' cross-encoder (rerank.model) starts from. */
  pretrained?: PretrainedSource;
  log: (line: string) => void;
}

export interface RerankTrainResult {
  reranker: RerankerEnsemble;
  /** With rerank.stack: the boosted trees over the cross-encoder's probabilities (../rerank/stacker.ts). */
  stacker?: Stacker;
  rule: DecisionRule;
  /** Content-side competition exponent the rule was tuned with (0 = off; ../rerank/compete.ts). */
  compete: number;
  /** The per-topic cut-off tuned on the same topics (../rerank/cutoff.ts), and its mean F2 there. */
  cutoff: ExpectedF2Cutoff;
  cutoffF2: number;
  /** With a learned count: the cut-off tuned without one, and its F2 on the same topics (for comparison). */
  withoutCount?: { cutoff: ExpectedF2Cutoff; f2: number };
  /** Mean F2 of the rule on the tuning topics, and of the best fixed top-k of the fused lists there. */
  tuneF2: number;
  report: TrainReport;
}

/** The seed of fold `f`'s sampling (fold 0 keeps the run's, so one fold is the plain split). */
function foldSeed(seed: number, f: number): number {
  return f === 0 ? seed : deriveSeed(seed, `rerank/fold/${f}`);
}

/** Seconds between two progress lines of the reranker's training. */
const PROGRESS_SECONDS = 60;

export async function trainReranker(input: RerankTrainInput): Promise<RerankTrainResult> {
  const { dataset, forest, context, config, topK, log } = input;
  // The topic (breadcrumb and description) gets at most 40 tokens and never more than half the pair.
  const maxTopicTokens = Math.max(1, Math.min(40, Math.floor((config.maxLength - 3) / 2)));
  const members = config.members ?? 1;
  const words = input.encoderTable ? corpusWords(dataset) : undefined;
  // Member 0 keeps the run's seed, so a one-member ensemble is the single cross-encoder.
  const newMember = async (m: number): Promise<PairScorer> => {
    const seed = m === 0 ? input.seed : deriveSeed(input.seed, `rerank/member/${m}`);
    if (config.model === 'pretrained') {
      if (!input.pretrained) throw new UsageError("rerank.model 'pretrained' needs the pretrained encoder (encoder.kind 'pretrained').");
      // The topic gets at most 30 WordPiece tokens and a third of the pair.
      const topicTokens = Math.max(1, Math.min(30, Math.floor((config.maxLength - 4) / 3)));
      return PretrainedCrossEncoder.create(featureWidth(context), input.pretrained, { jointLayers: config.jointLayers, maxTopicTokens: topicTokens, maxContentTokens: Math.max(1, config.maxLength - 4 - topicTokens), seed });
    }
    const model = new CrossEncoder(featureWidth(context), { hidden: config.hidden, layers: config.layers, heads: config.heads, maxLength: config.maxLength, maxTopicTokens, seed });
    if (input.encoderTable) model.initTokenEmbeddings(input.encoderTable.table, input.encoderTable.rows, input.encoderTable.cols, words);
    return model;
  };
  // Every member built so far, disposed if anything below fails.
  const trained: PairScorer[] = [];
  let stacker: Stacker | undefined;
  try {
    trained.push(await newMember(0));
    const first = trained[0];
    const gold = (topics: Uint32Array) => Array.from(topics, (t) => dataset.links[t]);
    const extra = input.crossFitted;
    const folds = input.folds;
    const t0 = performance.now();
    // Every fold's pairs, and a cross-encoder for each of its members, before any trains.
    const jobs: { index: number; train: PairSet; tune: PairSet }[] = [];
    const tunes: PairSet[] = [];
    for (const [f, fold] of folds.entries()) {
      let train = buildPairs(first, dataset, forest, context, fold.trainTopics, fold.trainCandidates, topK, gold(fold.trainTopics));
      if (extra && extra.topics.length > 0) {
        const topics = Uint32Array.from([...fold.trainTopics, ...extra.topics]);
        const contexts = [...Array.from(fold.trainTopics, () => context), ...extra.contexts];
        const all = buildPairs(first, dataset, forest, contexts, topics, [...fold.trainCandidates, ...extra.candidates], topK, gold(topics));
        train = keepNegatives(all, fold.trainTopics.length, config.crossFitNegatives, rngFor(foldSeed(input.seed, f), 'rerank/negatives'));
      }
      const where = folds.length > 1 ? ` (fold ${f + 1}/${folds.length}${fold.serves ? '' : ', to tune the rule only'})` : '';
      log(`reranker${where}: ${train.topicIndex.length} training pairs from ${fold.trainTopics.length + (extra?.topics.length ?? 0)} topics (${train.labels!.reduce((s, v) => s + v, 0)} positive)${members > 1 ? `, ${members} members` : ''}`);
      const tune = buildPairs(first, dataset, forest, context, fold.tuneTopics, fold.tuneCandidates, topK, gold(fold.tuneTopics));
      tunes.push(tune);
      for (let m = 0; m < members; m++) {
        const index = f * members + m;
        if (index > 0) trained.push(await newMember(index));
        jobs.push({ index, train, tune });
      }
    }
    // A cross-encoder's name in the log: its fold (with several), then its place among the fold's members (with several).
    const who = (index: number) => {
      const names = [...(folds.length > 1 ? [`fold ${Math.floor(index / members) + 1}/${folds.length}`] : []), ...(members > 1 ? [`member ${(index % members) + 1}/${members}`] : [])];
      return names.length > 0 ? ` (${names.join(', ')})` : '';
    };
    const batchSize = config.model === 'pretrained' ? 32 : 64;
    const options = { epochs: config.epochs, learningRate: config.learningRate, batchSize, ...(config.model === 'pretrained' ? { encoderLearningRate: config.encoderLearningRate } : {}) };
    // Per member: a progress line at most every PROGRESS_SECONDS, and one line per epoch.
    const hooksFor = (index: number, steps: number): Required<Pick<TrainHooks, 'onStep' | 'onEpoch'>> => {
      const started = performance.now();
      let shown = started;
      return {
        onStep: (step) => {
          if (performance.now() - shown < PROGRESS_SECONDS * 1000) return;
          shown = performance.now();
          const seconds = (shown - started) / 1000;
          log(`reranker${who(index)}: step ${step}/${steps}, ${(step / seconds).toFixed(2)} steps/s, about ${Math.round(((steps - step) * seconds) / step)} s to go`);
        },
        onEpoch: (e) => log(`reranker epoch ${e.epoch}/${config.epochs}${who(index)}: loss ${e.trainLoss.toFixed(4)}, tuning-topic AUC ${e.validationAuc?.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`),
      };
    };
    const stepsOf = (job: (typeof jobs)[number]) => Math.ceil(job.train.topicIndex.length / batchSize) * config.epochs;
    const reports: TrainReport[] = new Array(jobs.length);
    const probabilities: Float32Array[] = new Array(jobs.length);
    const threads = Math.min(jobs.length, config.trainWorkers === 0 ? availableParallelism() : config.trainWorkers);
    if (threads > 1 && config.model === 'scratch') {
      // Independent cross-encoders, one per worker thread: on two cores two train in about the time of one.
      log(`reranker: training ${jobs.length} cross-encoders on ${threads} worker threads`);
      const dir = await mkdtemp(join(tmpdir(), 'trellis-rerank-'));
      const pool = new WorkerPool({ size: threads, transferResults: true });
      try {
        await Promise.all(jobs.map(async (job) => {
          const at = join(dir, String(job.index));
          await trained[job.index].save(at);
          const hooks = hooksFor(job.index, stepsOf(job));
          const onProgress = (value: unknown) => {
            const v = value as TrainMemberProgress;
            if ('step' in v) hooks.onStep(v.step, Number.NaN);
            else hooks.onEpoch(v.epoch);
          };
          const input: TrainMemberInput = { dir: at, train: job.train, tune: job.tune, options };
          const out = await pool.run<TrainMemberOutput>(new URL('../rerank/train-worker.ts', import.meta.url), 'trainMember', input, { onProgress });
          const loaded = await CrossEncoder.load(at);
          trained[job.index].dispose();
          trained[job.index] = loaded;
          reports[job.index] = out.report;
          probabilities[job.index] = out.probabilities;
        }));
      } finally {
        await pool.close();
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      for (const job of jobs) {
        reports[job.index] = await trained[job.index].train(job.train, options, { validation: job.tune, ...hooksFor(job.index, stepsOf(job)) });
        probabilities[job.index] = trained[job.index].score(job.tune);
      }
    }
    // The tuning topics of every fold, in fold order, with the scores of the fold's own members.
    const tuneTopics: number[] = [];
    const tuneCandidates: FusedCandidates[] = [];
    const tuneScores: Float32Array[] = [];
    const tuneLabels: Uint8Array[] = [];
    for (const [f, fold] of folds.entries()) {
      const scores = meanProbabilities(probabilities.slice(f * members, (f + 1) * members));
      if (members > 1) log(`reranker ensemble${folds.length > 1 ? ` (fold ${f + 1}/${folds.length})` : ''}: tuning-topic AUC ${rocAuc(scores, tunes[f].labels!).toFixed(4)}`);
      const perTopic = fold.tuneCandidates.map((list) => list.rows);
      tuneTopics.push(...fold.tuneTopics);
      tuneCandidates.push(...fold.tuneCandidates);
      tuneScores.push(...splitByTopic(scores, perTopic));
      tuneLabels.push(...splitByTopic(tunes[f].labels!, perTopic));
    }
    // The members of folds that do not serve only scored their tuning topics.
    const serving = trained.filter((_, index) => folds[Math.floor(index / members)].serves);
    for (const m of trained) if (!serving.includes(m)) m.dispose();
    trained.splice(0, trained.length, ...serving);
    const served = trained.length;
    const reranker = new RerankerEnsemble(trained);
    if (folds.length > 1) {
      const all = (parts: readonly (Float32Array | Uint8Array)[], out: Float32Array | Uint8Array) => (parts.reduce((at, part) => (out.set(part, at), at + part.length), 0), out);
      const n = tuneScores.reduce((s, p) => s + p.length, 0);
      const note = served === 1 ? "fold 1's cross-encoder scores" : served === members ? "fold 1's members score" : `${served} members score together`;
      log(`reranker: out-of-fold AUC ${rocAuc(all(tuneScores, new Float32Array(n)) as Float32Array, all(tuneLabels, new Uint8Array(n)) as Uint8Array).toFixed(4)} on ${tuneTopics.length} tuning topics; ${note} at recommend time`);
    }
    const perTopic = tuneCandidates.map((list) => list.rows);
    const priors = topicPriors(forest, context.links, tuneTopics);
    if (config.stack) {
      // The trees learn from the tuning topics' out-of-fold scores; the cut below is tuned on theirs from trees that never saw the topic.
      const width = featureWidth(context);
      const side = folds.flatMap((fold, f) => splitByTopic(tunes[f].features, fold.tuneCandidates.map((list) => ({ length: list.rows.length * width }))));
      const x = stackFeatures(tuneScores, perTopic, side, width, FEATURES, stackTopics(forest, priors, tuneTopics));
      const labels = Uint8Array.from(tuneLabels.flatMap((l) => Array.from(l)));
      const t1 = performance.now();
      const fitted = await crossFitStacker(x, labels, perTopic.map((r) => r.length), stackFeatureNames(FEATURE_NAMES), input.seed);
      stacker = fitted.stacker;
      const before = Float32Array.from(tuneScores.flatMap((s) => Array.from(s)));
      log(`stacker: boosted trees over ${labels.length} tuning pairs of ${tuneTopics.length} topics in ${((performance.now() - t1) / 1000).toFixed(1)} s; out-of-fold AUC ${rocAuc(fitted.outOfFold, labels).toFixed(4)} (the cross-encoder's ${rocAuc(before, labels).toFixed(4)})`);
      tuneScores.splice(0, tuneScores.length, ...splitByTopic(fitted.outOfFold, perTopic));
    }
    const useCutoff = perTopicCutoff(config.cutoff);
    const learnCount = config.cutoff === 'learned-count';
    // The deployed cut (the rule, or the per-topic cut-off) tuned on the tuning topics' scores competed with each exponent tried.
    const tuned = (config.compete === 'auto' ? [0, 1] : [config.compete ?? 0]).map((compete) => {
      const scores = competeScores(tuneScores, perTopic, compete);
      const packed = packCandidates(scores.map((s, i) => ({ scores: s, labels: tuneLabels[i], goldCount: dataset.links[tuneTopics[i]].length })));
      const search = searchDecisionRule(packed);
      const cut = useCutoff ? searchCutoff(packed, priors, { learnCount }) : undefined;
      return { compete, packed, search, cut, f2: cut ? cut.f2 : search.f2 };
    });
    // Ties keep the first: no competition.
    const best = tuned.reduce((a, b) => (b.f2 > a.f2 ? b : a));
    const { compete, search } = best;
    // With the global rule deployed, the cut-off is tuned once, for the exponent kept.
    const cut = best.cut ?? searchCutoff(best.packed, priors);
    if (tuned.length > 1) log(`content competition (auto): the ${useCutoff ? 'per-topic cut-off' : 'decision rule'} tunes to F2 ${tuned.map((t) => `${t.f2.toFixed(4)} with exponent ${t.compete}`).join(', ')} on the tuning topics; keeping ${compete}`);
    log(`decision rule: threshold ${search.rule.threshold.toFixed(3)}, margin ${search.rule.margin}, cap ${search.rule.cap}${compete > 0 ? `, content competition ${compete}` : ''}: F2 ${search.f2.toFixed(4)} on ${search.topics} tuning topics`);
    const c = cut.cutoff;
    const plain = cut.withoutCount;
    const expected = c.count ? `the learned count x ${c.count.scale} (without it, calibration ${plain!.cutoff.a} logit(p) + ${plain!.cutoff.b} and gold = ${plain!.cutoff.gamma} x sum + ${plain!.cutoff.delta} x siblings' items: F2 ${plain!.f2.toFixed(4)})` : `${c.gamma} x sum + ${c.delta} x siblings' items`;
    log(`per-topic cut-off (expected F2): calibration ${c.a} logit(p) + ${c.b}, gold = ${expected}: F2 ${cut.f2.toFixed(4)} on the same topics (${useCutoff ? 'used' : "kept; rerank.cutoff 'rule' uses the global rule"})`);
    return { reranker, stacker, rule: search.rule, compete, tuneF2: search.f2, cutoff: c, cutoffF2: cut.f2, withoutCount: plain && { cutoff: plain.cutoff, f2: plain.f2 }, report: reports[0] };
  } catch (error) {
    for (const m of trained) m.dispose();
    stacker?.dispose();
    throw error;
  }
}

/** What the per-topic cut-off knows of each topic: its siblings' mean number of visible items, their number, its depth. */
export function topicPriors(forest: TopicForest, links: readonly Uint32Array[], topics: ArrayLike<number>): TopicPrior[] {
  return Array.from(topics as ArrayLike<number>, (t) => {
    const siblings = siblingsOf(forest, t);
    let total = 0;
    for (const s of siblings) total += links[s].length;
    return { siblingItems: siblings.length ? total / siblings.length : 0, siblings: siblings.length, depth: forest.depth[t] };
  });
}

/** The named side features (the first FEATURES of each pair's `width`), without the sentence-vector product. */
function namedFeatures(features: Float32Array, width: number): Float32Array {
  if (width === FEATURES) return features.slice();
  const n = features.length / width;
  const out = new Float32Array(n * FEATURES);
  for (let p = 0; p < n; p++) out.set(features.subarray(p * width, p * width + FEATURES), p * FEATURES);
  return out;
}

/** What the stacker knows of each topic: its prior and its number of children. */
function stackTopics(forest: TopicForest, priors: readonly TopicPrior[], topics: ArrayLike<number>): StackTopic[] {
  return priors.map((prior, i) => ({ ...prior, children: childrenOf(forest, topics[i]).length }));
}

/** `values` cut into consecutive per-topic views, one per row list. */
function splitByTopic<A extends Float32Array | Uint8Array>(values: A, rows: readonly ArrayLike<number>[]): A[] {
  let at = 0;
  return rows.map((r) => {
    at += r.length;
    return values.subarray(at - r.length, at) as A;
  });
}

/** The lowercased words of every topic and content text: the rows a token embedding needs. */
function corpusWords(dataset: Dataset): Set<string> {
  const words = new Set<string>();
  for (const t of dataset.topics) for (const w of wordTokens(`${t.title} ${t.description}`)) words.add(w);
  for (const c of dataset.content) for (const w of wordTokens(`${c.title} ${c.description}`)) words.add(w);
  return words;
}

/**
 * Pairs of topics from `firstSampled` on keep every positive and at most
 * `perTopic` random negatives (0 keeps all); earlier topics keep everything.
 */
export function keepNegatives<P extends { topicIndex: Uint32Array; contentIndex: Uint32Array; features: Float32Array; labels?: Uint8Array }>(pairs: P, firstSampled: number, perTopic: number, rng: Rng): P {
  const labels = pairs.labels!;
  if (perTopic === 0) return pairs;
  const byTopic = new Map<number, number[]>();
  for (let p = 0; p < labels.length; p++) {
    if (pairs.topicIndex[p] < firstSampled || labels[p] === 1) continue;
    const list = byTopic.get(pairs.topicIndex[p]) ?? [];
    list.push(p);
    byTopic.set(pairs.topicIndex[p], list);
  }
  const drop = new Uint8Array(labels.length);
  for (const list of byTopic.values()) {
    shuffleInPlace(list, rng);
    for (const p of list.slice(perTopic)) drop[p] = 1;
  }
  const keep = Uint32Array.from({ length: labels.length }, (_, p) => p).filter((p) => !drop[p]);
  const width = labels.length > 0 ? pairs.features.length / labels.length : FEATURES;
  const features = new Float32Array(keep.length * width);
  keep.forEach((p, i) => features.set(pairs.features.subarray(p * width, (p + 1) * width), i * width));
  return {
    ...pairs,
    topicIndex: Uint32Array.from(keep, (p) => pairs.topicIndex[p]),
    contentIndex: Uint32Array.from(keep, (p) => pairs.contentIndex[p]),
    features,
    labels: Uint8Array.from(keep, (p) => labels[p]),
  };
}

/**
 * `context` with the sentence vectors a loaded reranker reads (its side
 * features beyond the named ones are their product), or an ArtifactError
 * when the model has none of that size.
 */
export function rerankContext(context: LinkContext, reranker: Pick<RerankerEnsemble, 'featureCount'>, vectors: PretrainedVectors | undefined, where: string): LinkContext {
  const dim = reranker.featureCount - FEATURES;
  if (dim === 0) return { ...context, product: undefined };
  if (!vectors || vectors.dim !== dim) {
    throw new ArtifactError(
      `${where}: the reranker reads the product of ${dim}-d sentence vectors, but the model's encoder gives ${vectors ? `${vectors.dim}-d vectors` : 'none'}.`,
      "Retrain with 'trellis train'.",
    );
  }
  return { ...context, product: vectors };
}

/** Topics scored per reranker call: bounds the memory of the pairs and paces `onProgress`. */
const RERANK_CHUNK = 256;

export interface RerankOptions {
  /** Called after each chunk of topics with topics done and the total. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Score on this many worker threads (0 = one per core on wasm, this thread
   * on TensorFlow C: runtime/backend.ts `tensorWorkers`), each loading the
   * cross-encoder from `dir`. Default: one per core when there are at least
   * `PARALLEL_CHUNKS` chunks of topics and `dir` is given, else this thread.
   */
  workers?: number;
  /** The reranker's folder (artifact.ts `rerankerDir`), which workers load. */
  dir?: string;
  /** Rerank only each topic's first N fused candidates (0 = all). The others are not recommended. */
  maxCandidates?: number;
  /**
   * Content-side competition exponent among `topics` before the decision
   * rule (../rerank/compete.ts); the table's `score` is the competed score,
   * its `rerank` stage the probability. Default 0 (off).
   */
  compete?: number;
  /** Cut each topic with this per-topic cut-off instead of the global rule (../rerank/cutoff.ts). */
  cutoff?: ExpectedF2Cutoff;
  /** The boosted trees over the cross-encoder (rerank.stack): their probability replaces the cross-encoder's. */
  stacker?: Stacker;
}

/** Below this many chunks of topics, worker start-up costs more than it saves. */
const PARALLEL_CHUNKS = 4;

/** The first `n` fused candidates (all when n is 0 or the list is shorter). */
export function headOf(c: FusedCandidates, n: number): FusedCandidates {
  if (n <= 0 || c.rows.length <= n) return c;
  const out = { ...c };
  for (const key of ['rows', 'fused', 'neural', 'lexical', 'neuralRank', 'lexicalRank', 'sentenceRank', 'sentence'] as const) {
    if (c[key]) (out as Record<string, unknown>)[key] = c[key]!.slice(0, n);
  }
  return out;
}

/**
 * Reranked, thresholded recommendations: one table row per kept item, with
 * the reranker's probability of every (possibly cut) candidate.
 */
export async function rerankTable(
  dataset: Dataset, forest: TopicForest, context: LinkContext, reranker: RerankerEnsemble, rule: DecisionRule,
  topics: Uint32Array, given: FusedCandidates[], topK: number, options: RerankOptions = {},
): Promise<{ table: RecommendationTable; probabilities: Float32Array[]; scores: Float32Array[]; candidates: FusedCandidates[]; ruleKept: Uint32Array[] }> {
  const { onProgress } = options;
  if (featureWidth(context) !== reranker.featureCount) {
    throw new ArtifactError(
      `the reranker reads ${reranker.featureCount} side features per pair, but the pair context gives ${featureWidth(context)}.`,
      'Build the context with rerankContext (a model trained with rerank.sentenceProduct needs its encoder\'s sentence vectors).',
    );
  }
  const candidates = options.maxCandidates ? given.map((c) => headOf(c, options.maxCandidates!)) : given;
  const starts = chunkStarts(topics.length, RERANK_CHUNK);
  const scores: Float32Array[] = new Array(starts.length);
  // With a stacker, each chunk's named side features are kept (the pairs themselves go to a worker).
  const side: Float32Array[] = new Array(starts.length);
  const width = featureWidth(context);
  const pairsOf = (from: number, i: number) => {
    const pairs = buildPairs(reranker, dataset, forest, context, topics.subarray(from, from + RERANK_CHUNK), candidates.slice(from, from + RERANK_CHUNK), topK);
    if (options.stacker) side[i] = namedFeatures(pairs.features, width);
    return pairs;
  };
  let done = 0;
  const finished = (i: number) => {
    done += Math.min(RERANK_CHUNK, topics.length - starts[i]);
    onProgress?.(done, topics.length);
  };
  onProgress?.(0, topics.length);
  const threads = tensorWorkers(options.workers ?? (starts.length >= PARALLEL_CHUNKS ? 0 : 1));
  if (options.dir && threads > 1) {
    const pool = new WorkerPool({ size: threads, transferResults: true });
    try {
      await drain(starts, pool.size, async (from, i) => {
        const pairs = pairsOf(from, i);
        const transfer = transferables([pairs.topics.offsets, pairs.topics.ids, pairs.contents.offsets, pairs.contents.ids, pairs.topicIndex, pairs.contentIndex, pairs.features]);
        scores[i] = await pool.run<Float32Array>(new URL('../rerank/score-worker.ts', import.meta.url), 'scorePairs', { dir: options.dir, pairs }, { transfer });
        finished(i);
      });
    } finally {
      await pool.close();
    }
  } else {
    starts.forEach((from, i) => {
      scores[i] = reranker.score(pairsOf(from, i));
      finished(i);
    });
  }
  const rows = candidates.map((c) => c.rows);
  let probabilities = starts.flatMap((from, i) => splitByTopic(scores[i], rows.slice(from, from + RERANK_CHUNK)));
  // Read by the stacker and the per-topic cut-off only (a wide tree makes them cost: siblings x siblings).
  const priors = options.stacker || options.cutoff ? topicPriors(forest, context.links, topics) : [];
  if (options.stacker) {
    // Chunk by chunk, so that the stacker's features of a large run are never all in memory; competition reads every topic.
    const best = contentBest(probabilities, rows);
    const cross = probabilities;
    probabilities = starts.flatMap((from, i) => {
      const to = from + RERANK_CHUNK;
      const named = splitByTopic(side[i], rows.slice(from, to).map((r) => ({ length: r.length * FEATURES })));
      const x = stackFeatures(cross.slice(from, to), rows.slice(from, to), named, FEATURES, FEATURES, stackTopics(forest, priors.slice(from, to), topics.subarray(from, to)), best);
      return splitByTopic(options.stacker!.predict(x), rows.slice(from, to));
    });
  }
  const final = competeScores(probabilities, rows, options.compete ?? 0);
  // What the global rule keeps, always (the baseline of a per-topic cut-off), and what is recommended.
  const ruleKept = final.map((f) => applyDecisionRule(rule, f));
  const kept = options.cutoff ? final.map((f, i) => applyCutoff(options.cutoff!, f, priors[i])) : ruleKept;
  const builder = new RecommendationTableBuilder(['retrieval', 'lexical', 'fused', 'rerank'], Array.from(topics, (t) => dataset.topics[t].id), dataset.content.map((c) => c.id));
  candidates.forEach((c, i) => {
    const p = probabilities[i];
    kept[i].forEach((j, rank) => {
      const linking = linkingTopics(dataset, forest, context, topics[i], c.rows[j]);
      const explanation = [retrievalExplanation(c, j), ...linking.slice(0, 2)].join('; ');
      builder.add({ topic: i, content: c.rows[j], rank: rank + 1, score: final[i][j], stages: { retrieval: c.neural[j], lexical: c.lexical[j], fused: c.fused[j], rerank: p[j] }, explanation });
    });
  });
  return { table: builder.build(), probabilities, scores: final, candidates, ruleKept };
}
