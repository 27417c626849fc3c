import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddingCache, textKey } from '../../src/pretrained/cache.ts';
import { embedTexts } from '../../src/pretrained/parallel.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { REPO, tempDir } from '../helpers.ts';

test('the cache returns each text\'s vector in the order asked, across reopenings', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dim = 3;
    let cache = await EmbeddingCache.open(dir, 'm', dim);
    const keys = ['a', 'b', 'c', 'd', 'e'].map(textKey);
    await cache.append(keys.slice(0, 3), Float32Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3]));
    await cache.append(keys.slice(3), Float32Array.from([4, 4, 4, 5, 5, 5]));
    cache = await EmbeddingCache.open(dir, 'm', dim);
    assert.equal(cache.size, 5);
    assert.deepEqual(Array.from(await cache.read([keys[4], keys[0], keys[2], keys[0]])), [5, 5, 5, 1, 1, 1, 3, 3, 3, 1, 1, 1]);
    await assert.rejects(cache.read([textKey('never')]), /not cached/);
  } finally {
    cleanup();
  }
});

test('a half-written append (vectors without keys) is cut away on open', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cache = await EmbeddingCache.open(dir, 'm', 2);
    await cache.append([textKey('x')], Float32Array.from([7, 8]));
    appendFileSync(join(dir, 'm', 'vectors.f32'), new Uint8Array(new Float32Array([9, 9, 9]).buffer)); // killed mid-append
    const reopened = await EmbeddingCache.open(dir, 'm', 2);
    assert.equal(reopened.size, 1);
    assert.equal(statSync(join(dir, 'm', 'vectors.f32')).size, 8);
    await reopened.append([textKey('y')], Float32Array.from([1, 2]));
    assert.deepEqual(Array.from(await (await EmbeddingCache.open(dir, 'm', 2)).read([textKey('y'), textKey('x')])), [1, 2, 7, 8]);
  } finally {
    cleanup();
  }
});

test('two worker threads give the same vectors as one thread, in input order', async () => {
  await initRuntime();
  const model = join(REPO, 'test', 'fixtures', 'tiny-bert');
  const texts = Array.from({ length: 160 }, (_, i) => `${'the cat sat '.repeat(1 + (i % 5))} on mat ${i}`);
  const progress: number[] = [];
  const one = await embedTexts(model, texts, { workers: 1, encoder: { maxLength: 16 } });
  const two = await embedTexts(model, texts, { workers: 2, chunk: 8, encoder: { maxLength: 16 }, onProgress: (done) => progress.push(done) });
  assert.equal(two.dim, 32);
  assert.equal(two.vectors.length, 160 * 32);
  for (let i = 0; i < one.vectors.length; i++) assert.ok(Math.abs(one.vectors[i] - two.vectors[i]) < 1e-5, `float ${i}`);
  assert.equal(progress.at(-1), 160);
  assert.equal(progress.length, 20, 'one update per chunk of 8');
});
