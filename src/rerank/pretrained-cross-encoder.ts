/**
 * A cross-encoder initialised from a pretrained BERT-family sentence encoder
 * (the one encoder.model names), reading a topic and a candidate together.
 *
 * Cross-attention through every layer of even a small model (MiniLM-L6) costs
 * about 64 MFLOP per token per training step on a CPU, and a catalogue's
 * reranker sees tens of thousands of pairs of ~100 tokens. As in DeFormer
 * (Cao et al. 2020, "Decomposing Pre-trained Transformers for Faster Question
 * Answering"), the lower layers read the topic and the content apart and
 * only the top `jointLayers` read them together:
 *
 *   topic   [CLS] t1 .. tn [SEP] -> frozen lower layers (once per text, kept in bfloat16) --+
 *   content [CLS] c1 .. cm [SEP] -> frozen lower layers (once per text, kept) + segment -----+-> concat [B, L, H]
 *     -> top jointLayers layers (fine-tuned; every token attends across the pair)
 *     -> u = mean over the topic's tokens, v = mean over the content's tokens
 *     -> concat [u, v, u * v, standardised side features] -> GELU MLP -> logit
 *
 * A topic meets ~100 candidates and an item many topics, so a text's lower
 * states are computed once and kept (a cache bounded by `cacheMiB`, oldest
 * first out) and a pair costs only the joint layers. The mean pooling and
 * the u * v term start the head where the sentence encoder's own cosine is.
 *
 * The same surface as `CrossEncoder` (./cross-encoder.ts): `tokenize`,
 * `train`, `score`, `save`, `load`; pairs are `PairSet`s whose ids are the
 * model's WordPiece ids. Artifact: `model.json` (format, config, the
 * pretrained encoder's source and id, feature stats, training provenance,
 * weights manifest) and `weights.bin` with the fine-tuned layers, the segment
 * vector and the head; the frozen layers are read from the pretrained folder.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tf, type Scalar, type Tensor1D, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { assertTrainable } from '../runtime/backend.ts';
import { Adam } from '../runtime/adam.ts';
import { seededVariable, weightName } from '../runtime/variables.ts';
import { parseWeightsManifest, readWeights, writeWeights, type NamedArray, type WeightsManifest } from '../runtime/weights.ts';
import { gelu } from '../runtime/ops.ts';
import { ArtifactError, DataError, UsageError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { deriveSeed, rngFor, shuffleInPlace } from '../random.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { rocAuc } from '../eval/auc.ts';
import { PretrainedEncoder } from '../pretrained/encoder.ts';
import { fromBfloat16 } from '../pretrained/bfloat16.ts';
import { checkPretrainedId, locatePretrained, type PretrainedSource } from '../pretrained/hub.ts';
import { bceWithLogits, fitFeatureStats, type CrossEncoderTrainOptions, type EpochReport, type FeatureStats, type TrainHooks, type TrainReport, DEFAULT_CROSS_ENCODER_TRAIN_OPTIONS } from './cross-encoder.ts';
import type { PairSet, TokenizedTexts } from './tokens.ts';

const SCOPE = 'trellis/rerank/pretrained-cross-encoder';
export const PRETRAINED_CROSS_ENCODER_FORMAT = 'trellis-pretrained-cross-encoder';
const VERSION = 1;
const CONFIG_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';
const RETRAIN_HINT = 'Retrain the reranker to rewrite the model folder.';

export interface PretrainedCrossEncoderOptions {
  /** Top layers of the pretrained model that read the pair together (and are fine-tuned). Default 2. */
  jointLayers?: number;
  /** WordPiece tokens kept of a topic's text and of a content item's text ([CLS] and [SEP] aside). Default 30, 62. */
  maxTopicTokens?: number;
  maxContentTokens?: number;
  /** Width of the MLP over the pooled pair and the side features. Default 64. */
  headHidden?: number;
  /** Dropout on the head's input and hidden layer during training. Default 0.1. */
  dropout?: number;
  /** Memory (MiB) for the texts' lower-layer states kept between calls. Default 2048. */
  cacheMiB?: number;
  /** Seed of the head's init, shuffling and dropout. Default 0. */
  seed?: number;
}

export const DEFAULT_PRETRAINED_CROSS_ENCODER_OPTIONS: Readonly<Required<PretrainedCrossEncoderOptions>> = Object.freeze({
  jointLayers: 2,
  maxTopicTokens: 30,
  maxContentTokens: 62,
  headHidden: 64,
  dropout: 0.1,
  cacheMiB: 2048,
  seed: 0,
});

/** `CrossEncoderTrainOptions` with the fine-tuned layers' own learning rate. */
export interface PretrainedCrossEncoderTrainOptions extends CrossEncoderTrainOptions {
  /** Peak learning rate of the joint transformer layers (the head uses `learningRate`). Default 5e-5. */
  encoderLearningRate?: number;
}

interface ModelFile {
  format: typeof PRETRAINED_CROSS_ENCODER_FORMAT;
  version: typeof VERSION;
  config: Required<PretrainedCrossEncoderOptions>;
  pretrained: PretrainedSource;
  featureCount: number;
  featureStats: { mean: number[]; std: number[] } | null;
  training: { options: Required<PretrainedCrossEncoderTrainOptions>; pairs: number; steps: number } | null;
  weights: WeightsManifest;
}

/** A text's lower-layer states: bfloat16 [tokens * H]. */
type States = Uint16Array;

export class PretrainedCrossEncoder {
  readonly options: Readonly<Required<PretrainedCrossEncoderOptions>>;
  private stats: FeatureStats | null = null;
  private training: ModelFile['training'] = null;
  private readonly segment: Variable; // [H]
  private readonly head: { hidden: Variable; hiddenBias: Variable; output: Variable; outputBias: Variable };
  /** Kept lower-layer states by role and token ids, oldest first. */
  private readonly cache = new Map<string, States>();
  private cachedBytes = 0;
  private disposed = false;

  private constructor(
    private readonly encoder: PretrainedEncoder,
    readonly pretrained: PretrainedSource,
    readonly featureCount: number,
    options: Required<PretrainedCrossEncoderOptions>,
  ) {
    this.options = Object.freeze(options);
    const H = encoder.dim;
    const { seed, headHidden } = options;
    this.segment = seededVariable('rerank/segment', [H], seed, 0);
    const input = 3 * H + featureCount;
    this.head = {
      hidden: seededVariable('rerank/head/hidden/kernel', [input, headHidden], seed, Math.sqrt(2 / (input + headHidden))),
      hiddenBias: seededVariable('rerank/head/hidden/bias', [headHidden], seed, 0),
      output: seededVariable('rerank/head/output/kernel', [headHidden, 1], seed, Math.sqrt(2 / (headHidden + 1))),
      outputBias: seededVariable('rerank/head/output/bias', [1], seed, 0),
    };
  }

  /** A new model over the pretrained encoder in `source.dir` (its top `jointLayers` become trainable). */
  static async create(featureCount: number, source: PretrainedSource, options: PretrainedCrossEncoderOptions = {}): Promise<PretrainedCrossEncoder> {
    const o = resolveOptions(SCOPE, DEFAULT_PRETRAINED_CROSS_ENCODER_OPTIONS as Required<PretrainedCrossEncoderOptions>, options);
    checkOptions(o);
    if (!Number.isInteger(featureCount) || featureCount < 0) throw new UsageError(`${SCOPE}: featureCount must be a non-negative integer (got ${featureCount}).`);
    const encoder = await PretrainedEncoder.load(source.dir, { maxLength: Math.max(o.maxTopicTokens, o.maxContentTokens) + 2, trainableLayers: o.jointLayers });
    if (o.jointLayers > encoder.files.bert.layers) {
      encoder.dispose();
      throw new UsageError(`${SCOPE}: jointLayers ${o.jointLayers} exceeds the model's ${encoder.files.bert.layers} layers.`);
    }
    return new PretrainedCrossEncoder(encoder, { dir: source.dir, ...(source.source ? { source: source.source } : {}), ...(source.revision ? { revision: source.revision } : {}), id: encoder.id }, featureCount, o);
  }

  /** What pairs it reads: ensemble members must agree on it. */
  get pairShape(): string {
    const { maxTopicTokens, maxContentTokens } = this.options;
    return JSON.stringify({ features: this.featureCount, tokenizer: this.pretrained.id, maxTopicTokens, maxContentTokens });
  }

  get featureStats(): FeatureStats | null {
    return this.stats;
  }

  /** Trainable parameters: the joint layers, the segment vector and the head. */
  get parameterCount(): number {
    return this.variables.reduce((n, v) => n + v.size, 0);
  }

  private get headVariables(): Variable[] {
    const h = this.head;
    return [this.segment, h.hidden, h.hiddenBias, h.output, h.outputBias];
  }

  private get variables(): Variable[] {
    return [...this.encoder.variables, ...this.headVariables];
  }

  /** WordPiece ids of each text (no special tokens), enough for either role. */
  tokenize(texts: readonly string[]): TokenizedTexts {
    const keep = Math.max(this.options.maxTopicTokens, this.options.maxContentTokens);
    const rows = texts.map((t) => this.encoder.tokenizer.encode(t, keep + 2).subarray(1, -1));
    const offsets = new Uint32Array(rows.length + 1);
    rows.forEach((r, i) => (offsets[i + 1] = offsets[i] + r.length));
    const ids = new Int32Array(offsets[rows.length]);
    rows.forEach((r, i) => ids.set(r, offsets[i]));
    return { vocabSize: this.encoder.files.bert.vocabSize, offsets, ids };
  }

  /** [CLS] first `keep` pieces of text i [SEP]. */
  private row(texts: TokenizedTexts, i: number, keep: number): Int32Array {
    const from = texts.offsets[i];
    const n = Math.min(keep, texts.offsets[i + 1] - from);
    const out = new Int32Array(n + 2);
    out[0] = this.encoder.tokenizer.clsId;
    out.set(texts.ids.subarray(from, from + n), 1);
    out[n + 1] = this.encoder.tokenizer.sepId;
    return out;
  }

  /**
   * The lower-layer states of texts `which` of `texts` in `role`, computing
   * the ones not kept (in one batched pass) and keeping them while the cache
   * has room.
   */
  private states(texts: TokenizedTexts, which: ArrayLike<number>, role: 'topic' | 'content'): Map<number, States> {
    const keep = role === 'topic' ? this.options.maxTopicTokens : this.options.maxContentTokens;
    const out = new Map<number, States>();
    const missing: { index: number; key: string; row: Int32Array }[] = [];
    const asked = new Set<number>();
    for (let i = 0; i < which.length; i++) {
      const index = which[i];
      if (asked.has(index)) continue;
      asked.add(index);
      const row = this.row(texts, index, keep);
      const key = `${role}:${Buffer.from(row.buffer, row.byteOffset, row.byteLength).toString('latin1')}`;
      const kept = this.cache.get(key);
      if (kept) {
        this.cache.delete(key); // most recently used last
        this.cache.set(key, kept);
        out.set(index, kept);
      } else {
        missing.push({ index, key, row });
      }
    }
    if (missing.length === 0) return out;
    const computed = this.encoder.frozenHidden(missing.map((m) => m.row));
    const budget = this.options.cacheMiB * 2 ** 20;
    missing.forEach((m, i) => {
      out.set(m.index, computed[i]);
      if (computed[i].byteLength > budget) return;
      this.cache.set(m.key, computed[i]);
      this.cachedBytes += computed[i].byteLength;
    });
    for (const [key, states] of this.cache) {
      if (this.cachedBytes <= budget) break;
      this.cache.delete(key);
      this.cachedBytes -= states.byteLength;
    }
    return out;
  }

  /**
   * Logits [B] of pairs `rows` (call inside tf.tidy): their texts' lower
   * states, joined and run through the joint layers, pooled per side.
   */
  private forward(pairs: PairSet, rows: ArrayLike<number>, topicStates: Map<number, States>, contentStates: Map<number, States>, features: Float32Array, dropoutSeed?: number): Tensor1D {
    const H = this.encoder.dim;
    const B = rows.length;
    let L = 1;
    for (let i = 0; i < B; i++) L = Math.max(L, (topicStates.get(pairs.topicIndex[rows[i]])!.length + contentStates.get(pairs.contentIndex[rows[i]])!.length) / H);
    const x = new Float32Array(B * L * H); // padding stays 0: masked out of attention and pooling
    const mask = new Float32Array(B * L);
    const isContent = new Float32Array(B * L);
    const topicShare = new Float32Array(B * L);
    const contentShare = new Float32Array(B * L);
    for (let i = 0; i < B; i++) {
      const t = topicStates.get(pairs.topicIndex[rows[i]])!;
      const c = contentStates.get(pairs.contentIndex[rows[i]])!;
      const nt = t.length / H;
      const nc = c.length / H;
      fromBfloat16(t, x, i * L * H);
      fromBfloat16(c, x, (i * L + nt) * H);
      mask.fill(1, i * L, i * L + nt + nc);
      isContent.fill(1, i * L + nt, i * L + nt + nc);
      topicShare.fill(1 / nt, i * L, i * L + nt);
      contentShare.fill(1 / nc, i * L + nt, i * L + nt + nc);
    }
    const rate = this.options.dropout;
    let site = 0;
    const dropout = (t: Tensor2D): Tensor2D => (dropoutSeed === undefined || rate === 0 ? t : (tf.dropout(t, rate, undefined, deriveSeed(dropoutSeed, `site${site++}`)) as Tensor2D));
    const joined = tf.add(tf.tensor2d(x, [B * L, H]), tf.mul(tf.tensor2d(isContent, [B * L, 1]), tf.reshape(this.segment, [1, H]))) as Tensor2D; // [B*L, H]
    const hidden = this.encoder.model.hiddenFrom(this.encoder.frozenLayers, joined, mask, B, L); // [B, L, H]
    const poolBy = (share: Float32Array) => tf.sum(tf.mul(hidden, tf.tensor3d(share, [B, L, 1])), 1) as Tensor2D; // [B, H]
    const u = poolBy(topicShare);
    const v = poolBy(contentShare);
    const parts: Tensor2D[] = [u, v, tf.mul(u, v) as Tensor2D];
    if (this.featureCount > 0) parts.push(tf.tensor2d(features, [B, this.featureCount]));
    const h = this.head;
    const inner = dropout(gelu(tf.add(tf.matMul(dropout(tf.concat(parts, 1) as Tensor2D), h.hidden as Tensor2D), h.hiddenBias) as Tensor2D)); // [B, headHidden]
    return tf.reshape(tf.add(tf.matMul(inner, h.output as Tensor2D), h.outputBias), [B]) as Tensor1D; // [B]
  }

  private standardised(features: Float32Array, rows: ArrayLike<number>): Float32Array {
    const F = this.featureCount;
    const out = new Float32Array(rows.length * F);
    if (F === 0) return out;
    const { mean, std } = this.stats!;
    for (let i = 0; i < rows.length; i++) for (let f = 0; f < F; f++) out[i * F + f] = (features[rows[i] * F + f] - mean[f]) / std[f];
    return out;
  }

  /** Logits of every pair, in batches of similar length. [N] */
  private logits(pairs: PairSet, batchSize = 128): Float32Array {
    const n = pairs.topicIndex.length;
    const out = new Float32Array(n);
    const topics = this.states(pairs.topics, pairs.topicIndex, 'topic');
    const contents = this.states(pairs.contents, pairs.contentIndex, 'content');
    const length = (p: number) => topics.get(pairs.topicIndex[p])!.length + contents.get(pairs.contentIndex[p])!.length;
    const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => length(a) - length(b) || a - b);
    for (let from = 0; from < n; from += batchSize) {
      const rows = order.subarray(from, Math.min(n, from + batchSize));
      const features = this.standardised(pairs.features, rows);
      const result = tf.tidy(() => this.forward(pairs, rows, topics, contents, features));
      try {
        const values = result.dataSync();
        for (let i = 0; i < rows.length; i++) out[rows[i]] = values[i];
      } finally {
        result.dispose();
      }
    }
    return out;
  }

  /** Probability that each pair's content belongs to its topic. [N] */
  score(pairs: PairSet): Float32Array {
    this.assertLive();
    this.checkPairs(pairs, false);
    if (this.featureCount > 0 && this.stats === null) throw new UsageError(`${SCOPE}: the model must be trained (or loaded) before scoring (got no side-feature statistics).`, 'Call train() first.');
    const out = this.logits(pairs);
    for (let i = 0; i < out.length; i++) out[i] = 1 / (1 + Math.exp(-out[i]));
    return out;
  }

  /**
   * Binary cross-entropy from logits; AdamW with linear warm-up and decay,
   * the joint layers at `encoderLearningRate`, the segment vector and the
   * head at `learningRate`. Same seed, pairs and backend -> same weights.
   */
  async train(pairs: PairSet, options: PretrainedCrossEncoderTrainOptions = {}, hooks: TrainHooks = {}): Promise<TrainReport> {
    this.assertLive();
    const o = resolveOptions(SCOPE, { ...DEFAULT_CROSS_ENCODER_TRAIN_OPTIONS, batchSize: 32, encoderLearningRate: 5e-5 } as Required<PretrainedCrossEncoderTrainOptions>, options);
    for (const key of ['epochs', 'batchSize'] as const) if (!Number.isInteger(o[key]) || o[key] < 1) throw new UsageError(`${SCOPE}: ${key} must be a positive integer (got ${o[key]}).`);
    if (!(o.learningRate > 0) || !(o.encoderLearningRate > 0) || !(o.warmup >= 0 && o.warmup < 1)) throw new UsageError(`${SCOPE}: learning rates must be positive and warmup in [0, 1) (got ${o.learningRate}, ${o.encoderLearningRate}, ${o.warmup}).`);
    this.checkPairs(pairs, true);
    if (hooks.validation) this.checkPairs(hooks.validation, true);
    const n = pairs.topicIndex.length;
    if (n === 0) throw new UsageError(`${SCOPE}: training needs at least one pair (got 0).`);
    assertTrainable();
    if (this.stats === null) this.stats = fitFeatureStats(pairs.features, n, this.featureCount);
    const stepsPerEpoch = Math.ceil(n / o.batchSize);
    const total = stepsPerEpoch * o.epochs;
    const warmupSteps = Math.floor(o.warmup * total);
    const schedule = (step: number) => (step < warmupSteps ? (step + 1) / (warmupSteps + 1) : (total - step) / (total - warmupSteps));
    const before = this.training?.steps ?? 0;
    const shuffleRng = rngFor(this.options.seed, `rerank/shuffle/${before}`);
    const decayed = (v: Variable) => /kernel$/.test(weightName(v));
    const settings = { beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay, clipNorm: o.clipNorm };
    const encoderVariables = [...this.encoder.variables];
    const headVariables = this.headVariables;
    const encoderAdam = new Adam(encoderVariables.map((variable) => ({ variable, decayed: decayed(variable), byRows: false })), settings);
    const headAdam = new Adam(headVariables.map((variable) => ({ variable, decayed: decayed(variable), byRows: false })), settings);
    const labels = pairs.labels!;
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    const report: TrainReport = { epochs: [], steps: 0 };
    // Every text's lower states up front when they fit the cache; else each step computes its own.
    const up = new Set(pairs.topicIndex).size + new Set(pairs.contentIndex).size;
    const fits = up * (Math.max(this.options.maxTopicTokens, this.options.maxContentTokens) + 2) * this.encoder.dim * 2 <= this.options.cacheMiB * 2 ** 20;
    const whole = fits ? { topics: this.states(pairs.topics, pairs.topicIndex, 'topic'), contents: this.states(pairs.contents, pairs.contentIndex, 'content') } : undefined;
    try {
      for (let epoch = 1; epoch <= o.epochs; epoch++) {
        shuffleInPlace(order, shuffleRng);
        let lossSum = 0;
        for (let s = 0; s < stepsPerEpoch; s++) {
          const rows = order.subarray(s * o.batchSize, Math.min(n, (s + 1) * o.batchSize));
          const topics = whole?.topics ?? this.states(pairs.topics, Array.from(rows, (p) => pairs.topicIndex[p]), 'topic');
          const contents = whole?.contents ?? this.states(pairs.contents, Array.from(rows, (p) => pairs.contentIndex[p]), 'content');
          const features = this.standardised(pairs.features, rows);
          const targets = Float32Array.from(rows, (p) => labels[p]);
          const step = report.steps;
          const dropoutSeed = deriveSeed(this.options.seed, `rerank/dropout/${before + step}`);
          const loss = tf.tidy(() => {
            const { value, grads } = tf.variableGrads(() => bceWithLogits(this.forward(pairs, rows, topics, contents, features, dropoutSeed), tf.tensor1d(targets), o.positiveWeight), [...encoderVariables, ...headVariables]);
            encoderAdam.apply(encoderVariables.map((v) => grads[v.name]), o.encoderLearningRate * schedule(step));
            headAdam.apply(headVariables.map((v) => grads[v.name]), o.learningRate * schedule(step));
            return value as Scalar;
          });
          const value = loss.dataSync()[0];
          loss.dispose();
          lossSum += value;
          report.steps++;
          hooks.onStep?.(report.steps, value);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const epochReport: EpochReport = { epoch, steps: report.steps, trainLoss: lossSum / stepsPerEpoch };
        if (hooks.validation) {
          const logits = this.logits(hooks.validation);
          const y = hooks.validation.labels!;
          let sum = 0;
          for (let i = 0; i < logits.length; i++) sum += Math.max(logits[i], 0) - y[i] * logits[i] + Math.log1p(Math.exp(-Math.abs(logits[i])));
          Object.assign(epochReport, { validationLoss: logits.length ? sum / logits.length : Number.NaN, validationAuc: rocAuc(logits, y) });
        }
        report.epochs.push(epochReport);
        if (hooks.onEpoch?.(epochReport) === 'stop') break;
      }
    } finally {
      encoderAdam.dispose();
      headAdam.dispose();
    }
    this.training = { options: o, pairs: n, steps: before + report.steps };
    return report;
  }

  private checkPairs(pairs: PairSet, needLabels: boolean): void {
    const n = pairs.topicIndex.length;
    const vocab = this.encoder.files.bert.vocabSize;
    const fail = (what: string): never => {
      throw new DataError(`${SCOPE}: ${what}.`, { hint: 'Build pairs with this model\'s tokenize().' });
    };
    if (pairs.contentIndex.length !== n) fail(`contentIndex has ${pairs.contentIndex.length} entries, topicIndex ${n}`);
    if (pairs.features.length !== n * this.featureCount) fail(`features must hold ${this.featureCount} values per pair (got ${pairs.features.length} for ${n} pairs)`);
    if (needLabels && pairs.labels?.length !== n) fail(`training needs one label per pair (got ${pairs.labels?.length ?? 'none'})`);
    for (const [name, texts, index] of [['topics', pairs.topics, pairs.topicIndex], ['contents', pairs.contents, pairs.contentIndex]] as const) {
      if (texts.vocabSize !== vocab) fail(`${name} must be tokenised with the model's WordPiece vocabulary of ${vocab} (got vocabSize ${texts.vocabSize})`);
      const count = texts.offsets.length - 1;
      for (let i = 0; i < n; i++) if (index[i] >= count) fail(`pair ${i} names ${name} text ${index[i]} of ${count}`);
      for (let i = 0; i < texts.ids.length; i++) if (!(texts.ids[i] >= 0 && texts.ids[i] < vocab)) fail(`${name}.ids[${i}] = ${texts.ids[i]} is outside the vocabulary`);
    }
  }

  exportWeights(): NamedArray[] {
    return this.variables.map((v) => ({ name: weightName(v), shape: [...v.shape], values: v.dataSync() as Float32Array }));
  }

  async save(dir: string): Promise<void> {
    this.assertLive();
    const weights = await writeWeights(dir, WEIGHTS_FILE, this.exportWeights(), SCOPE);
    const file: ModelFile = {
      format: PRETRAINED_CROSS_ENCODER_FORMAT,
      version: VERSION,
      config: { ...this.options },
      pretrained: this.pretrained,
      featureCount: this.featureCount,
      featureStats: this.stats ? { mean: Array.from(this.stats.mean), std: Array.from(this.stats.std) } : null,
      training: this.training,
      weights,
    };
    await writeFileAtomic(join(dir, CONFIG_FILE), (sink) => sink.write(`${JSON.stringify(file, null, 2)}\n`));
  }

  /** Reads a folder written by `save`, finding the pretrained encoder where it was trained or through its hub id. */
  static async load(dir: string): Promise<PretrainedCrossEncoder> {
    const path = join(dir, CONFIG_FILE);
    let file: ModelFile;
    try {
      file = JSON.parse(await readFile(path, 'utf8')) as ModelFile;
    } catch (error) {
      throw new ArtifactError(`${SCOPE}: ${path} must be a readable JSON file (got ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, RETRAIN_HINT);
    }
    if (file?.format !== PRETRAINED_CROSS_ENCODER_FORMAT || file.version !== VERSION || typeof file.pretrained?.dir !== 'string' || !Number.isInteger(file.featureCount)) {
      throw new ArtifactError(`${SCOPE}: ${path} must be a ${PRETRAINED_CROSS_ENCODER_FORMAT} version ${VERSION} file (got format ${JSON.stringify(file?.format)}, version ${JSON.stringify(file?.version)}).`, RETRAIN_HINT);
    }
    const pretrainedDir = await locatePretrained(dir, file.pretrained);
    const model = await PretrainedCrossEncoder.create(file.featureCount, { ...file.pretrained, dir: pretrainedDir }, file.config);
    try {
      checkPretrainedId(dir, file.pretrained, model.pretrained.id);
      const manifest = parseWeightsManifest(file.weights, `${path} weights`, WEIGHTS_FILE, { scope: SCOPE, hint: RETRAIN_HINT });
      const variables = model.variables;
      const weights = await readWeights(dir, manifest, variables.map((v) => ({ name: weightName(v), shape: v.shape })), { scope: SCOPE, hint: RETRAIN_HINT });
      tf.tidy(() => weights.forEach((w, i) => variables[i].assign(tf.tensor(w.values, w.shape))));
      if (file.featureStats) model.stats = { mean: Float32Array.from(file.featureStats.mean), std: Float32Array.from(file.featureStats.std) };
      model.training = file.training;
      return model;
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.encoder.dispose();
    tf.dispose(this.headVariables);
    this.cache.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw new UsageError(`${SCOPE}: the model must not be used after dispose() (got a disposed model).`);
  }
}

function checkOptions(o: Required<PretrainedCrossEncoderOptions>): void {
  for (const key of ['jointLayers', 'maxTopicTokens', 'maxContentTokens', 'headHidden'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new UsageError(`${SCOPE}: ${key} must be a positive integer (got ${o[key]}).`);
  }
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new UsageError(`${SCOPE}: dropout must be in [0, 1) (got ${o.dropout}).`);
  if (!(Number.isInteger(o.cacheMiB) && o.cacheMiB >= 0)) throw new UsageError(`${SCOPE}: cacheMiB must be a non-negative integer (got ${o.cacheMiB}).`);
}

/** True when the model folder holds a pretrained cross-encoder (its model.json says so). */
export async function isPretrainedCrossEncoder(dir: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(join(dir, CONFIG_FILE), 'utf8')) as { format?: string }).format === PRETRAINED_CROSS_ENCODER_FORMAT;
  } catch {
    return false;
  }
}

