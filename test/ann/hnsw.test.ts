import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BruteForceIndex } from '../../src/ann/brute-force.ts';
import { DEFAULT_HNSW_OPTIONS, HnswIndex, hnswlibBuild } from '../../src/ann/hnsw.ts';
import { searchRecall } from '../../src/ann/search.ts';
import { syntheticVectors } from '../../src/ann/synthetic.ts';
import { DataError } from '../../src/errors.ts';

const N = 5000;
const DIM = 64;
const QUERIES = 200;

/** Data and queries from one draw, so clustered queries share the data's centres. */
function dataset(clusters: number) {
  const all = syntheticVectors({ rows: N + QUERIES, dim: DIM, clusters, seed: 11 });
  return { data: all.subarray(0, N * DIM), queries: all.subarray(N * DIM), labels: Uint32Array.from({ length: N }, (_, i) => 3 * i + 1) };
}

for (const [name, clusters] of [['random', 0], ['clustered', 50]] as const) {
  test(`HNSW recall@10 >= 0.95 against brute force (${N} x ${DIM}, ${name})`, () => {
    const { data, queries, labels } = dataset(clusters);
    const exact = new BruteForceIndex(DIM, { capacity: N });
    exact.add(data, labels);
    // Default options, but a small starting capacity to exercise resizing.
    const hnsw = new HnswIndex(DIM, { capacity: 100 });
    hnsw.add(data.subarray(0, 1000 * DIM), labels.subarray(0, 1000));
    hnsw.add(data.subarray(1000 * DIM), labels.subarray(1000));
    assert.equal(hnsw.size, N);
    const truth = exact.searchBatch(queries, 10);
    const found = hnsw.searchBatch(queries, 10);
    const recall = searchRecall(found, truth, 10);
    assert.ok(recall >= 0.95, `recall@10 = ${recall}`);
    // Scores are cosine similarities: for labels both found, they agree.
    for (let q = 0; q < 20; q++) {
      const exactScore = new Map([...truth[q].labels].map((l, i) => [l, truth[q].scores[i]]));
      found[q].labels.forEach((l, i) => {
        const s = exactScore.get(l);
        if (s !== undefined) assert.ok(Math.abs(s - found[q].scores[i]) < 1e-5);
      });
      for (let i = 1; i < found[q].scores.length; i++) assert.ok(found[q].scores[i - 1] >= found[q].scores[i]);
    }
  });
}

test('the same seed builds the same graph', () => {
  const { data, queries, labels } = dataset(0);
  const small = data.subarray(0, 1500 * DIM);
  const build = () => {
    const index = new HnswIndex(DIM, { seed: 7, efSearch: 16 });
    index.add(small, labels.subarray(0, 1500));
    return index.searchBatch(queries.subarray(0, 30 * DIM), 10);
  };
  assert.deepEqual(build(), build());
});

test('defaults are frozen; options, k and empty indexes behave', () => {
  assert.ok(Object.isFrozen(DEFAULT_HNSW_OPTIONS));
  const index = new HnswIndex(3, { efSearch: 10 });
  assert.deepEqual(index.search(new Float32Array([1, 0, 0]), 5), { labels: new Uint32Array(0), scores: new Float32Array(0) });
  index.add(new Float32Array([1, 0, 0, 0, 1, 0]), new Uint32Array([5, 6]));
  const r = index.search(new Float32Array([2, 0.1, 0]), 10); // k above size returns size results
  assert.deepEqual([...r.labels], [5, 6]);
  assert.ok(Math.abs(r.scores[0] - 2 / Math.hypot(2, 0.1)) < 1e-6);
  index.setEfSearch(40);
  assert.equal(index.options.efSearch, 40);
  assert.throws(() => index.add(new Float32Array([0, 0, 1]), new Uint32Array([6])), (e: unknown) => e instanceof DataError && /got 6 twice/.test(e.message));
  assert.throws(() => new HnswIndex(3, { m: 0 }), /trellis\/ann\/hnsw: m must be a positive integer \(got 0\)\./);
  assert.throws(() => new HnswIndex(3, { M: 8 } as never), /unknown key "M"/);
});

test('the batch search answers exactly as one searchKnn call per query, also short of k after deletions', (t) => {
  const build = hnswlibBuild();
  if (!build.searchBatch) {
    // The addon npm builds has no searchKnnBatch; scripts/hnswlib/build.sh adds it (the postinstall runs it).
    if (process.env.CI) assert.fail('hnswlib-node has no searchKnnBatch: run bash scripts/hnswlib/build.sh');
    t.skip('hnswlib-node built without searchKnnBatch');
    return;
  }
  const { data, queries, labels } = dataset(50);
  const index = new HnswIndex(DIM, { seed: 3, efSearch: 24 });
  index.add(data.subarray(0, 2000 * DIM), labels.subarray(0, 2000));
  const perQuery = (k: number) => {
    const native = (index as unknown as { index: object }).index;
    // An own property shadows the prototype's method: the per-query path.
    Object.defineProperty(native, 'searchKnnBatch', { value: undefined, configurable: true });
    try {
      return index.searchBatch(queries, k);
    } finally {
      delete (native as { searchKnnBatch?: unknown }).searchKnnBatch;
    }
  };
  for (const k of [1, 10, 50]) assert.deepEqual(index.searchBatch(queries, k), perQuery(k), `k ${k}`);
  assert.deepEqual(index.search(queries.subarray(0, DIM), 10), perQuery(10)[0]);
  // Three rows left of a small index: k 10 finds 3, the rest of each row is padding.
  const small = new HnswIndex(DIM, { seed: 3 });
  small.add(data.subarray(0, 8 * DIM), labels.subarray(0, 8));
  small.remove(labels.subarray(0, 5));
  const found = small.searchBatch(queries.subarray(0, 4 * DIM), 10);
  for (const r of found) assert.deepEqual([...r.labels].sort((a, b) => a - b), [...labels.subarray(5, 8)]);
});
