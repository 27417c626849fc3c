import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArtifact } from '../../src/ann/artifact.ts';
import { loadIndex } from '../../src/ann/load.ts';
import { BruteForceIndex } from '../../src/ann/brute-force.ts';
import { HnswIndex } from '../../src/ann/hnsw.ts';
import { PartitionedIndex } from '../../src/ann/partitioned.ts';
import { syntheticVectors } from '../../src/ann/synthetic.ts';
import type { IndexManifest } from '../../src/ann/types.ts';
import { ArtifactError } from '../../src/errors.ts';

const DIM = 24;
const ROWS = 1500;
const root = mkdtempSync(join(tmpdir(), 'trellis-ann-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = () => join(root, `index-${dirCounter++}`);

const vectors = syntheticVectors({ rows: ROWS + 40, dim: DIM, clusters: 10, seed: 31 });
const data = vectors.subarray(0, ROWS * DIM);
const queries = vectors.subarray(ROWS * DIM);
const labels = Uint32Array.from({ length: ROWS }, (_, i) => 7 * i);
const info = { modelId: 'two-tower-abc123', seed: 42, meta: { config: { dim: DIM } } };

function hnsw(): HnswIndex {
  const index = new HnswIndex(DIM, { efSearch: 50, seed: 9 });
  index.add(data, labels);
  return index;
}

/** Asserts an ArtifactError whose message matches and whose one-line form says how to fix it. */
function rejectsWith(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ArtifactError, `expected an ArtifactError, got ${error}`);
    assert.match(error.message, message);
    assert.match(error.toLine(), /Rebuild the index with 'trellis train'\.$/);
    assert.equal(error.exitCode, 2);
    return true;
  });
}

test('HNSW save/load round trip returns identical results; the manifest says what it holds', () => {
  const dir = freshDir();
  const index = hnsw();
  const manifest = index.save(dir, info);
  assert.deepEqual(readdirSync(dir).sort(), ['index.hnsw', 'manifest.json'], 'no temporary files are left');
  const onDisk = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as IndexManifest;
  assert.deepEqual(onDisk, manifest);
  assert.equal(onDisk.kind, 'hnsw');
  assert.equal(onDisk.dimension, DIM);
  assert.equal(onDisk.count, ROWS);
  assert.equal(onDisk.space, 'cosine');
  assert.equal(onDisk.modelId, 'two-tower-abc123');
  assert.equal(onDisk.seed, 42);
  assert.deepEqual(onDisk.params, { m: 16, efConstruction: 200, efSearch: 50, seed: 9, capacity: 1024 });
  assert.deepEqual(onDisk.meta, info.meta);
  const bytes = readFileSync(join(dir, 'index.hnsw'));
  assert.deepEqual(onDisk.files, [{ name: 'index.hnsw', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }]);

  const loaded = HnswIndex.load(dir, { dimension: DIM, modelId: 'two-tower-abc123' });
  assert.equal(loaded.size, ROWS);
  assert.equal(loaded.options.efSearch, 50);
  assert.deepEqual(loaded.searchBatch(queries, 10), index.searchBatch(queries, 10));
  assert.equal(HnswIndex.load(dir, undefined, { efSearch: 80 }).options.efSearch, 80);
  // A loaded index still rejects labels it already holds, and grows.
  assert.throws(() => loaded.add(data.subarray(0, DIM), labels.subarray(0, 1)), /labels must be unique/);
  loaded.add(queries.subarray(0, DIM), new Uint32Array([1]));
  assert.equal(loaded.size, ROWS + 1);
});

test('brute-force and partitioned round trips return identical results', () => {
  const flat = new BruteForceIndex(DIM);
  flat.add(data, labels);
  const flatDir = freshDir();
  flat.save(flatDir, info);
  assert.deepEqual(BruteForceIndex.load(flatDir, { dimension: DIM }).searchBatch(queries, 10), flat.searchBatch(queries, 10));

  const parts = new PartitionedIndex(DIM, { exactBelow: 400 });
  const keys = Array.from({ length: ROWS }, (_, i) => (i % 3 === 0 ? 'fr' : i < 1300 ? 'en' : 'sw'));
  parts.addGrouped(data, labels, keys);
  const dir = freshDir();
  const manifest = parts.save(dir, info);
  // fr: multiples of 3 in [0, 1500) = 500; en: [0, 1300) minus its 434 multiples of 3 = 866; sw: the rest, 134.
  assert.deepEqual(
    manifest.partitions,
    [
      { key: 'en', kind: 'hnsw', file: 'part-0000.hnsw', count: 866 },
      { key: 'fr', kind: 'hnsw', file: 'part-0001.hnsw', count: 500 },
      { key: 'sw', kind: 'brute-force', file: 'part-0002.bin', count: 134 },
    ],
  );
  const loaded = PartitionedIndex.load(dir, { dimension: DIM, modelId: info.modelId });
  assert.deepEqual(loaded.keys(), ['en', 'fr', 'sw']);
  for (const key of ['en', 'fr', 'sw']) assert.deepEqual(loaded.searchBatch(queries, 10, key), parts.searchBatch(queries, 10, key));
  const both = Array.from({ length: 40 }, () => ['en', 'sw']);
  assert.deepEqual(loaded.searchBatch(queries, 10, both), parts.searchBatch(queries, 10, both));

  // Saving fewer partitions into the same folder removes the stale files.
  const smaller = new PartitionedIndex(DIM);
  smaller.add('en', data.subarray(0, 10 * DIM), labels.subarray(0, 10));
  smaller.save(dir, info);
  assert.deepEqual(readdirSync(dir).sort(), ['manifest.json', 'part-0000.bin']);
  assert.deepEqual(PartitionedIndex.load(dir).keys(), ['en']);
});

test('a mismatched dimension or model id is an ArtifactError that says to rebuild', () => {
  const dir = freshDir();
  hnsw().save(dir, info);
  rejectsWith(() => HnswIndex.load(dir, { dimension: 64 }), new RegExp(`^trellis/ann: the index in ${dir} must have dimension 64 to match the model \\(got 24\\)\\.$`));
  rejectsWith(
    () => HnswIndex.load(dir, { dimension: DIM, modelId: 'two-tower-zzz' }),
    new RegExp(`^trellis/ann: the index in ${dir} must belong to model "two-tower-zzz" \\(got "two-tower-abc123"\\)\\.$`),
  );
  rejectsWith(() => BruteForceIndex.load(dir), /must be of kind brute-force \(got hnsw\)\.$/);
});

test('a corrupt or truncated index file is an ArtifactError, checked before hnswlib reads it', () => {
  const dir = freshDir();
  hnsw().save(dir, info);
  const file = join(dir, 'index.hnsw');
  const original = readFileSync(file);

  const flipped = Buffer.from(original);
  flipped[Math.floor(flipped.length / 2)] ^= 0xff;
  writeFileSync(file, flipped);
  rejectsWith(() => HnswIndex.load(dir), new RegExp(`^trellis/ann: ${file} must have sha256 [0-9a-f]{12}\\.\\.\\. as listed in manifest\\.json \\(got [0-9a-f]{12}\\.\\.\\.; the file is corrupt\\)\\.$`));

  writeFileSync(file, original);
  truncateSync(file, original.length - 100);
  rejectsWith(() => HnswIndex.load(dir), new RegExp(`^trellis/ann: ${file} must be ${original.length} bytes as listed in manifest\\.json \\(got ${original.length - 100}; the file is truncated or was replaced\\)\\.$`));

  rmSync(file);
  rejectsWith(() => HnswIndex.load(dir), /index\.hnsw must exist as listed in manifest\.json \(got no such file\)\.$/);
});

test('a missing, unparsable or foreign manifest is an ArtifactError', () => {
  const empty = freshDir();
  rejectsWith(() => openArtifact(empty), new RegExp(`^trellis/ann: ${empty} must hold an index manifest \\(manifest\\.json\\) \\(got no such file\\)\\.$`));
  const dir = freshDir();
  const flat = new BruteForceIndex(DIM);
  flat.add(data.subarray(0, 5 * DIM), labels.subarray(0, 5));
  flat.save(dir, info);
  const path = join(dir, 'manifest.json');
  const good = readFileSync(path, 'utf8');
  writeFileSync(path, good.slice(0, 40));
  rejectsWith(() => BruteForceIndex.load(dir), /manifest\.json must be valid JSON \(got /);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(good), version: 2 }));
  rejectsWith(() => BruteForceIndex.load(dir), /manifest\.json must be a trellis-ann version 1 manifest \(got version 2\)\.$/);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(good), files: [{ name: '../../etc/passwd', bytes: 1, sha256: 'x' }] }));
  rejectsWith(() => BruteForceIndex.load(dir), /data file names in .* must be plain file names \(got "\.\.\/\.\.\/etc\/passwd"\)\.$/);
});

test('loadIndex reads whichever kind the folder holds', () => {
  const flatDir = freshDir();
  const flat = new BruteForceIndex(DIM);
  flat.add(data.subarray(0, 50 * DIM), labels.subarray(0, 50));
  flat.save(flatDir, info);
  const hnswDir = freshDir();
  hnsw().save(hnswDir, info);
  const partsDir = freshDir();
  const parts = new PartitionedIndex(DIM);
  parts.add('en', data.subarray(0, 50 * DIM), labels.subarray(0, 50));
  parts.save(partsDir, info);
  assert.ok(loadIndex(flatDir, { dimension: DIM }) instanceof BruteForceIndex);
  assert.ok(loadIndex(hnswDir, { modelId: info.modelId }) instanceof HnswIndex);
  assert.ok(loadIndex(partsDir) instanceof PartitionedIndex);
  rejectsWith(() => loadIndex(hnswDir, { dimension: 3 }), /must have dimension 3 to match the model \(got 24\)\.$/);
});

test('a sharded partition saves one file per shard and loads back with the same results; a shard gap is refused', () => {
  const parts = new PartitionedIndex(DIM, { shardRows: 600 });
  const keys = Array.from({ length: ROWS }, (_, i) => (i < 1300 ? 'en' : 'sw'));
  parts.addGrouped(data, labels, keys);
  // en: 1,300 rows > 600, so three shards of 433, 433 and 434; sw: 200 rows, one brute-force partition.
  assert.deepEqual(parts.shards('en').map((p) => p.size), [433, 433, 434]);
  const dir = freshDir();
  const manifest = parts.save(dir, info);
  assert.deepEqual(manifest.partitions!.map((p) => [p.key, p.shard, p.count]), [['en', 0, 433], ['en', 1, 433], ['en', 2, 434], ['sw', undefined, 200]]);
  const loaded = PartitionedIndex.load(dir, { dimension: DIM });
  assert.deepEqual(loaded.shards('en').map((p) => p.size), [433, 433, 434]);
  const both = Array.from({ length: 40 }, () => ['en', 'sw']);
  assert.deepEqual(loaded.searchBatch(queries, 10, both), parts.searchBatch(queries, 10, both));

  const text = readFileSync(join(dir, 'manifest.json'), 'utf8');
  const edited = JSON.parse(text) as IndexManifest;
  edited.partitions![1].shard = 5;
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(edited));
  assert.throws(() => PartitionedIndex.load(dir), (e: unknown) => e instanceof ArtifactError && /must list every shard from 0 to 5 in its manifest \(got a gap\)/.test(e.message));
});
