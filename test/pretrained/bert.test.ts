import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initRuntime } from '../../src/runtime/backend.ts';
import { tf } from '../../src/runtime/tf.ts';
import { PretrainedEncoder } from '../../src/pretrained/encoder.ts';
import { REPO, tempDir } from '../helpers.ts';
import { PARITY_BACKENDS } from '../backends.ts';

const TINY_BERT = join(REPO, 'test', 'fixtures', 'tiny-bert');
const TINY_BERT_F16 = join(REPO, 'test', 'fixtures', 'tiny-bert-f16');

interface Case {
  text: string;
  ids: number[];
  hidden: number[][];
  mean: number[];
  meanNormalized: number[];
  cls: number[];
}
interface Reference {
  maxLength: number;
  cases: Case[];
}

function reference(dir: string): Reference {
  return JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

before(async () => {
  await initRuntime();
});

test('the tokenizer gives the reference ids (lowercasing, accents, unknown words, truncation)', async () => {
  const ref = reference(TINY_BERT);
  const encoder = await PretrainedEncoder.load(TINY_BERT, { maxLength: ref.maxLength });
  try {
    for (const c of ref.cases) assert.deepEqual(Array.from(encoder.tokenizer.encode(c.text, ref.maxLength)), c.ids, c.text);
    assert.ok(ref.cases.some((c) => c.ids.length === ref.maxLength), 'one case is truncated');
  } finally {
    encoder.dispose();
  }
});

test('vocab.txt alone gives the same ids as tokenizer.json', async () => {
  const ref = reference(TINY_BERT);
  const { dir, cleanup } = tempDir();
  try {
    cpSync(TINY_BERT, dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.json'));
    const encoder = await PretrainedEncoder.load(dir, { maxLength: ref.maxLength });
    try {
      assert.equal(encoder.files.tokenizer.kind, 'vocab.txt');
      for (const c of ref.cases) assert.deepEqual(Array.from(encoder.tokenizer.encode(c.text, ref.maxLength)), c.ids, c.text);
    } finally {
      encoder.dispose();
    }
  } finally {
    cleanup();
  }
});

for (const [label, dir, backend] of [['float32', TINY_BERT], ['float16', TINY_BERT_F16]].flatMap(([l, d]) => PARITY_BACKENDS.map((b) => [l, d, b] as const))) {
  test(`hidden states and pooled vectors match transformers within 1e-4 (${label} weights, ${backend})`, async () => {
    await initRuntime(backend);
    const ref = reference(dir);
    const encoder = await PretrainedEncoder.load(dir, { maxLength: ref.maxLength });
    try {
      assert.equal(encoder.files.pooling.mode, 'mean');
      assert.equal(encoder.files.pooling.normalize, true);
      for (const c of ref.cases) {
        const ids = Int32Array.from(c.ids);
        const hidden = tf.tidy(() => encoder.model.forward(ids, new Float32Array(ids.length).fill(1), 1, ids.length).dataSync() as Float32Array);
        assert.ok(maxAbsDiff(hidden, c.hidden.flat()) < 1e-4, `${c.text}: hidden states differ by ${maxAbsDiff(hidden, c.hidden.flat())}`);
      }
      // Batched, padded and length-sorted: each text's vector equals its reference.
      const vectors = encoder.embed(ref.cases.map((c) => c.text));
      ref.cases.forEach((c, i) => {
        const got = vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim);
        assert.ok(maxAbsDiff(got, c.meanNormalized) < 1e-4, `${c.text}: pooled vector differs by ${maxAbsDiff(got, c.meanNormalized)}`);
      });
    } finally {
      encoder.dispose();
    }
  });
}

test('pooling follows the sentence-transformers config: cls, mean without Normalize', async () => {
  const ref = reference(TINY_BERT);
  const { dir, cleanup } = tempDir();
  try {
    cpSync(TINY_BERT, dir, { recursive: true });
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_cls_token: true, pooling_mode_mean_tokens: false }));
    writeFileSync(join(dir, 'modules.json'), JSON.stringify([{ type: 'sentence_transformers.models.Transformer', path: '' }, { type: 'sentence_transformers.models.Pooling', path: '1_Pooling' }]));
    let encoder = await PretrainedEncoder.load(dir, { maxLength: ref.maxLength });
    let vectors = encoder.embed(ref.cases.map((c) => c.text));
    encoder.dispose();
    ref.cases.forEach((c, i) => assert.ok(maxAbsDiff(vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim), c.cls) < 1e-4, c.text));
    writeFileSync(join(dir, '1_Pooling', 'config.json'), JSON.stringify({ pooling_mode_mean_tokens: true }));
    encoder = await PretrainedEncoder.load(dir, { maxLength: ref.maxLength });
    vectors = encoder.embed(ref.cases.map((c) => c.text));
    encoder.dispose();
    ref.cases.forEach((c, i) => assert.ok(maxAbsDiff(vectors.subarray(i * encoder.dim, (i + 1) * encoder.dim), c.mean) < 1e-4, c.text));
  } finally {
    cleanup();
  }
});

test('embedding is deterministic, independent of batch composition, and leaks no tensors', async () => {
  const ref = reference(TINY_BERT);
  const texts = ref.cases.map((c) => c.text);
  const encoder = await PretrainedEncoder.load(TINY_BERT, { maxLength: ref.maxLength, batchTokens: 16 });
  try {
    const before = tf.memory().numTensors;
    const a = encoder.embed(texts);
    const b = encoder.embed([...texts].reverse());
    assert.equal(tf.memory().numTensors, before);
    const d = encoder.dim;
    texts.forEach((_, i) => assert.deepEqual(Array.from(a.subarray(i * d, (i + 1) * d)), Array.from(b.subarray((texts.length - 1 - i) * d, (texts.length - i) * d))));
    assert.equal(a.length, texts.length * d);
  } finally {
    encoder.dispose();
  }
});

test('a BERT-family directory with a missing or unsupported part is one clear error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    await assert.rejects(PretrainedEncoder.load(join(dir, 'nope')), /no such model directory/);
    cpSync(TINY_BERT, join(dir, 'm'), { recursive: true });
    const m = join(dir, 'm');
    rmSync(join(m, 'model.safetensors'));
    writeFileSync(join(m, 'pytorch_model.bin'), 'x');
    await assert.rejects(PretrainedEncoder.load(m), /model\.safetensors is missing \(trellis reads safetensors weights, not pytorch_model\.bin\)/);
    cpSync(join(TINY_BERT, 'model.safetensors'), join(m, 'model.safetensors'));
    const config = JSON.parse(readFileSync(join(m, 'config.json'), 'utf8'));
    writeFileSync(join(m, 'config.json'), JSON.stringify({ ...config, model_type: 'mpnet' }));
    await assert.rejects(PretrainedEncoder.load(m), /model_type "mpnet" .* is not supported/);
    writeFileSync(join(m, 'config.json'), JSON.stringify({ ...config, hidden_size: 48 }));
    await assert.rejects(PretrainedEncoder.load(m), /has shape \[76,32\], config.json implies \[76,48\]/);
    writeFileSync(join(m, 'config.json'), JSON.stringify(config));
    rmSync(join(m, 'tokenizer.json'));
    rmSync(join(m, 'vocab.txt'));
    await assert.rejects(PretrainedEncoder.load(m), /tokenizer.json and vocab.txt are both missing/);
    cpSync(join(TINY_BERT, 'vocab.txt'), join(m, 'vocab.txt'));
    const weights = readFileSync(join(TINY_BERT, 'model.safetensors'));
    writeFileSync(join(m, 'model.safetensors'), weights.subarray(0, weights.length - 100));
    await assert.rejects(PretrainedEncoder.load(m), /not a valid safetensors file: tensor .* outside the/);
  } finally {
    cleanup();
  }
});

test('bfloat16 keeps 8 significant bits, rounds to nearest even, and keeps signs, infinities and NaN', async () => {
  const { toBfloat16, fromBfloat16 } = await import('../../src/pretrained/bfloat16.ts');
  const values = Float32Array.from([0, -0, 1, -2.5, 3.14159, 1e-30, -6.5e4, 1 + 2 ** -8, 1 + 3 * 2 ** -8, Infinity, -Infinity, NaN]);
  const back = new Float32Array(values.length + 2);
  fromBfloat16(toBfloat16(values), back, 2);
  const out = back.subarray(2);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) assert.ok(Number.isNaN(out[i]));
    else if (!Number.isFinite(values[i]) || values[i] === 0) assert.ok(Object.is(out[i], values[i]), `${values[i]} -> ${out[i]}`);
    else assert.ok(Math.abs(out[i] - values[i]) <= Math.abs(values[i]) * 2 ** -8, `${values[i]} -> ${out[i]}`);
  }
  assert.equal(out[7], 1); // a tie rounds to the even mantissa (down)
  assert.equal(out[8], 1 + 2 ** -6); // a tie rounds to the even mantissa (up)
});

test('cacheFrozenLayers: the top layer over the kept hidden states gives the full forward pass and its gradients', async () => {
  const encoder = await PretrainedEncoder.load(TINY_BERT, { maxLength: 16, trainableLayers: 1 });
  const rows = encoder.tokenize(['fractions and decimals', 'the water cycle', 'adding two-digit numbers with carrying', 'a']);
  const loss = () => tf.sum(tf.square(encoder.encodeTokens(rows))) as tf.Scalar;
  const full = tf.tidy(() => encoder.encodeTokens(rows).dataSync().slice());
  const fullGrads = tf.variableGrads(loss, encoder.variables as tf.Variable[]);
  encoder.cacheFrozenLayers(rows);
  assert.equal(encoder.frozenLayers, 1);
  const cached = tf.tidy(() => encoder.encodeTokens(rows).dataSync().slice());
  assert.ok(maxAbsDiff(full, cached) < 2e-2, `max diff ${maxAbsDiff(full, cached)}`);
  assert.ok(maxAbsDiff(full, cached) > 0, 'the cached path must be the one that ran (bfloat16 rounding shows)');
  const cachedGrads = tf.variableGrads(loss, encoder.variables as tf.Variable[]);
  assert.ok(Object.keys(fullGrads.grads).length > 0);
  for (const name of Object.keys(fullGrads.grads)) {
    const a = fullGrads.grads[name].dataSync();
    const b = cachedGrads.grads[name].dataSync();
    const scale = Math.max(...Array.from(a, Math.abs));
    assert.ok(maxAbsDiff(a, b) <= 0.05 * scale + 1e-6, `${name}: max diff ${maxAbsDiff(a, b)} of ${scale}`);
  }
  // Rows the cache has not seen take the whole transformer.
  const other = encoder.tokenize(['photosynthesis']);
  const alone = tf.tidy(() => encoder.encodeTokens(other).dataSync().slice());
  const fresh = await PretrainedEncoder.load(TINY_BERT, { maxLength: 16, trainableLayers: 1 });
  assert.deepEqual(alone, tf.tidy(() => fresh.encodeTokens(other).dataSync().slice()));
  encoder.dispose();
  fresh.dispose();
});

test('encodeTokens in length-sorted groups gives the one-batch vectors and gradients, in input order', async () => {
  const grouped = await PretrainedEncoder.load(TINY_BERT, { maxLength: 16, trainableLayers: 1, batchTokens: 16 });
  const whole = await PretrainedEncoder.load(TINY_BERT, { maxLength: 16, trainableLayers: 1 });
  const texts = ['adding two-digit numbers with carrying', 'a', 'the water cycle', 'fractions and decimals', 'the cat sat on the mat', 'photosynthesis'];
  const rows = grouped.tokenize(texts);
  const a = tf.tidy(() => grouped.encodeTokens(rows).dataSync().slice());
  const b = tf.tidy(() => whole.encodeTokens(rows).dataSync().slice());
  assert.ok(maxAbsDiff(a, b) < 1e-5, `max diff ${maxAbsDiff(a, b)}`);
  const weights = Float32Array.from({ length: rows.length * grouped.dim }, (_, i) => Math.sin(i));
  const loss = (e: PretrainedEncoder) => () => tf.sum(tf.mul(e.encodeTokens(rows), tf.tensor2d(weights, [rows.length, e.dim]))) as tf.Scalar;
  const ga = tf.variableGrads(loss(grouped), grouped.variables as tf.Variable[]);
  const gb = tf.variableGrads(loss(whole), whole.variables as tf.Variable[]);
  const strip = (name: string) => name.replace(/#\d+$/, '');
  const byName = new Map(Object.entries(gb.grads).map(([k, v]) => [strip(k), v]));
  for (const [name, g] of Object.entries(ga.grads)) assert.ok(maxAbsDiff(g.dataSync(), byName.get(strip(name))!.dataSync()) < 1e-4, name);
  grouped.dispose();
  whole.dispose();
});
