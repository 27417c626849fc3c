import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSeed, fillNormal, mulberry32, rngFor, shuffleInPlace } from '../src/random.ts';

test('mulberry32 is deterministic and uniform in [0, 1)', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
    sum += x;
  }
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
  assert.notEqual(mulberry32(1)(), mulberry32(2)());
});

test('deriveSeed separates labels and seeds, and is stable', () => {
  assert.equal(deriveSeed(42, 'hnsw'), deriveSeed(42, 'hnsw'));
  assert.notEqual(deriveSeed(42, 'hnsw'), deriveSeed(42, 'shuffle'));
  assert.notEqual(deriveSeed(42, 'hnsw'), deriveSeed(43, 'hnsw'));
  const s = deriveSeed(7, 'x');
  assert.ok(Number.isInteger(s) && s >= 0 && s < 2 ** 32);
});

test('fillNormal has mean ~0 and variance ~1', () => {
  const x = fillNormal(new Float64Array(20_001), rngFor(1, 'normal'));
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let variance = 0;
  for (const v of x) variance += (v - mean) ** 2;
  variance /= x.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
});

test('shuffleInPlace permutes', () => {
  const a = shuffleInPlace(Uint32Array.from({ length: 100 }, (_, i) => i), mulberry32(3));
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual([...a], Array.from({ length: 100 }, (_, i) => i));
});
