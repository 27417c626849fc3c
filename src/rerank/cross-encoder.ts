/**
 * The cross-encoder reranker: a small transformer that reads a topic and a
 * candidate content item together and outputs the logit that the content
 * belongs to the topic.
 *
 * Follows Nogueira & Cho (2019), "Passage Re-ranking with BERT": the pair is
 * one sequence `[CLS] topic [SEP] content [SEP]` with segment embeddings, so
 * every word attends across the pair, and a binary classifier on the [CLS]
 * vector is trained with cross-entropy on relevant / non-relevant pairs. The
 * encoder is a Transformer (Vaswani et al. 2017) with pre-LayerNorm blocks
 * (see ./transformer.ts), trained from scratch at a size that runs on a CPU;
 * its token embeddings can start from the text encoder's (./token-init.ts).
 *
 *   ids, segments [B, L] -> token + position + segment embeddings -> LayerNorm
 *     -> N encoder layers -> LayerNorm -> [CLS] vector [B, H]
 *     -> concat standardised side features [B, F] -> GELU MLP -> logit [B]
 *
 * Side features (retrieval scores, ranks, graph signals: whatever the
 * pipeline computes per pair) enter after the encoder, standardised by a mean
 * and standard deviation fitted on the first training set and saved with the
 * model.
 *
 * Input: a `PairSet` (./tokens.ts). Texts are tokenised once, pairs name
 * them by index, so a topic met by 50 candidates is tokenised once:
 *
 *   const model = new CrossEncoder(F, { seed });
 *   const topics = model.tokenize(topicTexts);       // every topic, by topic index
 *   const contents = model.tokenize(contentTexts);   // every content item
 *   await model.train({ topics, contents, topicIndex, contentIndex, features, labels }, { epochs: 3 }, { validation });
 *   const p = model.score({ topics, contents, topicIndex: t, contentIndex: c, features: f }); // [N] probabilities
 *
 * Scoring sorts the pairs by length and pads each batch only to its longest
 * pair, so pass all candidates in one call. Artifact: a folder with
 * `model.json` (format, config, feature stats, training provenance, weights
 * manifest) and `weights.bin`.
 */
import { localize } from '../runtime/variables.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type Tensor1D, type Tensor2D, type Tensor3D, type Variable, type Scalar } from '../runtime/tf.ts';
import { assertTrainable } from '../runtime/backend.ts';
import { ArtifactError, ConfigError, DataError, UsageError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { deriveSeed, fillNormal, rngFor, shuffleInPlace } from '../random.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { Adam, type RowGradient } from '../runtime/adam.ts';
import { rocAuc } from '../eval/auc.ts';
import { encoderLayer, dense, gelu, layerNorm, type Dropout, type EncoderLayerWeights, type NormWeights } from './transformer.ts';
import { add, gatherRows } from '../runtime/ops.ts';
import { checkBatch, checkPairSet, checkVocabSize, encodePairs, pairLengths, RESERVED_IDS, tokenizeTexts, type EncodedBatch, type PairSet, type TokenizedTexts } from './tokens.ts';
import { tokenEmbeddingsFromEncoder } from './token-init.ts';
import { parseWeightsManifest, readWeights, writeWeights, type NamedArray, type WeightsManifest } from '../runtime/weights.ts';

const SCOPE = 'trellis/rerank/cross-encoder';
const FORMAT = 'trellis-cross-encoder';
const VERSION = 1;
export const CROSS_ENCODER_CONFIG_FILE = 'model.json';
export const CROSS_ENCODER_WEIGHTS_FILE = 'weights.bin';
const RETRAIN_HINT = 'Retrain the reranker to rewrite the model folder.';

/** The model's shape and seed; saved in `model.json`. */
export interface CrossEncoderOptions {
  /** Word buckets V (a power of two); the embedding table has V + 4 rows. Default 2^15. */
  vocabSize?: number;
  /** Longest pair sequence, special tokens included. Default 96. */
  maxLength?: number;
  /** Most topic tokens kept; the content fills the rest. Default 40. */
  maxTopicTokens?: number;
  /** Hidden size H. Default 64. */
  hidden?: number;
  /** Attention heads (must divide H). Default 4. */
  heads?: number;
  /** Encoder layers. Default 2. */
  layers?: number;
  /** Feed-forward width. Default 128. */
  ffn?: number;
  /** Width of the MLP over [CLS] and side features. Default 64. */
  headHidden?: number;
  /** Dropout rate on embeddings, attention and FFN outputs, and the MLP, during training. Default 0.1. */
  dropout?: number;
  /** Seed of weight init, shuffling and dropout. Default 0. */
  seed?: number;
}

export const DEFAULT_CROSS_ENCODER_OPTIONS: Readonly<Required<CrossEncoderOptions>> = Object.freeze({
  vocabSize: 1 << 15,
  maxLength: 96,
  maxTopicTokens: 40,
  hidden: 64,
  heads: 4,
  layers: 2,
  ffn: 128,
  headHidden: 64,
  dropout: 0.1,
  seed: 0,
});

/** One `train` call. */
export interface CrossEncoderTrainOptions {
  /** Passes over the training pairs. Default 3. */
  epochs?: number;
  /** Pairs per step. Default 64. */
  batchSize?: number;
  /** Peak learning rate. Default 1e-3. */
  learningRate?: number;
  /** Fraction of all steps spent warming up linearly from 0 to the peak; then linear decay to 0. Default 0.1. */
  warmup?: number;
  /** Decoupled weight decay of the matrices (AdamW). Default 0.01. */
  weightDecay?: number;
  /** Global gradient norm clip; 0 turns it off. Default 1. */
  clipNorm?: number;
  /** Loss weight of positive pairs (negatives weigh 1). Default 1. */
  positiveWeight?: number;
  /** Adam's moment decay rates and epsilon. Default 0.9, 0.999, 1e-8. */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export const DEFAULT_CROSS_ENCODER_TRAIN_OPTIONS: Readonly<Required<CrossEncoderTrainOptions>> = Object.freeze({
  epochs: 3,
  batchSize: 64,
  learningRate: 1e-3,
  warmup: 0.1,
  weightDecay: 0.01,
  clipNorm: 1,
  positiveWeight: 1,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
});

export interface ScoreOptions {
  /** Pairs per forward pass. Default 256. */
  batchSize?: number;
}

export const DEFAULT_SCORE_OPTIONS: Readonly<Required<ScoreOptions>> = Object.freeze({ batchSize: 256 });

/** What one epoch did; passed to `onEpoch`. */
export interface EpochReport {
  /** 1-based. */
  epoch: number;
  /** Steps taken so far in this `train` call. */
  steps: number;
  /** Mean (weighted) training loss over the epoch's steps. */
  trainLoss: number;
  /** Mean unweighted cross-entropy on the validation pairs, when given. */
  validationLoss?: number;
  /** ROC AUC on the validation pairs, when given (NaN with one class). */
  validationAuc?: number;
}

/** Non-JSON parts of a `train` call. */
export interface TrainHooks {
  /** Labelled pairs scored after every epoch. */
  validation?: PairSet;
  /** Called after every epoch; return 'stop' to end training there. */
  onEpoch?: (report: EpochReport) => void | 'stop';
  /** Called after every step with its loss (for progress bars and benchmarks). */
  onStep?: (step: number, loss: number) => void;
}

export interface TrainReport {
  epochs: EpochReport[];
  steps: number;
}

/** Per-feature standardisation fitted on training pairs. */
export interface FeatureStats {
  /** [F] */
  mean: Float32Array;
  /** [F], at least 1e-6 (a constant feature is divided by 1). */
  std: Float32Array;
}

/** Contents of `model.json`. */
interface ModelFile {
  format: typeof FORMAT;
  version: typeof VERSION;
  config: Required<CrossEncoderOptions>;
  featureCount: number;
  featureStats: { mean: number[]; std: number[] } | null;
  /**
   * The last `train` call's options and pair count (provenance), and the
   * steps taken over all calls (later calls draw new shuffles and dropout
   * masks from it).
   */
  training: { options: Required<CrossEncoderTrainOptions>; pairs: number; steps: number } | null;
  weights: WeightsManifest;
}

const MODEL_FILE_KEYS = ['format', 'version', 'config', 'featureCount', 'featureStats', 'training', 'weights'];

type Dense = { kernel: Variable; bias: Variable };

interface Weights {
  token: Variable; // [V + 4, H]
  position: Variable; // [maxLength, H]
  segment: Variable; // [2, H]
  embeddingNorm: NormWeights;
  layers: EncoderLayerWeights[];
  finalNorm: NormWeights;
  headHidden: Dense; // [H + F, headHidden]
  headOutput: Dense; // [headHidden, 1]
}

/**
 * A cross-encoder and its variables. Call `initRuntime()` (src/models/runtime.ts)
 * before constructing one; `dispose()` frees its tensors.
 */
export class CrossEncoder {
  readonly options: Readonly<Required<CrossEncoderOptions>>;
  /** Side features per pair, F. */
  readonly featureCount: number;
  private stats: FeatureStats | null = null;
  private training: ModelFile['training'] = null;
  private readonly weights: Weights;
  /** Every variable by name, in save order. */
  private readonly named: { name: string; variable: Variable; decayed: boolean }[] = [];
  private disposed = false;

  constructor(featureCount: number, options: CrossEncoderOptions = {}) {
    const o = resolveOptions(SCOPE, DEFAULT_CROSS_ENCODER_OPTIONS as Required<CrossEncoderOptions>, options);
    checkModelOptions(o);
    if (!Number.isInteger(featureCount) || featureCount < 0) {
      throw new UsageError(`${SCOPE}: featureCount must be a non-negative integer (got ${featureCount}).`);
    }
    this.options = Object.freeze(o);
    this.featureCount = featureCount;
    const H = o.hidden;
    const embedding = (name: string, rows: number) => this.add(name, [rows, H], 'embedding', false);
    const norm = (name: string): NormWeights => ({ gamma: this.add(`${name}/gamma`, [H], 'ones', false), beta: this.add(`${name}/beta`, [H], 'zeros', false) });
    const denseWeights = (name: string, input: number, output: number): Dense => ({
      kernel: this.add(`${name}/kernel`, [input, output], 'glorot', true),
      bias: this.add(`${name}/bias`, [output], 'zeros', false),
    });
    this.weights = {
      token: embedding('embeddings/token', o.vocabSize + RESERVED_IDS),
      position: embedding('embeddings/position', o.maxLength),
      segment: embedding('embeddings/segment', 2),
      embeddingNorm: norm('embeddings/norm'),
      layers: Array.from({ length: o.layers }, (_, l) => ({
        attentionNorm: norm(`layer${l}/attention/norm`),
        query: denseWeights(`layer${l}/attention/query`, H, H),
        key: denseWeights(`layer${l}/attention/key`, H, H),
        value: denseWeights(`layer${l}/attention/value`, H, H),
        output: denseWeights(`layer${l}/attention/output`, H, H),
        ffnNorm: norm(`layer${l}/ffn/norm`),
        ffnIn: denseWeights(`layer${l}/ffn/in`, H, o.ffn),
        ffnOut: denseWeights(`layer${l}/ffn/out`, o.ffn, H),
      })),
      finalNorm: norm('final/norm'),
      headHidden: denseWeights('head/hidden', H + featureCount, o.headHidden),
      headOutput: denseWeights('head/output', o.headHidden, 1),
    };
  }

  /** Creates a variable initialised from its own sub-seed, so adding a variable never shifts another's values. */
  private add(name: string, shape: number[], init: 'embedding' | 'glorot' | 'ones' | 'zeros', decayed: boolean): Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (init === 'ones') values.fill(1);
    const rng = rngFor(this.options.seed, `rerank/init/${name}`);
    if (init === 'embedding') fillNormal(values, rng, 0, 0.02);
    if (init === 'glorot') fillNormal(values, rng, 0, Math.sqrt(2 / (shape[0] + shape[1])));
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
    this.named.push({ name, variable, decayed });
    return variable;
  }

  /** What the pairs it reads depend on: ensemble members must agree. */
  get pairShape(): string {
    return JSON.stringify({ features: this.featureCount, vocabSize: this.options.vocabSize, maxLength: this.options.maxLength, maxTopicTokens: this.options.maxTopicTokens });
  }

  /** Trainable parameters. */
  get parameterCount(): number {
    return this.named.reduce((n, v) => n + v.variable.size, 0);
  }

  /** The fitted side-feature standardisation, or null before the first `train`. */
  get featureStats(): FeatureStats | null {
    return this.stats;
  }

  /** Tokenises texts for this model's vocabulary, keeping the most words any pair can use. */
  tokenize(texts: readonly string[]): TokenizedTexts {
    return tokenizeTexts(texts, this.options.vocabSize, this.options.maxLength - 3);
  }

  /**
   * Replaces the word rows of the token embedding (ids 4 .. V + 3) with rows
   * of the text encoder's table [rows, cols] (see ./token-init.ts); the
   * special tokens keep their initial values. When the encoder has more rows
   * than V, `words` (the corpus' lowercased tokens) pick the rows its words
   * actually use.
   */
  initTokenEmbeddings(table: Float32Array, rows: number, cols: number, words?: Iterable<string>): void {
    this.assertLive();
    const { vocabSize, hidden, seed } = this.options;
    const wordRows = tokenEmbeddingsFromEncoder(table, rows, cols, vocabSize, hidden, seed, words); // [V, H]
    const values = this.weights.token.dataSync() as Float32Array; // [V + 4, H], a copy
    values.set(wordRows, RESERVED_IDS * hidden);
    tf.tidy(() => this.weights.token.assign(tf.tensor2d(values, [vocabSize + RESERVED_IDS, hidden])));
  }

  /** Every weight by name, shape and a copy of its values, in save order. */
  exportWeights(): NamedArray[] {
    this.assertLive();
    return this.named.map(({ name, variable }) => ({ name, shape: [...variable.shape], values: variable.dataSync() as Float32Array }));
  }

  /**
   * Logits [B] for an encoded batch. `features` are standardised, [B * F].
   * Token vectors are rows `tokens.ids` of `tokens.table`: the whole token
   * embedding when scoring, the batch's own rows when training. With
   * `dropoutSeed` set, dropout is on (training); otherwise off.
   */
  private forward(batch: EncodedBatch, features: Float32Array, tokens: { table: Tensor2D; ids: Int32Array }, dropoutSeed?: number): Tensor1D {
    const { hidden: H, heads, dropout: rate } = this.options;
    const B = batch.size;
    const L = batch.length;
    let site = 0;
    const dropout: Dropout = (x) => (dropoutSeed === undefined || rate === 0 ? x : (tf.dropout(x, rate, undefined, deriveSeed(dropoutSeed, `site${site++}`)) as typeof x));
    const w = this.weights;

    const mask = tf.tensor4d(batch.mask, [B, 1, 1, L]); // [B, 1, 1, L]
    const words = gatherRows(tokens.table, tokens.ids); // [B*L, H]
    const segments = gatherRows(w.segment as Tensor2D, batch.segments); // [B*L, H]
    const positions = tf.slice(w.position, [0, 0], [L, H]); // [L, H]
    const summed = tf.add(tf.reshape(add(words, segments), [B, L, H]), positions) as Tensor3D; // [B, L, H]
    let x = dropout(layerNorm(summed, w.embeddingNorm)); // [B, L, H]
    for (let l = 0; l < w.layers.length; l++) {
      const last = l === w.layers.length - 1;
      x = encoderLayer(x, mask, w.layers[l], heads, dropout, last ? 'first' : 'all'); // [B, L, H], last: [B, 1, H]
    }
    const cls = layerNorm(tf.reshape(x, [B, H]) as Tensor2D, w.finalNorm); // [B, H]
    const joined = this.featureCount > 0 ? tf.concat([cls, tf.tensor2d(features, [B, this.featureCount])], 1) : cls; // [B, H + F]
    const hiddenOut = dropout(gelu(dense(joined, w.headHidden))); // [B, headHidden]
    return tf.reshape(dense(hiddenOut, w.headOutput), [B]) as Tensor1D; // [B]
  }

  /** Standardised features [rows.length * F] of rows `rows` of `features` [N * F]. */
  private standardised(features: Float32Array, rows: ArrayLike<number>): Float32Array {
    const F = this.featureCount;
    const out = new Float32Array(rows.length * F);
    if (F === 0) return out;
    const { mean, std } = this.stats!;
    for (let i = 0; i < rows.length; i++) {
      const from = rows[i] * F;
      for (let f = 0; f < F; f++) out[i * F + f] = (features[from + f] - mean[f]) / std[f];
    }
    return out;
  }

  /** Logits of every pair, batched by similar length. [N] */
  private logits(pairs: PairSet, batchSize: number): Float32Array {
    const n = pairs.topicIndex.length;
    const out = new Float32Array(n);
    const all = Uint32Array.from({ length: n }, (_, i) => i);
    const lengths = pairLengths(pairs, all, this.options.maxLength, this.options.maxTopicTokens);
    // Sorting by length keeps padding (work spent on masked positions) small.
    const order = all.sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let from = 0; from < n; from += batchSize) {
      const rows = order.subarray(from, Math.min(n, from + batchSize));
      const batch = encodePairs(pairs, rows, this.options.maxLength, this.options.maxTopicTokens);
      const features = this.standardised(pairs.features, rows);
      const result = tf.tidy(() => this.forward(batch, features, { table: this.weights.token as Tensor2D, ids: batch.ids })); // [b]
      try {
        const values = result.dataSync();
        for (let i = 0; i < rows.length; i++) out[rows[i]] = values[i];
      } finally {
        result.dispose();
      }
    }
    return out;
  }

  /**
   * Logits of an encoded batch (`encodePairs`) with its pairs' raw side
   * features [B * F]: the step below `score`, for callers that batch
   * themselves. Checks the batch's shape and ids (O(B * L)).
   */
  logitsOf(batch: EncodedBatch, features: Float32Array): Float32Array {
    this.assertLive();
    this.assertReady();
    checkBatch(SCOPE, batch, this.options.vocabSize, this.options.maxLength);
    if (features.length !== batch.size * this.featureCount) {
      throw new DataError(`${SCOPE}: features must hold ${this.featureCount} values per pair (${batch.size * this.featureCount} in all) (got ${features.length}).`);
    }
    const rows = Uint32Array.from({ length: batch.size }, (_, i) => i);
    const standardised = this.standardised(features, rows);
    const result = tf.tidy(() => this.forward(batch, standardised, { table: this.weights.token as Tensor2D, ids: batch.ids })); // [B]
    try {
      return result.dataSync() as Float32Array;
    } finally {
      result.dispose();
    }
  }

  /** Probability that each pair's content belongs to its topic. [N] */
  score(pairs: PairSet, options: ScoreOptions = {}): Float32Array {
    this.assertLive();
    const { batchSize } = resolveOptions(SCOPE, DEFAULT_SCORE_OPTIONS as Required<ScoreOptions>, options);
    checkPositiveInteger('batchSize', batchSize);
    checkPairSet(SCOPE, pairs, this.options.vocabSize, this.featureCount, false);
    this.assertReady();
    const out = this.logits(pairs, batchSize);
    for (let i = 0; i < out.length; i++) out[i] = sigmoid(out[i]);
    return out;
  }

  /**
   * Trains on labelled pairs with binary cross-entropy from logits, AdamW,
   * linear warmup then linear decay. The first call fits the side-feature
   * standardisation on `pairs`; later calls keep it. Same seed, same pairs,
   * same backend -> same weights.
   */
  async train(pairs: PairSet, options: CrossEncoderTrainOptions = {}, hooks: TrainHooks = {}): Promise<TrainReport> {
    this.assertLive();
    const o = resolveOptions(SCOPE, DEFAULT_CROSS_ENCODER_TRAIN_OPTIONS as Required<CrossEncoderTrainOptions>, options);
    checkTrainOptions(o);
    checkPairSet(SCOPE, pairs, this.options.vocabSize, this.featureCount, true);
    if (hooks.validation) checkPairSet(`${SCOPE}: validation`, hooks.validation, this.options.vocabSize, this.featureCount, true);
    const n = pairs.topicIndex.length;
    if (n === 0) throw new UsageError(`${SCOPE}: training needs at least one pair (got 0).`);
    assertTrainable();
    if (this.stats === null) this.stats = fitFeatureStats(pairs.features, n, this.featureCount);

    const stepsPerEpoch = Math.ceil(n / o.batchSize);
    const total = stepsPerEpoch * o.epochs;
    const warmupSteps = Math.floor(o.warmup * total);
    const rate = (step: number) =>
      step < warmupSteps ? (o.learningRate * (step + 1)) / (warmupSteps + 1) : (o.learningRate * (total - step)) / (total - warmupSteps);
    const labels = pairs.labels!;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    // Steps taken by earlier calls: a continued run draws fresh shuffles and dropout masks.
    const before = this.training?.steps ?? 0;
    const shuffleRng = rngFor(this.options.seed, `rerank/shuffle/${before}`);
    // The token table is updated by rows (see runtime/adam.ts); it comes first.
    const tokenTable = this.weights.token;
    const others = this.named.filter((v) => v.variable !== tokenTable);
    const optimizer = new Adam(
      [{ variable: tokenTable, decayed: false, byRows: true }, ...others.map((v) => ({ variable: v.variable, decayed: v.decayed, byRows: false }))],
      { beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay, clipNorm: o.clipNorm },
    );
    const report: TrainReport = { epochs: [], steps: 0 };
    try {
      for (let epoch = 1; epoch <= o.epochs; epoch++) {
        shuffleInPlace(order, shuffleRng);
        let lossSum = 0;
        for (let s = 0; s < stepsPerEpoch; s++) {
          const rows = order.subarray(s * o.batchSize, Math.min(n, (s + 1) * o.batchSize));
          const batch = encodePairs(pairs, rows, this.options.maxLength, this.options.maxTopicTokens);
          const features = this.standardised(pairs.features, rows);
          const targets = Float32Array.from(rows, (p) => labels[p]);
          const { unique: used, local: [local] } = localize([batch.ids]);
          const step = report.steps;
          const dropoutSeed = deriveSeed(this.options.seed, `rerank/dropout/${before + step}`);
          let usedRows: Variable | undefined;
          let loss: Scalar | undefined;
          try {
            loss = tf.tidy(() => {
              // The batch's token rows as a variable of their own: their gradient is [U, H], not [V + 4, H].
              usedRows = tf.variable(tf.gatherND(tokenTable, tf.tensor2d(used, [used.length, 1], 'int32')) as Tensor2D, true); // [U, H]
              const rowsVar = usedRows;
              const y = tf.tensor1d(targets); // [B]
              const trained = [rowsVar, ...others.map((v) => v.variable)];
              const { value, grads } = tf.variableGrads(
                () => bceWithLogits(this.forward(batch, features, { table: rowsVar as Tensor2D, ids: local }, dropoutSeed), y, o.positiveWeight),
                trained,
              );
              const tokenGrad: RowGradient = { rows: used, grad: grads[rowsVar.name] as Tensor2D };
              optimizer.apply([tokenGrad, ...others.map((v) => grads[v.variable.name])], rate(step));
              return value; // []
            });
            const value = loss.dataSync()[0];
            lossSum += value;
            report.steps++;
            hooks.onStep?.(report.steps, value);
          } finally {
            loss?.dispose();
            usedRows?.dispose();
          }
          // Lets timers and signal handlers run between steps.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const epochReport: EpochReport = { epoch, steps: report.steps, trainLoss: lossSum / stepsPerEpoch };
        if (hooks.validation) Object.assign(epochReport, this.evaluate(hooks.validation));
        report.epochs.push(epochReport);
        if (hooks.onEpoch?.(epochReport) === 'stop') break;
      }
    } finally {
      optimizer.dispose();
    }
    this.training = { options: o, pairs: n, steps: before + report.steps };
    return report;
  }

  /** Mean unweighted cross-entropy and ROC AUC on labelled pairs. */
  private evaluate(pairs: PairSet): { validationLoss: number; validationAuc: number } {
    const logits = this.logits(pairs, DEFAULT_SCORE_OPTIONS.batchSize);
    const labels = pairs.labels!;
    let loss = 0;
    for (let i = 0; i < logits.length; i++) {
      const z = logits[i];
      // softplus(z) - y z, computed stably.
      loss += Math.max(z, 0) - labels[i] * z + Math.log1p(Math.exp(-Math.abs(z)));
    }
    return { validationLoss: logits.length > 0 ? loss / logits.length : Number.NaN, validationAuc: rocAuc(logits, labels) };
  }

  /**
   * Writes `model.json` and `weights.bin` into `dir` (created if missing),
   * each atomically; the JSON goes last and holds the weights' checksum, so
   * an interrupted save is detected on load.
   */
  async save(dir: string): Promise<void> {
    this.assertLive();
    const weights = await writeWeights(dir, CROSS_ENCODER_WEIGHTS_FILE, this.exportWeights(), SCOPE);
    const file: ModelFile = {
      format: FORMAT,
      version: VERSION,
      config: { ...this.options },
      featureCount: this.featureCount,
      featureStats: this.stats ? { mean: Array.from(this.stats.mean), std: Array.from(this.stats.std) } : null,
      training: this.training,
      weights,
    };
    await writeFileAtomic(join(dir, CROSS_ENCODER_CONFIG_FILE), (sink) => sink.write(`${JSON.stringify(file, null, 2)}\n`));
  }

  /** Reads a model folder written by `save`; a missing, foreign or corrupt file is an ArtifactError. */
  static async load(dir: string): Promise<CrossEncoder> {
    const path = join(dir, CROSS_ENCODER_CONFIG_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      throw new ArtifactError(`${SCOPE}: ${path} must exist (got ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, RETRAIN_HINT);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ArtifactError(`${SCOPE}: ${path} must be valid JSON (got ${(error as Error).message}).`, RETRAIN_HINT);
    }
    const file = checkModelFile(parsed, path);
    let options: Required<CrossEncoderOptions>;
    try {
      options = resolveOptions(`${SCOPE}: ${path} config`, DEFAULT_CROSS_ENCODER_OPTIONS as Required<CrossEncoderOptions>, file.config);
      checkModelOptions(options);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof UsageError) throw new ArtifactError(error.message, RETRAIN_HINT);
      throw error;
    }
    const model = new CrossEncoder(file.featureCount, options);
    try {
      const expected = model.named.map((v) => ({ name: v.name, shape: v.variable.shape }));
      const manifest = parseWeightsManifest(file.weights, `${path} weights`, CROSS_ENCODER_WEIGHTS_FILE, { scope: SCOPE, hint: RETRAIN_HINT });
      const weights = await readWeights(dir, manifest, expected, { scope: SCOPE, hint: RETRAIN_HINT });
      tf.tidy(() => weights.forEach((w, i) => model.named[i].variable.assign(tf.tensor(w.values, w.shape))));
      if (file.featureStats) model.stats = { mean: Float32Array.from(file.featureStats.mean), std: Float32Array.from(file.featureStats.std) };
      model.training = file.training;
      return model;
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  /** Frees the model's variables; the model is unusable afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.named.map((v) => v.variable));
  }

  private assertLive(): void {
    if (this.disposed) throw new UsageError(`${SCOPE}: the model must not be used after dispose() (got a disposed model).`);
  }

  private assertReady(): void {
    if (this.featureCount > 0 && this.stats === null) {
      throw new UsageError(`${SCOPE}: the model must be trained (or loaded) before scoring (got no side-feature statistics).`, 'Call train() first.');
    }
  }
}

/**
 * Mean binary cross-entropy from logits z [B] and targets y [B], positives
 * weighted by w: mean((1 - y) softplus(z) + w y softplus(-z)), with
 * softplus(z) = max(z, 0) + log1p(exp(-|z|)) (no overflow for any z) and
 * softplus(-z) = softplus(z) - z.
 */
export function bceWithLogits(z: Tensor1D, y: Tensor1D, positiveWeight = 1): Scalar {
  const softplus = tf.add(tf.relu(z), tf.log1p(tf.exp(tf.neg(tf.abs(z))))); // [B]
  const negative = tf.mul(tf.sub(1, y), softplus); // [B]
  const positive = tf.mul(tf.mul(y, positiveWeight), tf.sub(softplus, z)); // [B]
  return tf.mean(tf.add(negative, positive)) as Scalar; // []
}

/** Mean and standard deviation (population) of each of F features over n pairs. */
export function fitFeatureStats(features: Float32Array, n: number, featureCount: number): FeatureStats {
  const mean = new Float64Array(featureCount);
  const square = new Float64Array(featureCount);
  for (let p = 0; p < n; p++) {
    for (let f = 0; f < featureCount; f++) {
      const x = features[p * featureCount + f];
      mean[f] += x;
      square[f] += x * x;
    }
  }
  const stats: FeatureStats = { mean: new Float32Array(featureCount), std: new Float32Array(featureCount) };
  for (let f = 0; f < featureCount; f++) {
    const m = mean[f] / Math.max(n, 1);
    const variance = Math.max(0, square[f] / Math.max(n, 1) - m * m);
    stats.mean[f] = m;
    stats.std[f] = Math.sqrt(variance) >= 1e-6 ? Math.sqrt(variance) : 1;
  }
  return stats;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

function checkPositiveInteger(key: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${SCOPE}: ${key} must be a positive integer (got ${value}).`);
}

function checkModelOptions(o: Required<CrossEncoderOptions>): void {
  checkVocabSize(o.vocabSize);
  for (const key of ['maxLength', 'hidden', 'heads', 'layers', 'ffn', 'headHidden'] as const) checkPositiveInteger(key, o[key]);
  if (o.maxLength < 5) throw new UsageError(`${SCOPE}: maxLength must be at least 5, room for [CLS] topic [SEP] content [SEP] (got ${o.maxLength}).`);
  if (!Number.isInteger(o.maxTopicTokens) || o.maxTopicTokens < 1 || o.maxTopicTokens > o.maxLength - 4) {
    throw new UsageError(`${SCOPE}: maxTopicTokens must be an integer in [1, maxLength - 4 = ${o.maxLength - 4}] (got ${o.maxTopicTokens}).`);
  }
  if (o.hidden % o.heads !== 0) throw new UsageError(`${SCOPE}: hidden must be a multiple of heads (got hidden ${o.hidden}, heads ${o.heads}).`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new UsageError(`${SCOPE}: dropout must be in [0, 1) (got ${o.dropout}).`);
  if (!Number.isInteger(o.seed)) throw new UsageError(`${SCOPE}: seed must be an integer (got ${o.seed}).`);
}

function checkTrainOptions(o: Required<CrossEncoderTrainOptions>): void {
  checkPositiveInteger('epochs', o.epochs);
  checkPositiveInteger('batchSize', o.batchSize);
  const ranges: [keyof CrossEncoderTrainOptions, number, number][] = [
    ['learningRate', 0, Infinity],
    ['warmup', 0, 1],
    ['weightDecay', 0, Infinity],
    ['clipNorm', 0, Infinity],
    ['positiveWeight', 0, Infinity],
    ['beta1', 0, 1],
    ['beta2', 0, 1],
    ['epsilon', 0, Infinity],
  ];
  for (const [key, low, high] of ranges) {
    const value = o[key];
    if (!(value >= low && value <= high && Number.isFinite(value))) {
      throw new UsageError(`${SCOPE}: ${key} must be a number in [${low}, ${high}] (got ${value}).`);
    }
  }
  if (!(o.learningRate > 0) || !(o.warmup < 1) || !(o.beta1 < 1) || !(o.beta2 < 1)) {
    throw new UsageError(`${SCOPE}: learningRate must be positive and warmup, beta1, beta2 below 1 (got ${o.learningRate}, ${o.warmup}, ${o.beta1}, ${o.beta2}).`);
  }
}

function checkModelFile(value: unknown, path: string): ModelFile {
  const bad = (what: string): never => {
    throw new ArtifactError(`${SCOPE}: ${path} must be a ${FORMAT} version ${VERSION} file (got ${what}).`, RETRAIN_HINT);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('no JSON object');
  const m = value as Record<string, unknown>;
  for (const key of Object.keys(m)) if (!MODEL_FILE_KEYS.includes(key)) bad(`unknown key ${JSON.stringify(key)}`);
  if (m.format !== FORMAT) bad(`format ${JSON.stringify(m.format)}`);
  if (m.version !== VERSION) bad(`version ${JSON.stringify(m.version)}`);
  if (!Number.isInteger(m.featureCount) || (m.featureCount as number) < 0) bad(`featureCount ${JSON.stringify(m.featureCount)}`);
  const F = m.featureCount as number;
  const stats = m.featureStats as { mean?: unknown; std?: unknown } | null;
  if (stats !== null) {
    const ok = (a: unknown) => Array.isArray(a) && a.length === F && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (typeof stats !== 'object' || !ok(stats.mean) || !ok(stats.std)) bad(`featureStats that are not two lists of ${F} numbers`);
  }
  if (typeof m.weights !== 'object' || m.weights === null) bad(`weights ${JSON.stringify(m.weights)?.slice(0, 80)}`);
  const training = m.training as { steps?: unknown } | null;
  if (training !== null && (typeof training !== 'object' || Array.isArray(training) || !Number.isInteger(training.steps) || (training.steps as number) < 0)) {
    bad(`training ${JSON.stringify(training)?.slice(0, 80)}`);
  }
  return value as ModelFile;
}
