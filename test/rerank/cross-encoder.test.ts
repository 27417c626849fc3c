import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../../src/runtime/tf.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { ArtifactError, ConfigError, DataError } from '../../src/errors.ts';
import { mulberry32 } from '../../src/random.ts';
import { DEFAULT_TFIDF_OPTIONS, forEachFeature, wordBucket } from '../../src/text/tfidf.ts';
import { CrossEncoder, bceWithLogits, CROSS_ENCODER_CONFIG_FILE, CROSS_ENCODER_WEIGHTS_FILE, type CrossEncoderOptions } from '../../src/rerank/cross-encoder.ts';
import { encodePairs, tokenizeTexts, CLS_ID, SEP_ID, UNK_ID, RESERVED_IDS, type PairSet } from '../../src/rerank/tokens.ts';
import { encoderProjection, tokenEmbeddingsFromEncoder } from '../../src/rerank/token-init.ts';
import { add, batchMatMul, dense, gatherRows, gelu, layerNorm2d, maskedSoftmax } from '../../src/runtime/ops.ts';
import { rocAuc } from '../../src/eval/auc.ts';
import { RerankerEnsemble } from '../../src/rerank/ensemble.ts';
import { tempDir } from '../helpers.ts';

/** A small model for the tests that do not need the default size. */
const SMALL: CrossEncoderOptions = { vocabSize: 1 << 10, maxLength: 32, maxTopicTokens: 12, hidden: 32, heads: 4, layers: 2, ffn: 64, headHidden: 32, seed: 7 };

/**
 * Eight pairs over four topics and four content items: content i belongs to
 * topic i; each topic also meets one wrong item. Two side features of noise,
 * so the labels can only be learnt from the text.
 */
const TOPICS = ['Photosynthesis in green plants', 'Fractions and decimals', 'The French revolution', 'Newton laws of motion'];
const CONTENTS = [
  'How leaves turn sunlight water and carbon dioxide into sugar and oxygen',
  'Convert a fraction like three quarters into the decimal 0.75',
  'Storming of the Bastille in 1789 and the end of the monarchy',
  'Force equals mass times acceleration, with worked examples of motion',
];
const PAIRS_T = [0, 1, 2, 3, 0, 1, 2, 3];
const PAIRS_C = [0, 1, 2, 3, 2, 3, 0, 1];
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0];

function pairSet(model: CrossEncoder, features = 2): PairSet {
  const rng = mulberry32(3);
  return {
    topics: model.tokenize(TOPICS),
    contents: model.tokenize(CONTENTS),
    topicIndex: Uint32Array.from(PAIRS_T),
    contentIndex: Uint32Array.from(PAIRS_C),
    features: Float32Array.from({ length: PAIRS_T.length * features }, () => rng() * 10 - 5),
    labels: Uint8Array.from(LABELS),
  };
}

function weightsOf(model: CrossEncoder): Map<string, Float32Array> {
  return new Map(model.exportWeights().map((w) => [w.name, w.values]));
}

let dirs: { dir: string; cleanup: () => void };
before(async () => {
  await initRuntime();
  dirs = tempDir('trellis-rerank-');
});
after(() => dirs.cleanup());

test('a word token is its TF-IDF unigram bucket folded to V, shifted past the special ids', () => {
  // A one-word document's first feature is its unigram bucket.
  const buckets: number[] = [];
  forEachFeature('graph', DEFAULT_TFIDF_OPTIONS as Required<typeof DEFAULT_TFIDF_OPTIONS>, (b) => buckets.push(b));
  const tfidfBucket = buckets[0];
  assert.equal(wordBucket('graph', DEFAULT_TFIDF_OPTIONS.buckets), tfidfBucket);
  // Folding the 2^21 bucket to 2^10 equals hashing straight into 2^10.
  assert.equal(wordBucket('graph', 1 << 10), tfidfBucket & ((1 << 10) - 1));
  const tokens = tokenizeTexts(['Graph graph!', ''], 1 << 10, 8);
  const id = RESERVED_IDS + (tfidfBucket & 1023);
  assert.deepEqual([...tokens.offsets], [0, 2, 2]);
  assert.deepEqual([...tokens.ids], [id, id]);
});

test('pairs are laid out as [CLS] topic [SEP] content [SEP], topic cut first, empty text as [UNK]', () => {
  const topics = { vocabSize: 4, offsets: Uint32Array.from([0, 3, 3]), ids: Int32Array.from([10, 11, 12]) };
  const contents = { vocabSize: 4, offsets: Uint32Array.from([0, 5]), ids: Int32Array.from([20, 21, 22, 23, 24]) };
  const pairs: PairSet = { topics, contents, topicIndex: Uint32Array.from([0, 1]), contentIndex: Uint32Array.from([0, 0]), features: new Float32Array(0) };
  // maxLength 8, maxTopicTokens 2: pair 0 keeps topic 10 11 and content 20 21 22 (8 - 3 - 2 = 3);
  // pair 1 has an empty topic ([UNK]) and content 20..23 (8 - 3 - 1 = 4).
  const batch = encodePairs(pairs, [0, 1], 8, 2);
  assert.equal(batch.length, 8);
  assert.deepEqual([...batch.ids], [CLS_ID, 10, 11, SEP_ID, 20, 21, 22, SEP_ID, CLS_ID, UNK_ID, SEP_ID, 20, 21, 22, 23, SEP_ID]);
  assert.deepEqual([...batch.segments], [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
  assert.ok(batch.mask.every((m) => m === 0));
});

test('token embeddings from an encoder table: hand-worked foldings and projection', () => {
  // V = 4 reranker buckets, hidden 2.
  // rows = 2 < V: bucket b copies row b & 1.
  const two = Float32Array.from([1, 2, 3, 4]); // [2, 2]
  assert.deepEqual([...tokenEmbeddingsFromEncoder(two, 2, 2, 4, 2, 0)], [1, 2, 3, 4, 1, 2, 3, 4]);
  // rows = V: an exact copy.
  const four = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...tokenEmbeddingsFromEncoder(four, 4, 2, 4, 2, 0)], [...four]);
  // rows = 8 > V: row r = [r, 10r]; bucket b is the mean of rows b and b + 4 = [b + 2, 10b + 20].
  const eight = Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? i / 2 : 10 * ((i - 1) / 2)));
  assert.deepEqual([...tokenEmbeddingsFromEncoder(eight, 8, 2, 4, 2, 0)], [2, 20, 3, 30, 4, 40, 5, 50]);
  // With the corpus' words, a bucket takes the rows its words use: "graph" owns its bucket.
  const r = wordBucket('graph', 8);
  const withWords = tokenEmbeddingsFromEncoder(eight, 8, 2, 4, 2, 0, ['graph']);
  assert.deepEqual([...withWords.subarray((r & 3) * 2, (r & 3) * 2 + 2)], [r, 10 * r]);
  const other = (r + 1) & 3;
  assert.deepEqual([...withWords.subarray(other * 2, other * 2 + 2)], [other + 2, 10 * other + 20]);
  // cols 3 -> hidden 2: row b times the seeded projection P [3, 2].
  const wide = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // [4, 3]
  const p = encoderProjection(3, 2, 5);
  const expected = [p[0], p[1], p[2], p[3], p[4], p[5], p[0] + p[2] + p[4], p[1] + p[3] + p[5]];
  const got = tokenEmbeddingsFromEncoder(wide, 4, 3, 4, 2, 5);
  expected.forEach((e, i) => assert.ok(Math.abs(got[i] - e) < 1e-6, `entry ${i}: ${got[i]} vs ${e}`));
  assert.throws(() => tokenEmbeddingsFromEncoder(two, 3, 2, 4, 2, 0), /rows must be a power of two/);
});

test('initTokenEmbeddings puts encoder row wordBucket(w) at token id 4 + wordBucket(w) and keeps the special rows', () => {
  const model = new CrossEncoder(0, { ...SMALL, vocabSize: 1 << 6, hidden: 4, heads: 2 });
  try {
    const before = weightsOf(model).get('embeddings/token')!;
    const rows = 1 << 6;
    const table = Float32Array.from({ length: rows * 4 }, (_, i) => i); // row r = [4r, 4r+1, 4r+2, 4r+3]
    model.initTokenEmbeddings(table, rows, 4);
    const after = weightsOf(model).get('embeddings/token')!;
    assert.deepEqual([...after.subarray(0, RESERVED_IDS * 4)], [...before.subarray(0, RESERVED_IDS * 4)]);
    const id = model.tokenize(['photosynthesis']).ids[0];
    const r = wordBucket('photosynthesis', rows);
    assert.equal(id, RESERVED_IDS + r);
    assert.deepEqual([...after.subarray(id * 4, id * 4 + 4)], [4 * r, 4 * r + 1, 4 * r + 2, 4 * r + 3]);
  } finally {
    model.dispose();
  }
});

test('custom gradients match tfjs autodiff on small tensors', () => {
  const rng = mulberry32(9);
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1), shape);
  const close = (a: tf.Tensor, b: tf.Tensor, what: string) => {
    const x = a.dataSync();
    const y = b.dataSync();
    assert.deepEqual(a.shape, b.shape, what);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) < 1e-4, `${what}[${i}]: ${x[i]} vs ${y[i]}`);
  };
  const start = tf.memory().numTensors;
  tf.tidy(() => {
    const x = rand([5, 3]) as tf.Tensor2D;
    const w = rand([3, 4]) as tf.Tensor2D;
    const b = rand([4]) as tf.Tensor1D;
    const up = rand([5, 4]);
    const ours = tf.grads((x, w, b) => tf.sum(tf.mul(dense(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), up)))([x, w, b]);
    const ref = tf.grads((x, w, b) => tf.sum(tf.mul(tf.add(tf.matMul(x, w), b), up)))([x, w, b]);
    ours.forEach((g, i) => close(g, ref[i], `dense grad ${i}`));

    const gamma = rand([3]) as tf.Tensor1D;
    const beta = rand([3]) as tf.Tensor1D;
    const ln = (x: tf.Tensor, g: tf.Tensor, bt: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), bt);
    };
    const up2 = rand([5, 3]);
    close(layerNorm2d(x, gamma, beta), ln(x, gamma, beta), 'layerNorm value');
    const lnOurs = tf.grads((x, g, bt) => tf.sum(tf.mul(layerNorm2d(x as tf.Tensor2D, g as tf.Tensor1D, bt as tf.Tensor1D), up2)))([x, gamma, beta]);
    const lnRef = tf.grads((x, g, bt) => tf.sum(tf.mul(ln(x, g, bt), up2)))([x, gamma, beta]);
    lnOurs.forEach((g, i) => close(g, lnRef[i], `layerNorm grad ${i}`));

    // Duplicate ids add up: rows 1 and 3 are used twice.
    const table = rand([4, 3]) as tf.Tensor2D;
    const ids = Int32Array.from([1, 3, 1, 0, 3]);
    const up3 = rand([5, 3]);
    close(gatherRows(table, ids), tf.gather(table, Array.from(ids)), 'gatherRows value');
    close(
      tf.grad((t) => tf.sum(tf.mul(gatherRows(t as tf.Tensor2D, ids), up3)))(table),
      tf.grad((t) => tf.sum(tf.mul(tf.gather(t, Array.from(ids)), up3)))(table),
      'gatherRows grad',
    );

    // Masked, scaled softmax: position 2 of the first sequence is padding.
    const scores = rand([2, 2, 3, 3]) as tf.Tensor4D;
    const mask = tf.tensor4d([0, 0, -1e9, 0, 0, 0], [2, 1, 1, 3]);
    const up5 = rand([2, 2, 3, 3]);
    const ref5 = (s: tf.Tensor) => tf.softmax(tf.add(tf.mul(s, 0.5), mask));
    close(maskedSoftmax(scores, mask, 0.5), ref5(scores), 'maskedSoftmax value');
    close(
      tf.grad((s) => tf.sum(tf.mul(maskedSoftmax(s as tf.Tensor4D, mask, 0.5), up5)))(scores),
      tf.grad((s) => tf.sum(tf.mul(ref5(s), up5)))(scores),
      'maskedSoftmax grad',
    );
    // GELU against 0.5 x (1 + erf(x / sqrt 2)), and a plain add.
    const ref6 = (v: tf.Tensor) => tf.mul(tf.mul(v, 0.5), tf.add(tf.erf(tf.mul(v, Math.SQRT1_2)), 1));
    close(gelu(x), ref6(x), 'gelu value');
    close(tf.grad((v) => tf.sum(tf.mul(gelu(v), up2)))(x), tf.grad((v) => tf.sum(tf.mul(ref6(v), up2)))(x), 'gelu grad');
    const y = rand([5, 3]);
    const addOurs = tf.grads((a, b) => tf.sum(tf.mul(add(a, b), up2)))([x, y]);
    addOurs.forEach((g) => close(g, up2, 'add grad'));

    // Big enough for the per-entry path on wasm (all sides >= 8), and the outer-product path (k = 1).
    for (const [n, i, k, j] of [[3, 8, 9, 10], [2, 8, 1, 9], [2, 1, 8, 9]]) {
      const a = rand([n, i, k]) as tf.Tensor3D;
      const c = rand([n, k, j]) as tf.Tensor3D;
      const up4 = rand([n, i, j]);
      close(batchMatMul(a, c), tf.matMul(a, c), `batchMatMul ${[n, i, k, j]} value`);
      const bOurs = tf.grads((a, c) => tf.sum(tf.mul(batchMatMul(a as tf.Tensor3D, c as tf.Tensor3D), up4)))([a, c]);
      const bRef = tf.grads((a, c) => tf.sum(tf.mul(tf.matMul(a, c), up4)))([a, c]);
      bOurs.forEach((g, q) => close(g, bRef[q], `batchMatMul ${[n, i, k, j]} grad ${q}`));
    }
  });
  assert.equal(tf.memory().numTensors, start);
});

test('binary cross-entropy from logits is stable and weights positives', () => {
  // z = [0, 100, -100], y = [1, 0, 0]: losses log 2, 100, ~0; positive weight 3 scales the first.
  const loss = tf.tidy(() => bceWithLogits(tf.tensor1d([0, 100, -100]), tf.tensor1d([1, 0, 0]), 3).dataSync()[0]);
  assert.ok(Math.abs(loss - (3 * Math.LN2 + 100) / 3) < 1e-4, `${loss}`);
  // AUC: 2 positives, 2 negatives; pairs (pos > neg): .9>.3, .9>.1, .5>.3, .5>.1 -> 1; a tie counts 1/2.
  assert.equal(rocAuc([0.9, 0.3, 0.5, 0.1], [1, 0, 1, 0]), 1);
  assert.equal(rocAuc([0.5, 0.5], [1, 0]), 0.5);
});

test('the default-size cross-encoder overfits 8 pairs', async () => {
  const model = new CrossEncoder(2, { dropout: 0, seed: 1 });
  try {
    const pairs = pairSet(model);
    const report = await model.train(pairs, { epochs: 60, batchSize: 8, learningRate: 3e-3, warmup: 0.1, weightDecay: 0 });
    const last = report.epochs[report.epochs.length - 1];
    assert.ok(last.trainLoss < 0.05, `final loss ${last.trainLoss}`);
    const p = model.score(pairs);
    assert.deepEqual([...p].map((x) => (x > 0.5 ? 1 : 0)), LABELS, `probabilities ${[...p].map((x) => x.toFixed(3))}`);
  } finally {
    model.dispose();
  }
});

test('the tensor count does not grow across training steps and scoring calls', async () => {
  const model = new CrossEncoder(2, SMALL);
  try {
    const pairs = pairSet(model);
    const start = tf.memory().numTensors;
    const report = await model.train(pairs, { epochs: 3, batchSize: 4 }, { validation: pairs, onEpoch: (e) => (e.epoch === 2 ? 'stop' : undefined) });
    assert.equal(tf.memory().numTensors, start);
    assert.deepEqual(report.epochs.map((e) => e.epoch), [1, 2], 'onEpoch stopped training after epoch 2');
    assert.ok(report.epochs.every((e) => Number.isFinite(e.validationLoss) && e.validationAuc! >= 0 && e.validationAuc! <= 1));
    model.score(pairs);
    model.score(pairs, { batchSize: 3 });
    assert.equal(tf.memory().numTensors, start);
    await model.train(pairs, { epochs: 1, batchSize: 8 });
    assert.equal(tf.memory().numTensors, start);
  } finally {
    model.dispose();
  }
});

test('same seed, same pairs: identical weights after a few steps (dropout on)', async () => {
  const train = async () => {
    const model = new CrossEncoder(2, { ...SMALL, dropout: 0.1 });
    await model.train(pairSet(model), { epochs: 3, batchSize: 3 });
    const weights = weightsOf(model);
    model.dispose();
    return weights;
  };
  const [a, b] = [await train(), await train()];
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, values] of a) assert.deepEqual(values, b.get(name), name);
  const other = new CrossEncoder(2, { ...SMALL, seed: 8 });
  assert.notDeepEqual(weightsOf(other).get('layer0/attention/query/kernel'), a.get('layer0/attention/query/kernel'));
  other.dispose();
});

test('the attention mask hides padding: garbage in padded positions leaves every logit unchanged', async () => {
  const model = new CrossEncoder(2, SMALL);
  try {
    const pairs = pairSet(model);
    await model.train(pairs, { epochs: 1, batchSize: 8 });
    // Pair 1 (short texts) and pair 0 (long texts): pair 1's row is padded.
    const rows = [1, 0];
    const batch = encodePairs(pairs, rows, SMALL.maxLength!, SMALL.maxTopicTokens!);
    const features = Float32Array.from([...pairs.features.subarray(2, 4), ...pairs.features.subarray(0, 2)]);
    const padded = [...batch.mask.subarray(0, batch.length)].filter((m) => m !== 0).length;
    assert.ok(padded > 0, 'the first row has padding');
    const clean = model.logitsOf(batch, features);
    const rng = mulberry32(5);
    const noisy = { ...batch, ids: batch.ids.slice(), segments: batch.segments.slice() };
    for (let i = 0; i < batch.length; i++) {
      if (batch.mask[i] !== 0) {
        noisy.ids[i] = RESERVED_IDS + Math.floor(rng() * SMALL.vocabSize!);
        noisy.segments[i] = Math.floor(rng() * 2);
      }
    }
    assert.deepEqual(model.logitsOf(noisy, features), clean);
    // Scored alone, pair 1 has no padding at all: same logit up to float rounding.
    const alone = model.logitsOf(encodePairs(pairs, [1], SMALL.maxLength!, SMALL.maxTopicTokens!), features.subarray(0, 2));
    assert.ok(Math.abs(alone[0] - clean[0]) < 1e-4, `${alone[0]} vs ${clean[0]}`);
  } finally {
    model.dispose();
  }
});

test('save then load gives identical scores; a corrupt or mismatched folder is an ArtifactError', async () => {
  const model = new CrossEncoder(2, SMALL);
  const dir = join(dirs.dir, 'model');
  let loaded: CrossEncoder | undefined;
  try {
    const pairs = pairSet(model);
    await model.train(pairs, { epochs: 2, batchSize: 4 });
    await model.save(dir);
    loaded = await CrossEncoder.load(dir);
    assert.deepEqual(loaded.options, model.options);
    assert.deepEqual(loaded.featureStats, model.featureStats);
    assert.deepEqual(loaded.score(pairs), model.score(pairs));

    const json = JSON.parse(readFileSync(join(dir, CROSS_ENCODER_CONFIG_FILE), 'utf8'));
    assert.deepEqual(Object.keys(json), ['format', 'version', 'config', 'featureCount', 'featureStats', 'training', 'weights']);
    assert.equal(json.config.seed, SMALL.seed);

    const expectError = async (pattern: RegExp) => {
      await assert.rejects(CrossEncoder.load(dir), (error: unknown) => {
        assert.ok(error instanceof ArtifactError, String(error));
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('\n'));
        assert.match(error.hint ?? '', /Retrain the reranker/);
        return true;
      });
    };
    const weightsPath = join(dir, CROSS_ENCODER_WEIGHTS_FILE);
    const good = readFileSync(weightsPath);
    const flipped = Buffer.from(good);
    flipped[100] ^= 0xff;
    writeFileSync(weightsPath, flipped);
    await expectError(/^trellis\/rerank\/cross-encoder: .*weights\.bin must have sha256 [0-9a-f]{12}\.\.\. \(got [0-9a-f]{12}\.\.\.; the file is corrupt\)\.$/);
    writeFileSync(weightsPath, good.subarray(0, good.length - 8));
    await expectError(/weights\.bin must be \d+ bytes \(got \d+; the file is truncated or was replaced\)/);
    writeFileSync(weightsPath, good);

    const configPath = join(dir, CROSS_ENCODER_CONFIG_FILE);
    writeFileSync(configPath, JSON.stringify({ ...json, config: { ...json.config, hiden: 64 } }));
    await expectError(/unknown key "hiden"/);
    writeFileSync(configPath, JSON.stringify({ ...json, config: { ...json.config, hidden: 16 } }));
    await expectError(/the weights listed for .* must match the model's configuration \(got embeddings\/token\[1028,32\] for embeddings\/token\[1028,16\]\)/);
    writeFileSync(configPath, '{');
    await expectError(/model\.json must be valid JSON/);
  } finally {
    model.dispose();
    loaded?.dispose();
  }
});

test('bad input is refused at the entry with a one-line message', async () => {
  const model = new CrossEncoder(2, SMALL);
  try {
    const pairs = pairSet(model);
    const refuses = async (run: () => unknown, type: new (...args: never[]) => Error, pattern: RegExp) => {
      await assert.rejects(async () => run(), (error: unknown) => {
        assert.ok(error instanceof type, String(error));
        assert.match((error as Error).message, pattern);
        return true;
      });
    };
    await refuses(() => model.train({ ...pairs, topicIndex: Uint32Array.from([0, 1, 2, 3, 0, 1, 2, 9]) }), DataError, /topicIndex must be below the 4 topic texts \(got 9 at pair 7\)/);
    await refuses(() => model.train({ ...pairs, features: new Float32Array(3) }), DataError, /features must hold 2 values per pair \(16 in all\) \(got 3\)/);
    await refuses(() => model.train({ ...pairs, labels: undefined }), DataError, /labels must be given for training/);
    await refuses(() => model.train(pairs, { epoch: 3 } as never), ConfigError, /unknown key "epoch"/);
    const badIds = { ...pairs.contents, ids: pairs.contents.ids.slice() };
    badIds.ids[0] = 1 << 20;
    await refuses(() => model.train({ ...pairs, contents: badIds }), DataError, /contents\.ids must be word ids in \[4, 1028\) \(got 1048576 at 0\)/);
    await refuses(() => model.score({ ...pairs, topics: tokenizeTexts(TOPICS, 1 << 12, 8) }), DataError, /topics must be tokenised with the model's vocabSize 1024 \(got 4096\)/);
    await refuses(() => model.score(pairs), Error, /must be trained \(or loaded\) before scoring/);
    assert.throws(() => new CrossEncoder(2, { ...SMALL, hidden: 30 }), /hidden must be a multiple of heads \(got hidden 30, heads 4\)/);
  } finally {
    model.dispose();
  }
});

test('an ensemble scores the mean of its members, saves and loads them all, and refuses members that read other pairs', async () => {
  const a = new CrossEncoder(2, SMALL);
  const b = new CrossEncoder(2, { ...SMALL, seed: 8 });
  const pairs = pairSet(a);
  await a.train(pairs, { epochs: 2 });
  await b.train(pairs, { epochs: 2 });
  const ensemble = new RerankerEnsemble([a, b]);
  const pa = a.score(pairs);
  const pb = b.score(pairs);
  const mean = ensemble.score(pairs);
  assert.ok(pa.some((p, i) => Math.abs(p - pb[i]) > 1e-4), 'the two seeds give different members');
  mean.forEach((p, i) => assert.ok(Math.abs(p - (pa[i] + pb[i]) / 2) < 1e-6));
  const dir = join(dirs.dir, 'ensemble');
  await ensemble.save(dir);
  const loaded = await RerankerEnsemble.load(dir);
  assert.equal(loaded.members.length, 2);
  loaded.score(pairs).forEach((p, i) => assert.ok(Math.abs(p - mean[i]) < 1e-6));
  loaded.dispose();
  // A one-member folder is a plain cross-encoder folder.
  const single = await RerankerEnsemble.load(join(dir, 'member-1'));
  single.score(pairs).forEach((p, i) => assert.ok(Math.abs(p - pb[i]) < 1e-6));
  single.dispose();
  const other = new CrossEncoder(3, SMALL);
  assert.throws(() => new RerankerEnsemble([a, other]), /member 1 has .*"features":3/);
  assert.throws(() => new RerankerEnsemble([]), /at least one/);
  other.dispose();
  ensemble.dispose();
});
