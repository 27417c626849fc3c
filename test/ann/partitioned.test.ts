import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BruteForceIndex } from '../../src/ann/brute-force.ts';
import { HnswIndex } from '../../src/ann/hnsw.ts';
import { DEFAULT_PARTITIONED_INDEX_OPTIONS, PartitionedIndex, partitionKey } from '../../src/ann/partitioned.ts';
import { searchRecall } from '../../src/ann/search.ts';
import { syntheticVectors } from '../../src/ann/synthetic.ts';
import { DataError } from '../../src/errors.ts';

const DIM = 16;

/** 600 items: rows 0-299 'en', 300-499 'fr', 500-599 'en/ch-1'; label = 10000 + row. */
function fixture() {
  const rows = 600;
  const vectors = syntheticVectors({ rows, dim: DIM, clusters: 8, seed: 21 });
  const labels = Uint32Array.from({ length: rows }, (_, i) => 10000 + i);
  const keys = Array.from({ length: rows }, (_, i) => (i < 300 ? 'en' : i < 500 ? 'fr' : partitionKey('en', 'ch-1')));
  return { vectors, labels, keys };
}

function exactOver(rows: number[], vectors: Float32Array, labels: Uint32Array): BruteForceIndex {
  const index = new BruteForceIndex(DIM);
  for (const r of rows) index.add(vectors.subarray(r * DIM, (r + 1) * DIM), labels.subarray(r, r + 1));
  return index;
}

test('queries are routed to their partition only', () => {
  const { vectors, labels, keys } = fixture();
  const index = new PartitionedIndex(DIM);
  index.addGrouped(vectors, labels, keys);
  assert.deepEqual(index.keys(), ['en', 'en/ch-1', 'fr']);
  assert.equal(index.size, 600);
  const query = syntheticVectors({ rows: 1, dim: DIM, clusters: 8, seed: 22 });
  const fr = index.search(query, 20, 'fr');
  assert.equal(fr.labels.length, 20);
  for (const label of fr.labels) assert.ok(label >= 10300 && label < 10500, `label ${label} is not in fr`);
  // Small partitions are exact: the same answer as brute force over the fr rows.
  const frRows = Array.from({ length: 200 }, (_, i) => 300 + i);
  assert.deepEqual(fr, exactOver(frRows, vectors, labels).search(query, 20));
  // A partition that does not exist gives nothing.
  assert.equal(index.search(query, 5, 'de').labels.length, 0);
});

test('several partitions are merged into one exact top k', () => {
  const { vectors, labels, keys } = fixture();
  const index = new PartitionedIndex(DIM);
  index.addGrouped(vectors, labels, keys);
  const queries = syntheticVectors({ rows: 12, dim: DIM, clusters: 8, seed: 23 });
  const enRows = Array.from({ length: 600 }, (_, i) => i).filter((i) => keys[i].startsWith('en'));
  const exact = exactOver(enRows, vectors, labels);
  for (let q = 0; q < 12; q++) {
    const query = queries.subarray(q * DIM, (q + 1) * DIM);
    const merged = index.search(query, 10, ['en', 'en/ch-1', 'missing']);
    const truth = exact.search(query, 10);
    assert.deepEqual([...merged.labels], [...truth.labels]);
    merged.scores.forEach((s, i) => assert.ok(Math.abs(s - truth.scores[i]) < 1e-6));
  }
});

test('searchBatch routes each query and matches single searches', () => {
  const { vectors, labels, keys } = fixture();
  const index = new PartitionedIndex(DIM);
  index.addGrouped(vectors, labels, keys);
  const queries = syntheticVectors({ rows: 7, dim: DIM, clusters: 8, seed: 24 });
  const routes = ['fr', 'en', ['en', 'fr'], 'fr', 'none', ['en/ch-1'], 'en'];
  const batch = index.searchBatch(queries, 5, routes);
  routes.forEach((route, q) => assert.deepEqual(batch[q], index.search(queries.subarray(q * DIM, (q + 1) * DIM), 5, route)));
  // One key routes every query.
  index.searchBatch(queries, 5, 'fr').forEach((r, q) => assert.deepEqual(r, index.search(queries.subarray(q * DIM, (q + 1) * DIM), 5, 'fr')));
  assert.throws(() => index.searchBatch(queries, 5, ['fr']), (e: unknown) => e instanceof DataError && e.message === 'trellis/ann/partitioned: routes must have one entry per query, 7 (got 1).');
});

test('a partition becomes HNSW when it grows past exactBelow, keeping its items', () => {
  const rows = 1200;
  const vectors = syntheticVectors({ rows: rows + 50, dim: DIM, clusters: 20, seed: 25 });
  const labels = Uint32Array.from({ length: rows }, (_, i) => i);
  const index = new PartitionedIndex(DIM, { exactBelow: 500 });
  index.add('en', vectors.subarray(0, 400 * DIM), labels.subarray(0, 400));
  assert.ok(index.partition('en') instanceof BruteForceIndex);
  index.add('en', vectors.subarray(400 * DIM, rows * DIM), labels.subarray(400));
  assert.ok(index.partition('en') instanceof HnswIndex);
  assert.equal(index.size, rows);
  const queries = vectors.subarray(rows * DIM);
  const exact = new BruteForceIndex(DIM);
  exact.add(vectors.subarray(0, rows * DIM), labels);
  const recall = searchRecall(index.searchBatch(queries, 10, 'en'), exact.searchBatch(queries, 10), 10);
  assert.ok(recall >= 0.95, `recall ${recall}`);
  // kind 'brute-force' never builds a graph.
  const flat = new PartitionedIndex(DIM, { kind: 'brute-force', exactBelow: 10 });
  flat.add('x', vectors.subarray(0, 100 * DIM), labels.subarray(0, 100));
  assert.ok(flat.partition('x') instanceof BruteForceIndex);
});

test('options are checked; defaults are frozen', () => {
  assert.ok(Object.isFrozen(DEFAULT_PARTITIONED_INDEX_OPTIONS));
  assert.throws(() => new PartitionedIndex(DIM, { kind: 'ivf' as never }), /trellis\/ann\/partitioned: kind must be one of hnsw, brute-force \(got "ivf"\)\./);
  assert.throws(() => new PartitionedIndex(DIM, { hnsw: { efsearch: 3 } as never }), /unknown key "hnsw.efsearch"/);
  const index = new PartitionedIndex(DIM);
  assert.throws(() => index.addGrouped(new Float32Array(DIM), new Uint32Array(1), []), /keys must have one entry per row, 1 \(got 0\)\./);
});

test('addGrouped reports progress per slice and builds the same HNSW graph as one add', () => {
  const rows = 20000;
  const vectors = syntheticVectors({ rows, dim: 8, clusters: 50, seed: 5 });
  const labels = Uint32Array.from({ length: rows }, (_, i) => i);
  const keys = Array.from({ length: rows }, (_, i) => (i % 4 === 0 ? 'fr' : 'en'));
  const progress: number[] = [];
  const sliced = new PartitionedIndex(8, { hnsw: { ...DEFAULT_PARTITIONED_INDEX_OPTIONS.hnsw, efConstruction: 40, seed: 3 } });
  sliced.addGrouped(vectors, labels, keys, (done, total) => {
    assert.equal(total, rows);
    progress.push(done);
  });
  // Partitions in order of first appearance: 5,000 'fr' rows, then 15,000 'en' rows in slices of 8,192.
  assert.deepEqual(progress, [5000, 13192, 20000]);
  const whole = new PartitionedIndex(8, { hnsw: { ...DEFAULT_PARTITIONED_INDEX_OPTIONS.hnsw, efConstruction: 40, seed: 3 } });
  for (const key of ['en', 'fr']) {
    const rowsOf = Array.from(labels).filter((i) => keys[i] === key);
    const part = new Float32Array(rowsOf.length * 8);
    rowsOf.forEach((r, i) => part.set(vectors.subarray(r * 8, (r + 1) * 8), i * 8));
    whole.add(key, part, Uint32Array.from(rowsOf));
  }
  const queries = syntheticVectors({ rows: 20, dim: 8, clusters: 50, seed: 6 });
  assert.deepEqual(sliced.searchBatch(queries, 10, Array.from({ length: 20 }, () => ['en'])).map((r) => Array.from(r.labels)), whole.searchBatch(queries, 10, Array.from({ length: 20 }, () => ['en'])).map((r) => Array.from(r.labels)));
});

test('addGroupedParallel builds each partition on a worker thread into the same graphs as addGrouped', async () => {
  const rows = 6000;
  const vectors = syntheticVectors({ rows, dim: 8, clusters: 40, seed: 7 });
  const labels = Uint32Array.from({ length: rows }, (_, i) => 5000 + i);
  // Two HNSW partitions, and one small enough (200 rows) to stay brute force on this thread.
  const keys = Array.from({ length: rows }, (_, i) => (i < 200 ? 'de' : i % 3 === 0 ? 'fr' : 'en'));
  const options = { hnsw: { ...DEFAULT_PARTITIONED_INDEX_OPTIONS.hnsw, efConstruction: 40, seed: 9 } };
  const serial = new PartitionedIndex(8, options);
  serial.addGrouped(vectors, labels, keys);
  const parallel = new PartitionedIndex(8, options);
  const progress: number[] = [];
  await parallel.addGroupedParallel(vectors, labels, keys, { workers: 2, onProgress: (done, total) => (assert.equal(total, rows), progress.push(done)) });
  assert.deepEqual(parallel.keys(), serial.keys());
  for (const key of serial.keys()) {
    assert.equal(parallel.partition(key)!.constructor, serial.partition(key)!.constructor, key);
    assert.equal(parallel.partition(key)!.size, serial.partition(key)!.size, key);
  }
  assert.ok(parallel.partition('en') instanceof HnswIndex && parallel.partition('de') instanceof BruteForceIndex);
  assert.equal(progress.at(-1), rows);
  assert.ok(progress.every((d, i) => i === 0 || d >= progress[i - 1]), 'progress never goes back');
  const queries = syntheticVectors({ rows: 30, dim: 8, clusters: 40, seed: 8 });
  for (const key of ['en', 'fr']) {
    const route = Array.from({ length: 30 }, () => key);
    assert.deepEqual(parallel.searchBatch(queries, 10, route).map((r) => Array.from(r.labels)), serial.searchBatch(queries, 10, route).map((r) => Array.from(r.labels)), key);
  }
});

test('shards split one large partition into equal graphs, found together, and built in parallel as on one thread', async () => {
  const rows = 3000;
  const vectors = syntheticVectors({ rows, dim: 8, clusters: 30, seed: 12 });
  const labels = Uint32Array.from({ length: rows }, (_, i) => i);
  const keys = Array.from({ length: rows }, () => 'en');
  const options = { hnsw: { ...DEFAULT_PARTITIONED_INDEX_OPTIONS.hnsw, efConstruction: 40, seed: 4 }, shardRows: 1000 };
  const serial = new PartitionedIndex(8, options);
  serial.addGrouped(vectors, labels, keys);
  assert.deepEqual(serial.keys(), ['en']);
  assert.deepEqual(serial.shards('en').map((p) => p.size), [1000, 1000, 1000]);
  assert.ok(serial.shards('en').every((p) => p instanceof HnswIndex));
  const parallel = new PartitionedIndex(8, options);
  await parallel.addGroupedParallel(vectors, labels, keys, { workers: 2 });
  const queries = syntheticVectors({ rows: 50, dim: 8, clusters: 30, seed: 13 });
  const found = serial.searchBatch(queries, 10, 'en');
  assert.deepEqual(parallel.searchBatch(queries, 10, 'en').map((r) => Array.from(r.labels)), found.map((r) => Array.from(r.labels)));
  // The merged shards find what an exact search finds.
  const exact = new PartitionedIndex(8, { kind: 'brute-force' });
  exact.addGrouped(vectors, labels, keys);
  const truth = exact.searchBatch(queries, 10, 'en');
  assert.ok(searchRecall(found, truth, 10) >= 0.95);
  assert.throws(() => new PartitionedIndex(8, { shardRows: -1 }), /shardRows must be a non-negative integer/);
});
