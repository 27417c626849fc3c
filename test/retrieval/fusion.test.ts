import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { buildForest, childrenOf } from '../../src/graph/forest.ts';
import { fitFusion, fusionPool, poolGeometry, poolUnion, scorePool, FUSION_FEATURES, FUSION_FEATURE_NAMES, type FusionContext } from '../../src/retrieval/fusion.ts';
import { hubness, hubnessIn, hubnessParallel, topicIndex } from '../../src/retrieval/hubness.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { resolveRunConfig } from '../../src/config.ts';
import { ArtifactError, ConfigError } from '../../src/errors.ts';
import { mulberry32 } from '../../src/random.ts';
import { tempDir } from '../helpers.ts';
import { sourceList } from '../../src/pipeline/holdout.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

// One channel: a root with three children (topic rows found through the forest).
const dataset = syntheticDataset({ channels: 1, branching: 3, depth: 1, contentPerLeaf: 1, seed: 1 });
const forest = buildForest(dataset);
const root = Array.from(forest.parent).indexOf(-1);
const [t, s1, s2] = Array.from(childrenOf(forest, root));
const unit = (x: number, y: number) => Float32Array.of(x / Math.hypot(x, y), y / Math.hypot(x, y));

function context(): FusionContext {
  const topics = new Float32Array(dataset.topics.length * 2);
  topics.set(unit(1, 0), t * 2);
  topics.set(unit(0, 1), s1 * 2);
  topics.set(unit(-1, 0), s2 * 2);
  topics.set(unit(1, 1), root * 2);
  const links = dataset.topics.map(() => new Uint32Array(0));
  links[root] = Uint32Array.of(2); // the parent links content 2
  links[s1] = Uint32Array.of(1, 2); // a sibling links 1 and 2
  links[s2] = Uint32Array.of(2);
  const popularity = new Uint32Array(10);
  popularity[1] = 1;
  popularity[2] = 3;
  const content = new Float32Array(20);
  [unit(1, 0), unit(0, 1), unit(1, 1)].forEach((v, c) => content.set(v, c * 2));
  const hub = new Float32Array(10);
  hub.set([0.5, 0.25, 0.75]);
  return { forest, links, popularity, vectors: { dim: 2, topics, content, hub, ready: Uint8Array.of(1, 1, 1, 0, 0, 0, 0, 0, 0, 0), hubReady: Uint8Array.of(1, 1, 1, 0, 0, 0, 0, 0, 0, 0) } };
}

const list = (rows: number[], scores: number[]) => ({ rows: Uint32Array.from(rows), scores: Float32Array.from(scores) });

test('fusionPool: the union of the lists with every feature as documented', () => {
  const pool = fusionPool(t, { neural: list([0, 2], [0.9, 0.7]), lexical: list([1, 0], [0.6, 0.4]) }, context(), 10);
  assert.deepEqual(Array.from(pool.candidates.rows), [0, 2, 1]);
  assert.deepEqual(Array.from(pool.candidates.neuralRank), [1, 2, 0]);
  assert.deepEqual(Array.from(pool.candidates.lexicalRank), [2, 0, 1]);
  assert.ok(Number.isNaN(pool.candidates.lexical[1]) && Number.isNaN(pool.candidates.neural[2]));
  const f = (j: number) => Array.from(pool.features.subarray(j * FUSION_FEATURES, (j + 1) * FUSION_FEATURES));
  const close = (actual: number[], expected: number[]) => expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) < 1e-6, `${FUSION_FEATURE_NAMES[i]}: ${actual[i]} vs ${e}`));
  const absent = Math.log(12);
  const h = Math.SQRT1_2;
  // Content 0: the topic's own direction; unplaced; no graph links; siblings at cosine 0 and -1.
  close(f(0), [1, Math.log(2), 0.4, Math.log(3), 0, absent, 1, 0, 0, 0, 0.5, 1 - 0, h]);
  // Content 2: cosine 1/sqrt2 to the topic; not in the lexical list (the list's last cosine, 0.4); 3 topics,
  // the parent and both siblings link it; its best sibling cosine is 1/sqrt2 (s1), so the margin is 0.
  close(f(1), [h, Math.log(3), 0.4, absent, 0, absent, 0, Math.log(4), 1, Math.log(3), 0.75, 0, 1]);
  // Content 1: orthogonal to the topic, the sibling s1's direction: margin -1.
  close(f(2), [0, absent, 0.6, Math.log(2), 0, absent, 0, Math.log(2), 0, Math.log(2), 0.25, -1, h]);
});

test('fusionPool reads the exact sentence cosines and the sentence list ranks when given', () => {
  const pool = fusionPool(t, { neural: list([0], [1]), lexical: list([], []), sentence: list([1], [0.3]), sentenceCosines: (rows) => Float32Array.from(rows, (r) => r / 10) }, context(), 5);
  assert.deepEqual(Array.from(pool.candidates.rows), [0, 1]);
  assert.deepEqual(Array.from(pool.candidates.sentenceRank!), [0, 1]);
  assert.deepEqual(Array.from(pool.candidates.sentence!, (v) => +v.toFixed(6)), [0, 0.1]);
  assert.equal(pool.features[4], 0); // sentence cosine of content 0
  assert.equal(pool.features[FUSION_FEATURES + 4], Math.fround(0.1));
  assert.equal(pool.features[FUSION_FEATURES + 5], Math.fround(Math.log(2)));
  assert.equal(pool.features[2], 0, 'an empty lexical list imputes 0');
});

test('scorePool orders by the linear score and keeps the best k', () => {
  const pool = fusionPool(t, { neural: list([0, 2], [0.9, 0.7]), lexical: list([1, 0], [0.6, 0.4]) }, context(), 10);
  const weights = new Array(FUSION_FEATURES).fill(0);
  weights[FUSION_FEATURE_NAMES.indexOf('hubness')] = 2; // hub 0.5, 0.75, 0.25 -> order 2, 0, 1
  const out = scorePool(pool, { weights, bias: 1 }, 2);
  assert.deepEqual(Array.from(out.rows), [2, 0]);
  assert.deepEqual(Array.from(out.fused), [2.5, 2]);
  assert.deepEqual(Array.from(out.neuralRank), [2, 1]);
  assert.ok(Number.isNaN(out.lexical[0]));
});

test('the kept candidates carry each retriever\'s own list, and the stages are scored on it', () => {
  const pool = fusionPool(t, { neural: list([0, 2], [0.9, 0.7]), lexical: list([1, 0], [0.6, 0.4]) }, context(), 10);
  const weights = new Array(FUSION_FEATURES).fill(0);
  weights[FUSION_FEATURE_NAMES.indexOf('hubness')] = -1; // keeps 1 (hub 0.25) only
  const out = scorePool(pool, { weights, bias: 0 }, 1);
  assert.deepEqual(Array.from(out.rows), [1]);
  assert.deepEqual(Array.from(sourceList(out, 'neural').rows), [0, 2], 'the neural list, though the fusion kept none of it');
  assert.deepEqual(Array.from(sourceList(out, 'lexical').rows), [1, 0]);
  assert.deepEqual(Array.from(sourceList(out, 'sentence').rows), []);
  // Without `sources` (reciprocal rank fusion keeps every item) the list is recovered by rank.
  const { sources: _, ...rrf } = pool.candidates;
  assert.deepEqual(Array.from(sourceList(rrf, 'lexical').rows), [1, 0]);
});

test('fitFusion learns the informative feature and leaves constant ones at 0', () => {
  const rng = mulberry32(3);
  const pools = Array.from({ length: 20 }, () => {
    const n = 50;
    const features = new Float32Array(n * FUSION_FEATURES);
    const labels = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const x = rng() * 2 - 1;
      features[j * FUSION_FEATURES] = x; // neural cosine decides
      features[j * FUSION_FEATURES + 1] = rng(); // noise
      features[j * FUSION_FEATURES + 6] = 1; // constant
      labels[j] = rng() < 1 / (1 + Math.exp(-6 * x)) ? 1 : 0;
    }
    return { features, labels };
  });
  const model = fitFusion(pools);
  assert.ok(model.weights[0] > 3 && model.weights[0] < 10, `neural weight ${model.weights[0]}`);
  assert.ok(Math.abs(model.weights[1]) < 1, `noise weight ${model.weights[1]}`);
  assert.equal(model.weights[6], 0);
  assert.ok(Math.abs(model.bias) < 1, `bias ${model.bias}`);
  assert.deepEqual(fitFusion(pools), model, 'deterministic');
  assert.throws(() => fitFusion([]), RangeError);
});

test('poolGeometry (batched over topics) gives the features of the scalar path', async () => {
  await initRuntime();
  const c = context();
  const lists = { neural: list([0, 2], [0.9, 0.7]), lexical: list([1, 0], [0.6, 0.4]) };
  const scalar = fusionPool(t, lists, c, 10);
  const union = poolUnion(lists);
  const local = Int32Array.from({ length: 10 }, (_, i) => (i < 3 ? i : -1));
  // Two pools in one batch, of other sizes and topics: padding must not leak between them.
  const [geometry, other] = poolGeometry([{ t, query: c.vectors.topics.subarray(t * 2, t * 2 + 2), rows: union.rows }, { t: s1, query: c.vectors.topics.subarray(s1 * 2, s1 * 2 + 2), rows: Uint32Array.of(2) }], forest, c.vectors.topics, c.vectors.content!, local, 2);
  const batched = fusionPool(t, lists, { ...c, vectors: { ...c.vectors, content: undefined, ready: undefined } }, 10, { union, geometry });
  scalar.features.forEach((v, i) => assert.ok(Math.abs(v - batched.features[i]) < 1e-6, `feature ${i}: ${v} vs ${batched.features[i]}`));
  // s1 and content 2 (1/sqrt2, 1/sqrt2): cosine 1/sqrt2; siblings t (1, 0) and s2 (-1, 0): best 1/sqrt2, margin 0; parent (1, 1)/sqrt2: 1.
  assert.ok(Math.abs(other.cosine[0] - Math.SQRT1_2) < 1e-6 && Math.abs(other.siblingMargin[0]) < 1e-6 && Math.abs(other.parentCosine[0] - 1) < 1e-6);
});

test('hubness is the mean cosine to the nearest topics', () => {
  // Topics at angles 0, 10, ..., 90 degrees; content along 0 degrees: its 5 nearest are 0..40.
  const topics = new Float32Array(20);
  for (let i = 0; i < 10; i++) topics.set([Math.cos((i * Math.PI) / 18), Math.sin((i * Math.PI) / 18)], i * 2);
  const expected = [0, 1, 2, 3, 4].reduce((s, i) => s + Math.cos((i * Math.PI) / 18), 0) / 5;
  const [h] = hubness(topics, Float32Array.of(1, 0), 2);
  assert.ok(Math.abs(h - expected) < 1e-6);
});

test('hubness by HNSW agrees with the exact search', () => {
  const rng = mulberry32(9);
  const dim = 4;
  const topics = Float32Array.from({ length: 5000 * dim }, () => rng() * 2 - 1);
  const content = Float32Array.from({ length: 50 * dim }, () => rng() * 2 - 1);
  const approximate = hubness(topics, content, dim, false);
  const exact = hubness(topics, content, dim, true);
  let close = 0;
  approximate.forEach((h, i) => (close += Math.abs(h - exact[i]) < 1e-4 ? 1 : 0));
  assert.ok(close >= 48, `${close} of 50 within 1e-4`);
});

test('hubness on worker threads equals hubness on this thread', async () => {
  const rng = mulberry32(3);
  const dim = 8;
  const index = topicIndex(Float32Array.from({ length: 2000 * dim }, () => rng() * 2 - 1), dim, false);
  const content = Float32Array.from({ length: 40000 * dim }, () => rng() * 2 - 1);
  assert.deepEqual(await hubnessParallel(index, content, dim, 2), hubnessIn(index, content));
});

test('retrieval.fusion, fusionDepth and fusedTopK are checked', () => {
  const r = resolveRunConfig({}).retrieval;
  assert.deepEqual([r.fusion, r.fusionDepth, r.fusedTopK], ['learned', 200, 100]);
  assert.equal(resolveRunConfig({ retrieval: { fusion: 'rrf' } }).retrieval.fusion, 'rrf');
  for (const bad of [{ fusion: 'sum' }, { fusionDepth: 0 }, { fusedTopK: 2.5 }]) {
    assert.throws(() => resolveRunConfig({ retrieval: bad }), (e: unknown) => e instanceof ConfigError && /retrieval\.fus/.test((e as Error).message), JSON.stringify(bad));
  }
});
