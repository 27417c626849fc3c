import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sentenceCosines } from '../../src/retrieval/neural.ts';
import { resolveRunConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';
import { fuseCandidates, withUnplaced } from '../../src/retrieval/candidates.ts';

const list = (rows: number[]) => ({ rows: Uint32Array.from(rows), scores: Float32Array.from(rows, (_, i) => 1 - i / 10) });

test('withUnplaced keeps the top k, then only unplaced items from further down, in order, up to the extra count', () => {
  const placed = [1, 0, 2, 0, 1, 0, 0, 3]; // topics linking content 0..7
  const deep = list([7, 0, 4, 1, 2, 3, 5, 6]);
  const out = withUnplaced(deep, 2, 2, placed);
  assert.deepEqual(Array.from(out.rows), [7, 0, 1, 3]); // 7, 0: the top 2 even though placed; then 1 (rank 4) and 3 (rank 6)
  assert.deepEqual(Array.from(out.ranks!), [1, 2, 4, 6]);
  assert.deepEqual(Array.from(out.scores), [deep.scores[0], deep.scores[1], deep.scores[3], deep.scores[5]]);
  // No unplaced item below the top k: just the top k.
  assert.deepEqual(Array.from(withUnplaced(list([7, 0, 4]), 2, 5, placed).rows), [7, 0]);
  // A list shorter than k stays whole.
  assert.deepEqual(Array.from(withUnplaced(list([4]), 2, 5, placed).rows), [4]);
});

test('fuseCandidates uses a list\'s own ranks for fusion and the rank columns', () => {
  const neural = { ...list([10, 11]), ranks: Uint32Array.of(1, 40) };
  const fused = fuseCandidates(neural, list([11]));
  const at = (row: number) => Array.from(fused.rows).indexOf(row);
  assert.equal(fused.neuralRank[at(11)], 40);
  assert.equal(fused.lexicalRank[at(11)], 1);
  assert.ok(Math.abs(fused.fused[at(11)] - (1 / 100 + 1 / 61)) < 1e-7);
  assert.ok(Math.abs(fused.fused[at(10)] - 1 / 61) < 1e-7);
  assert.deepEqual(Array.from(fused.rows), [11, 10]);
});

test('retrieval.unplacedDepth must reach below topK when unplaced candidates are on', () => {
  assert.equal(resolveRunConfig({ retrieval: { unplacedTopK: 30 } }).retrieval.unplacedDepth, 200);
  assert.throws(() => resolveRunConfig({ retrieval: { unplacedTopK: 30, unplacedDepth: 50 } }), (e: unknown) => e instanceof ConfigError && /retrieval\.unplacedDepth/.test((e as Error).message));
  assert.throws(() => resolveRunConfig({ retrieval: { unplacedTopK: -1 } }), ConfigError);
});

test('sentenceCosines: cosine of the topic\'s and each candidate\'s pretrained vectors, 0 for a zero vector', () => {
  const vectors = { dim: 2, topics: Float32Array.of(0, 0, 3, 4), content: Float32Array.of(3, 4, -4, 3, 0, 0, 6, 8) };
  const out = sentenceCosines(vectors, 1, Uint32Array.of(3, 1, 2, 0));
  assert.deepEqual(Array.from(out, (x) => Math.round(x * 1e6) / 1e6), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(sentenceCosines(vectors, 0, Uint32Array.of(0))), [0]);
});

test('fuseCandidates with a sentence list sums three reciprocal ranks and records the sentence ranks', () => {
  const fused = fuseCandidates(list([1, 2]), list([2]), list([3, 1]));
  const at = (row: number) => Array.from(fused.rows).indexOf(row);
  assert.deepEqual(Array.from(fused.rows), [1, 2, 3]); // 1: 1/61 + 1/62; 2: 1/62 + 1/61; ties break on row; 3: 1/61
  assert.ok(Math.abs(fused.fused[at(1)] - (1 / 61 + 1 / 62)) < 1e-7);
  assert.deepEqual(Array.from(fused.sentenceRank!), [2, 0, 1]);
  assert.ok(Number.isNaN(fused.neural[at(3)]) && Number.isNaN(fused.lexical[at(3)]));
  assert.equal(fuseCandidates(list([1]), list([2])).sentenceRank, undefined);
});

test('retrieval.sentenceTopK needs a frozen pretrained encoder', () => {
  assert.throws(() => resolveRunConfig({ retrieval: { sentenceTopK: 50 } }), (e: unknown) => e instanceof ConfigError && /retrieval\.sentenceTopK must be 0 unless encoder\.kind is 'pretrained'/.test(e.message));
  assert.throws(() => resolveRunConfig({ retrieval: { sentenceTopK: -1 } }), ConfigError);
  assert.equal(resolveRunConfig({ encoder: { kind: 'pretrained', model: 'm' }, retrieval: { sentenceTopK: 50 } }).retrieval.sentenceTopK, 50);
});
