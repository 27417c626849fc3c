/**
 * all-MiniLM-L6-v2, when `bash scripts/fetch-pretrained.sh` has put it in
 * models/pretrained/: semantic sanity and agreement with the vectors
 * sentence-transformers gives (test/fixtures/minilm-reference.json, made by
 * scripts/pretrained/make-fixtures.py).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initRuntime } from '../../src/runtime/backend.ts';
import { PretrainedEncoder } from '../../src/pretrained/encoder.ts';
import { REPO } from '../helpers.ts';
import { PARITY_BACKENDS } from '../backends.ts';

const MODEL = join(REPO, 'models', 'pretrained', 'all-MiniLM-L6-v2');

// Under CI the model must be there (.ci/run fetches it): a missing model fails instead of skipping.
const absent = existsSync(join(MODEL, 'model.safetensors')) ? false : 'models/pretrained/all-MiniLM-L6-v2 is absent (bash scripts/fetch-pretrained.sh)';
if (absent && process.env.CI) throw new Error(`${absent}: under CI it must be fetched.`);

for (const backend of PARITY_BACKENDS) test(`all-MiniLM-L6-v2: meaning is closer than wording, and vectors match sentence-transformers within 1e-3 (${backend})`, { skip: absent }, async () => {
  await initRuntime(backend);
  const ref = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'minilm-reference.json'), 'utf8')) as { sentences: string[]; vectors: number[][] };
  const encoder = await PretrainedEncoder.load(MODEL, { maxLength: 0 });
  try {
    assert.equal(encoder.dim, 384);
    assert.equal(encoder.maxLength, 256);
    assert.deepEqual(encoder.files.pooling, { mode: 'mean', normalize: true });
    const v = encoder.embed(ref.sentences);
    const row = (i: number) => v.subarray(i * 384, (i + 1) * 384);
    const cos = (a: Float32Array, b: Float32Array) => a.reduce((s, x, k) => s + x * b[k], 0);
    const [food, bread, horse] = [row(0), row(1), row(2)];
    assert.ok(cos(food, bread) > cos(food, horse) && cos(food, bread) > cos(bread, horse), `cos(food, bread) ${cos(food, bread)}, cos(food, horse) ${cos(food, horse)}, cos(bread, horse) ${cos(bread, horse)}`);
    ref.vectors.forEach((expected, i) => {
      const diff = Math.max(...expected.map((x, k) => Math.abs(x - row(i)[k])));
      assert.ok(diff < 1e-3, `${ref.sentences[i]}: max difference ${diff}`);
    });
  } finally {
    encoder.dispose();
  }
});
