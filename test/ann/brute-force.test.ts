import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BruteForceIndex } from '../../src/ann/brute-force.ts';
import { searchRecall, searchMany } from '../../src/ann/search.ts';
import { syntheticVectors } from '../../src/ann/synthetic.ts';
import { TopK } from '../../src/ann/top-k.ts';
import { ConfigError, DataError } from '../../src/errors.ts';

function tiny(): BruteForceIndex {
  // label 10: [1, 0]   label 11: [0, 2]   label 12: [1, 1]   label 13: [-3, 0]
  const index = new BruteForceIndex(2, { capacity: 1 });
  index.add(new Float32Array([1, 0, 0, 2]), new Uint32Array([10, 11]));
  index.add(new Float32Array([1, 1, -3, 0]), new Uint32Array([12, 13]));
  return index;
}

test('brute force is exact on a hand-worked case', () => {
  const index = tiny();
  assert.equal(index.size, 4);
  // query [2, 0] ~ [1, 0]: cos = 1 (10), 0 (11), 1/sqrt(2) (12), -1 (13).
  const r = index.search(new Float32Array([2, 0]), 3);
  assert.deepEqual([...r.labels], [10, 12, 11]);
  assert.deepEqual([...r.scores], [1, Math.fround(Math.SQRT1_2), 0]);
  // query [1, 1]: cos = 1/sqrt(2) (10), 1/sqrt(2) (11), 1 (12), -1/sqrt(2) (13); the tie goes to the earlier row.
  const tie = index.search(new Float32Array([1, 1]), 4);
  assert.deepEqual([...tie.labels], [12, 10, 11, 13]);
  assert.ok(Math.abs(tie.scores[1] - Math.SQRT1_2) < 1e-6 && Math.abs(tie.scores[3] + Math.SQRT1_2) < 1e-6);
  // k above the size returns every row; a zero query scores 0 everywhere (earliest rows first).
  assert.equal(index.search(new Float32Array([0, 1]), 50).labels.length, 4);
  assert.deepEqual([...index.search(new Float32Array([0, 0]), 2).labels], [10, 11]);
});

test('searchBatch equals one search per query, for any number of queries', () => {
  const dim = 13; // not a multiple of 4, to cover the loop tails
  const index = new BruteForceIndex(dim);
  const n = 300;
  index.add(syntheticVectors({ rows: n, dim, seed: 5 }), Uint32Array.from({ length: n }, (_, i) => 1000 + i));
  for (const queryCount of [1, 3, 4, 7]) {
    const queries = syntheticVectors({ rows: queryCount, dim, seed: 6 });
    const batch = index.searchBatch(queries, 5);
    const single = Array.from({ length: queryCount }, (_, q) => index.search(queries.subarray(q * dim, (q + 1) * dim), 5));
    assert.deepEqual(batch, single);
    assert.deepEqual(searchMany(index, queries, 5), single);
  }
});

test('brute force agrees with a plain sort of all cosine similarities', () => {
  const dim = 8;
  const n = 200;
  const data = syntheticVectors({ rows: n, dim, seed: 7 });
  const query = syntheticVectors({ rows: 1, dim, seed: 8 });
  const index = new BruteForceIndex(dim);
  index.add(data, Uint32Array.from({ length: n }, (_, i) => i));
  const norm = (v: Float32Array) => Math.hypot(...v);
  const cos = Array.from({ length: n }, (_, i) => {
    const row = data.subarray(i * dim, (i + 1) * dim);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += row[j] * query[j];
    return { i, s: dot / (norm(row) * norm(query)) };
  }).sort((a, b) => b.s - a.s);
  const r = index.search(query, 10);
  assert.deepEqual([...r.labels], cos.slice(0, 10).map((c) => c.i));
  r.scores.forEach((s, j) => assert.ok(Math.abs(s - cos[j].s) < 1e-6));
  assert.equal(searchRecall([r], [r], 10), 1);
});

test('TopK keeps the k best with ties to the smaller id', () => {
  const top = new TopK(3);
  [[0.5, 4], [0.9, 1], [0.5, 2], [0.1, 0], [0.7, 3], [0.5, 1]].forEach(([s, id]) => top.push(s, id));
  const r = top.result();
  assert.deepEqual([...r.labels], [1, 3, 1]);
  assert.deepEqual([...r.scores], [0.9, 0.7, 0.5].map(Math.fround));
});

test('bad input is rejected with the scope and the numbers', () => {
  const index = tiny();
  assert.throws(() => index.add(new Float32Array(3), new Uint32Array([1, 2])), (e: unknown) => {
    assert.ok(e instanceof DataError);
    assert.equal(e.message, 'trellis/ann/brute-force: vectors must hold labels.length x dim = 2 x 2 = 4 floats (got 3).');
    return true;
  });
  assert.throws(() => index.add(new Float32Array([1, 1]), new Uint32Array([12])), /labels must be unique within an index \(got 12 twice\)\./);
  assert.throws(() => index.add(new Float32Array([NaN, 1]), new Uint32Array([99])), /vector values must be finite \(got NaN or Infinity in row 0, label 99\)\./);
  assert.equal(index.size, 4, 'a rejected add changes nothing');
  assert.throws(() => index.search(new Float32Array(3), 1), /the query must have dim = 2 floats \(got 3\)\./);
  assert.throws(() => index.search(new Float32Array(2), 0), (e: unknown) => e instanceof ConfigError && /k must be a positive integer \(got 0\)/.test(e.message));
  assert.throws(() => new BruteForceIndex(4, { capcity: 3 } as never), /unknown key "capcity"/);
});
