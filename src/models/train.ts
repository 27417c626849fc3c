/**
 * Two-tower training (Yi et al., "Sampling-Bias-Corrected Neural Modeling for
 * Large Corpus Item Recommendations", RecSys 2019; TensorFlow Recommenders'
 * Retrieval task), end to end with the GraphSAGE topic aggregator.
 *
 * Each epoch draws (topic, content) pairs from the training links (at most
 * `maxPairsPerTopic` per topic, so a tag with 20,000 packages does not fill
 * the epoch), groups them by content language (a batch never mixes
 * languages, so in-batch negatives are always plausible ones), and for each
 * batch minimises the in-batch softmax with logQ correction, accidental-hit
 * masking and optional hard negatives, with Adam and a warm-up + cosine
 * learning-rate schedule. After every epoch, recall@K on validation topics
 * (held out of training too) decides early stopping; the best weights win.
 * Each epoch ends with a checkpoint, so a killed run resumes where it was.
 */
import { tf, type Tensor, type Tensor2D, type Variable } from '../runtime/tf.ts';
import type { SentenceEncoder } from '../pretrained/encoder.ts';
import { assertTrainable } from '../runtime/backend.ts';
import { TwoTowerModel, type TwoTowerShape } from './two-tower.ts';
import { inBatchSoftmaxLoss } from './losses/in-batch-softmax.ts';
import { StreamingFrequencyEstimator, ExactFrequencyEstimator, type FrequencyEstimator } from './frequency-estimator.ts';
import { candidateInput, embedContent, embedTopics, linkedContent, queryInput, withContentTopics, type TowerData } from './tower-data.ts';
import type { NamedArray } from '../runtime/weights.ts';
import { Adam } from '../runtime/adam.ts';
import { localize, weightName } from '../runtime/variables.ts';
import { gatherRows } from '../runtime/ops.ts';
import { isHetero, type EncoderConfig, type GraphSageConfig, type TrainingConfig } from './config.ts';
import { BruteForceIndex } from '../ann/brute-force.ts';
import { rngFor, shuffleInPlace, type Rng } from '../random.ts';
import { recallAtK } from '../eval/metrics.ts';
import { hasLink } from '../data/links.ts';

export interface TrainInputs {
  data: TowerData;
  /**
   * Links training may see (held-out and validation topics already emptied):
   * the positives of the training topics, and what a hetero aggregator reads
   * of the neighbours' links. [topics]
   */
  links: Uint32Array[];
  /** Topic rows to train on (their links are the positives). */
  trainTopics: Uint32Array;
  /** Topic rows whose links score validation recall (not trained on). */
  validationTopics: Uint32Array;
  /** Lexical top-k content rows per topic row, for hard negatives (sparse: only training topics need one). */
  lexicalCandidates?: Map<number, Uint32Array>;
  encoder: EncoderConfig;
  graphsage: GraphSageConfig;
  training: TrainingConfig;
  seed: number;
  /** Where each epoch's checkpoint goes; training resumes from the one there when it matches. */
  checkpoints?: CheckpointStore;
  onEpoch?: (report: EpochReport) => void;
  /** After every batch: 0-based epoch, 1-based step within it, steps in the epoch, the batch loss. */
  onStep?: (epoch: number, step: number, stepsInEpoch: number, loss: number) => void;
  /** Called with the untrained model's validation recall (not on resume). */
  onStart?: (initialRecall: number) => void;
  /**
   * The pretrained encoder whose top layers are fine-tuned (encoder.fineTuneLayers > 0);
   * the trained model owns it. Its layers get their own Adam at encoder.fineTuneLearningRate,
   * whose moments are not checkpointed (a resumed run restarts them).
   */
  sentence?: SentenceEncoder;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  validationRecall: number;
  learningRate: number;
  seconds: number;
  pairs: number;
  best: boolean;
}

export interface TrainResult {
  model: TwoTowerModel;
  history: EpochReport[];
  bestEpoch: number;
  bestRecall: number;
  /** Pairs per second over all epochs. */
  examplesPerSecond: number;
  resumedFrom: number;
  /** Validation recall@K of the untrained model (NaN when resumed). */
  initialRecall: number;
}

/** Progress of a run, saved with each checkpoint. */
export interface CheckpointState {
  fingerprint: string;
  epoch: number;
  step: number;
  bestEpoch: number;
  bestRecall: number;
  sinceBest: number;
  history: EpochReport[];
}

/** One epoch's batches of (topic, content) pairs, each batch from one content language. */
export function epochBatches(inputs: Pick<TrainInputs, 'data' | 'links' | 'trainTopics'>, config: TrainingConfig, rng: Rng): { topics: Uint32Array; content: Uint32Array }[] {
  const byLanguage = new Map<number, { topics: number[]; content: number[] }>();
  for (const t of inputs.trainTopics) {
    let positives = Array.from(inputs.links[t]);
    if (positives.length > config.maxPairsPerTopic) positives = shuffleInPlace(positives, rng).slice(0, config.maxPairsPerTopic);
    for (const c of positives) {
      const language = inputs.data.languageIds[c];
      let group = byLanguage.get(language);
      if (!group) byLanguage.set(language, (group = { topics: [], content: [] }));
      group.topics.push(t);
      group.content.push(c);
    }
  }
  const batches: { topics: Uint32Array; content: Uint32Array }[] = [];
  for (const language of [...byLanguage.keys()].sort((a, b) => a - b)) {
    const group = byLanguage.get(language)!;
    const order = shuffleInPlace(Array.from(group.topics.keys()), rng);
    for (let start = 0; start + 1 < order.length; start += config.batchSize) {
      const slice = order.slice(start, start + config.batchSize);
      if (slice.length < 2) continue;
      batches.push({ topics: Uint32Array.from(slice, (i) => group.topics[i]), content: Uint32Array.from(slice, (i) => group.content[i]) });
    }
  }
  return shuffleInPlace(batches, rng);
}

/** Learning rate at `step` of `total`: linear warm-up, then cosine decay to 5% of the peak. */
export function learningRateAt(config: TrainingConfig, step: number, total: number): number {
  const peak = config.learningRate;
  if (step < config.warmupSteps) return (peak * (step + 1)) / config.warmupSteps;
  const progress = Math.min(1, (step - config.warmupSteps) / Math.max(1, total - config.warmupSteps));
  return peak * (0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** Every weight of the model: the dense variables and the embedding table (with its Adam moments when `withMoments`). */
export function snapshot(model: TwoTowerModel, withMoments = false): NamedArray[] {
  const dense = model.variables.map((v) => ({ name: weightName(v), shape: v.shape.slice(), values: (v.dataSync() as Float32Array).slice() }));
  const table = model.encoder.embedding.state();
  return [...dense, ...(withMoments ? table.map((a) => ({ ...a, values: a.values.slice() })) : [{ ...table[0], values: table[0].values.slice() }])];
}

/** Loads weights written by `snapshot` into the model. */
export function restore(model: TwoTowerModel, arrays: readonly NamedArray[]): void {
  const byName = new Map(arrays.map((a) => [a.name, a]));
  for (const v of model.variables) {
    const a = byName.get(weightName(v))!;
    const value = tf.tensor(a.values, a.shape, 'float32');
    v.assign(value);
    value.dispose();
  }
  model.encoder.embedding.load(arrays);
}

/** Names and shapes `snapshot` writes, for checking a file before loading it. */
export function expectedShapes(model: TwoTowerModel, withMoments = false): { name: string; shape: number[] }[] {
  const { name, rows, dim } = model.encoder.embedding;
  const names = withMoments ? [name, `${name}/adam_m`, `${name}/adam_v`] : [name];
  return [...model.variables.map((v) => ({ name: weightName(v), shape: v.shape.slice() })), ...names.map((n) => ({ name: n, shape: [rows, dim] }))];
}

/** Shape of the model for a dataset and config. */
export function modelShape(data: TowerData, encoder: EncoderConfig, graphsage: GraphSageConfig): TwoTowerShape {
  return {
    encoder: { vocab: encoder.vocab, dim: encoder.dim, hidden: encoder.hidden, maxFeatures: encoder.maxFeatures },
    graphsage: graphsage.aggregator,
    layers: graphsage.aggregator === 'off' ? 0 : graphsage.fanouts.length,
    ...(isHetero(graphsage.aggregator) ? { contentFanout: graphsage.contentFanout } : {}),
    kinds: data.kinds.length,
    languages: data.languages.length,
    ...(data.pretrained ? { pretrainedDim: data.pretrained.dim } : {}),
    ...(data.pretrained && encoder.fineTuneLayers > 0 ? { fineTuneLayers: encoder.fineTuneLayers } : {}),
    ...(graphsage.contentTopics > 0 ? { contentTopics: graphsage.contentTopics } : {}),
  };
}

/** recall@K of validation topics against all content, by exact search. */
export function validationRecall(model: TwoTowerModel, inputs: Pick<TrainInputs, 'data' | 'links' | 'validationTopics' | 'graphsage' | 'seed'>, answers: Uint32Array[], k: number, contentVectors?: Float32Array): number {
  const { data, validationTopics } = inputs;
  if (validationTopics.length === 0) return 0;
  const d = model.shape.encoder.dim;
  const vectors = contentVectors ?? embedContent(model, data);
  const index = new BruteForceIndex(d);
  index.add(vectors, Uint32Array.from(data.dataset.content.keys()));
  // The validation topics' own links are empty in `links`: they feed no query, as held-out topics' will not.
  const queries = embedTopics(model, data, validationTopics, inputs.graphsage.fanouts, rngFor(inputs.seed, 'validation/sample'), inputs.links);
  const results = index.searchBatch(queries, k);
  const ranked = new Map<string, Uint32Array>();
  const gold = new Map<string, Uint32Array>();
  validationTopics.forEach((t, i) => {
    ranked.set(String(t), results[i].labels);
    gold.set(String(t), answers[i]);
  });
  return recallAtK(ranked, gold, [k])[`recall@${k}`];
}

/** Hard negatives for a batch: one random pick from each row's top-k list that is not a true link, up to `count`. */
function hardNegatives(inputs: TrainInputs, pool: Map<number, Uint32Array> | undefined, topics: Uint32Array, rng: Rng): Uint32Array {
  const { hardNegativesPerBatch } = inputs.training;
  if (!pool || hardNegativesPerBatch === 0) return new Uint32Array(0);
  const out: number[] = [];
  const rows = shuffleInPlace(Array.from(topics.keys()), rng);
  for (const i of rows) {
    if (out.length >= hardNegativesPerBatch) break;
    const t = topics[i];
    const list = pool.get(t);
    if (!list || list.length === 0) continue;
    for (let attempt = 0; attempt < 4; attempt++) {
      const c = list[Math.floor(rng() * list.length)];
      if (!hasLink(inputs.links[t], c)) {
        out.push(c);
        break;
      }
    }
  }
  return Uint32Array.from(out);
}

/** Top-k content of each training topic under the current model (the 'model' hard-negative source). */
function modelCandidates(model: TwoTowerModel, inputs: TrainInputs, contentVectors: Float32Array, k: number, rng: Rng): Map<number, Uint32Array> {
  const index = new BruteForceIndex(model.shape.encoder.dim);
  index.add(contentVectors, Uint32Array.from(inputs.data.dataset.content.keys()));
  const queries = embedTopics(model, inputs.data, inputs.trainTopics, inputs.graphsage.fanouts, rng, inputs.links);
  const results = index.searchBatch(queries, k);
  return new Map(Array.from(inputs.trainTopics, (t, i) => [t, results[i].labels]));
}

function fingerprintOf(inputs: TrainInputs): string {
  const { encoder, graphsage, seed } = inputs;
  // How often checkpoints are written does not change what is trained.
  const { checkpointSeconds: _, ...training } = inputs.training;
  return JSON.stringify({ encoder, graphsage, training, seed, topics: inputs.trainTopics.length, validation: inputs.validationTopics.length, content: inputs.data.dataset.content.length });
}

/** One epoch's checkpoint: the run's state, the weights with the table's moments, the optimizer's moments, the best weights so far. */
export interface Checkpoint {
  state: CheckpointState;
  weights: NamedArray[];
  optimizer: NamedArray[];
  best?: NamedArray[];
}

/**
 * Where checkpoints live (the model folder's checkpoint/, see
 * pipeline/artifact.ts). `load` returns undefined when there is none; it
 * checks the stored weights against the shapes given.
 */
export interface CheckpointStore {
  load(expect: { weights: { name: string; shape: number[] }[]; best: { name: string; shape: number[] }[] }): Promise<Checkpoint | undefined>;
  save(checkpoint: Checkpoint): Promise<void>;
}

async function saveCheckpoint(store: CheckpointStore, model: TwoTowerModel, optimizer: Adam, best: NamedArray[] | undefined, state: CheckpointState): Promise<void> {
  await store.save({ state, weights: snapshot(model, true), optimizer: optimizer.state(weightName), best });
}

async function loadCheckpoint(store: CheckpointStore, fingerprint: string, model: TwoTowerModel, optimizer: Adam): Promise<{ state: CheckpointState; best?: NamedArray[] } | undefined> {
  const checkpoint = await store.load({ weights: expectedShapes(model, true), best: expectedShapes(model) });
  if (!checkpoint || checkpoint.state.fingerprint !== fingerprint) return undefined;
  restore(model, checkpoint.weights);
  optimizer.load(checkpoint.optimizer, weightName);
  return { state: checkpoint.state, best: checkpoint.best };
}

/** Trains a two-tower model; returns it with the best validation weights loaded. */
export async function trainTwoTower(given: TrainInputs): Promise<TrainResult> {
  assertTrainable();
  const model = new TwoTowerModel(modelShape(given.data, given.encoder, given.graphsage), given.seed, given.sentence);
  // graphsage.contentTopics: items read the training topics that link them (the validation topics' lists are empty).
  const inputs = { ...given, data: withContentTopics(model, given.data, given.links) };
  const { data, training, seed } = inputs;
  // The towers' dense variables, and apart (their own learning rate) the fine-tuned layers; the table is updated by rows.
  const fineTuned = new Set(inputs.sentence?.variables ?? []);
  const towers = model.variables.filter((v) => !fineTuned.has(v));
  // Bias corrections in float32, as tf.train.adam (which trained the towers before the Adam family) keeps them.
  const optimizer = new Adam(towers, { float32Corrections: true });
  const fineOptimizer = fineTuned.size ? new Adam([...fineTuned], { float32Corrections: true }) : undefined;
  const fanouts = inputs.graphsage.aggregator === 'off' ? undefined : inputs.graphsage.fanouts;
  // Hetero aggregators: the items of the neighbours' visible links; a topic's own list is never read for it.
  const content = linkedContent(model, inputs.links);
  const vocab = inputs.encoder.vocab;
  const answers = Array.from(inputs.validationTopics, (t) => data.dataset.links[t]);
  const fingerprint = fingerprintOf(inputs);

  let estimator: FrequencyEstimator | undefined;
  if (training.logQ === 'streaming') {
    estimator = new StreamingFrequencyEstimator({ learningRate: training.estimatorAlpha, seed: rngFor(seed, 'logq')() * 2 ** 31 | 0 });
  } else if (training.logQ === 'exact') {
    const counts = new Uint32Array(data.dataset.content.length);
    for (const t of inputs.trainTopics) for (const c of inputs.links[t]) counts[c]++;
    estimator = new ExactFrequencyEstimator(counts);
  }

  // Steps per epoch are known up front (pairs per topic are capped), so the schedule has a fixed length.
  const stepsPerEpoch = epochBatches(inputs, training, rngFor(seed, 'epoch/0')).length;
  const totalSteps = stepsPerEpoch * training.epochs;

  let state: CheckpointState = { fingerprint, epoch: 0, step: 0, bestEpoch: -1, bestRecall: -1, sinceBest: 0, history: [] };
  let best: NamedArray[] | undefined;
  let resumedFrom = 0;
  if (inputs.checkpoints) {
    const loaded = await loadCheckpoint(inputs.checkpoints, fingerprint, model, optimizer);
    if (loaded) {
      state = loaded.state;
      best = loaded.best;
      resumedFrom = state.epoch;
    }
  }
  // The untrained model is a random projection of the TF-IDF features: its recall is the starting point to beat.
  const initialRecall = resumedFrom === 0 ? validationRecall(model, inputs, answers, training.recallK) : NaN;
  if (resumedFrom === 0) inputs.onStart?.(initialRecall);
  let hardPool = training.hardNegatives === 'lexical' ? inputs.lexicalCandidates : undefined;
  let trainedPairs = 0;
  let trainedSeconds = 0;
  let savedAt = performance.now();

  for (let epoch = state.epoch; epoch < training.epochs && state.sinceBest < training.patience; epoch++) {
    const t0 = performance.now();
    const rng = rngFor(seed, `epoch/${epoch}`);
    // The first call to epochBatches above used epoch 0's generator; a fresh one replays it exactly.
    const batches = epochBatches(inputs, training, rng);
    const sampleRng = rngFor(seed, `epoch/${epoch}/sample`);
    let lossSum = 0;
    let pairs = 0;
    let learningRate = training.learningRate;
    for (let b = 0; b < batches.length; b++) {
      const batch = batches[b];
      learningRate = learningRateAt(training, state.step, totalSteps);
      const negatives = hardNegatives(inputs, hardPool, batch.topics, sampleRng);
      const columns = new Uint32Array(batch.content.length + negatives.length);
      columns.set(batch.content);
      columns.set(negatives, batch.content.length);
      const batchRows = batch.topics.length;
      const accidental = new Uint8Array(batchRows * columns.length);
      for (let i = 0; i < batchRows; i++) {
        const positives = inputs.links[batch.topics[i]];
        for (let j = 0; j < columns.length; j++) if (j !== i && hasLink(positives, columns[j])) accidental[i * columns.length + j] = 1;
      }
      let logQ: Float32Array | undefined;
      if (estimator) {
        estimator.update(batch.content, state.step);
        logQ = Float32Array.from(estimator.probability(columns), Math.log);
        // logQ corrects for how often in-batch sampling draws an item. Hard negatives are
        // drawn another way (and are often never drawn in-batch, so their estimate is the
        // floor, which would boost them by ~14 nats): they get the batch's mean correction.
        if (negatives.length > 0) {
          let mean = 0;
          for (let j = 0; j < batch.content.length; j++) mean += logQ[j];
          logQ.fill(mean / batch.content.length, batch.content.length);
        }
      }
      const seeds = [...new Set(batch.topics)];
      const seedPosition = new Map(seeds.map((t, i) => [t, i]));
      const query = queryInput(data, Uint32Array.from(seeds), fanouts, sampleRng, vocab, content);
      // The items' topics leave out every query of the batch: no query meets its own text in a candidate.
      const candidate = candidateInput(data, columns, vocab, sampleRng, data.contentTopics ? new Set(batch.topics) : undefined);
      const rowSeeds = Int32Array.from(batch.topics, (t) => seedPosition.get(t)!);
      const { unique, local } = localize([query.nodes.ids, candidate.text.ids, query.content?.input.text.ids ?? new Int32Array(0), candidate.topics?.nodes.ids ?? new Int32Array(0)]);
      const rows = model.encoder.embedding.gatherVariable(unique);
      let loss: number;
      try {
        const { value, grads } = tf.variableGrads(() => {
          const queries = gatherRows(model.queries(query, { rows: rows as unknown as Tensor2D, local: local[0] }, { rows: rows as unknown as Tensor2D, local: local[2] }), rowSeeds); // [B, D]
          const candidates = model.candidates(candidate, { rows: rows as unknown as Tensor2D, local: local[1] }, { rows: rows as unknown as Tensor2D, local: local[3] }); // [M, D]
          return inBatchSoftmaxLoss({ queries, candidates, temperature: training.temperature, logQ, accidentalHits: accidental });
        }, [rows, ...model.variables] as Variable[]);
        loss = (await value.data())[0];
        // No rows when the towers read pretrained vectors alone (encoder.bag false).
        const rowGradient = grads[rows.name] as Tensor | undefined;
        if (rowGradient) model.encoder.embedding.applyAdam(unique, (await rowGradient.data()) as Float32Array, learningRate, state.step + 1);
        tf.tidy(() => {
          optimizer.apply(towers.map((v) => grads[v.name]), learningRate);
          fineOptimizer?.apply([...fineTuned].map((v) => grads[v.name]), inputs.encoder.fineTuneLearningRate);
        });
        value.dispose();
        for (const g of Object.values(grads)) g.dispose();
      } finally {
        rows.dispose();
      }
      lossSum += loss * batchRows;
      pairs += batchRows;
      state.step++;
      inputs.onStep?.(epoch, b + 1, batches.length, loss);
    }
    const contentVectors = embedContent(model, data);
    const recall = validationRecall(model, inputs, answers, training.recallK, contentVectors);
    if (training.hardNegatives === 'model') hardPool = modelCandidates(model, inputs, contentVectors, training.hardNegativePool, rngFor(seed, `epoch/${epoch}/mine`));
    const seconds = (performance.now() - t0) / 1000;
    trainedPairs += pairs;
    trainedSeconds += seconds;
    const isBest = recall > state.bestRecall;
    if (isBest) {
      state.bestRecall = recall;
      state.bestEpoch = epoch;
      state.sinceBest = 0;
      best = snapshot(model);
    } else {
      state.sinceBest++;
    }
    const report: EpochReport = { epoch, loss: lossSum / Math.max(1, pairs), validationRecall: recall, learningRate, seconds, pairs, best: isBest };
    state.history.push(report);
    state.epoch = epoch + 1;
    const last = state.epoch >= training.epochs || state.sinceBest >= training.patience;
    if (inputs.checkpoints && (last || (performance.now() - savedAt) / 1000 >= training.checkpointSeconds)) {
      await saveCheckpoint(inputs.checkpoints, model, optimizer, best, state);
      savedAt = performance.now();
    }
    inputs.onEpoch?.(report);
  }
  if (best) restore(model, best);
  optimizer.dispose();
  fineOptimizer?.dispose();
  return {
    model,
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestRecall: state.bestRecall,
    examplesPerSecond: trainedSeconds > 0 ? trainedPairs / trainedSeconds : 0,
    resumedFrom,
    initialRecall,
  };
}
