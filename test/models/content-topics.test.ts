import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { initRuntime } from '../../src/runtime/backend.ts';
import { loadDataset, buildForest, fitTfidf, contentText, resolveRunConfig, ConfigError } from '../../src/index.ts';
import { linkingTopics, sampleLinkingTopics } from '../../src/graph/sampler.ts';
import { buildTowerData, embedContent, withContentTopics, type TowerData } from '../../src/models/tower-data.ts';
import { TwoTowerModel } from '../../src/models/two-tower.ts';
import { trainTwoTower, snapshot, modelShape, type TrainInputs } from '../../src/models/train.ts';
import { openModel } from '../../src/pipeline/artifact.ts';
import { loadRetriever, recommendTopics, retrieve } from '../../src/pipeline/recommend.ts';
import { rngFor } from '../../src/random.ts';
import { TINY, tempDir } from '../helpers.ts';
import { trainTwiceAlike } from './train-twice.ts';
import { trainSyntheticModel } from './synthetic-pipeline.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const dataset = await loadDataset(TINY);
const row = (id: string) => dataset.topicIndex.get(id)!;
const item = (id: string) => dataset.contentIndex.get(id)!;
// The fixture's links, with c_dna held by t_cell and t_bio too (three training topics share it) and
// t_phys's list hidden (it validates).
const extra = new Map([[row('t_cell'), [item('c_dna')]], [row('t_bio'), [item('c_cell1'), item('c_dna')]]]);
const links = dataset.links.map((l, t) => (t === row('t_phys') ? new Uint32Array(0) : Uint32Array.from(new Set([...l, ...(extra.get(t) ?? [])])).sort()));
let data: TowerData;
let base: Omit<TrainInputs, 'onEpoch'>;

before(async () => {
  await initRuntime();
  const forest = buildForest(dataset);
  const tfidf = fitTfidf(dataset.content.map((c) => contentText(c)), { buckets: 1 << 12 });
  const config = resolveRunConfig({
    lexical: { buckets: 1 << 12 },
    encoder: { vocab: 1 << 10, dim: 8, hidden: 8, maxFeatures: 32 },
    graphsage: { contentTopics: 2 },
    training: { epochs: 3, batchSize: 2, patience: 100, recallK: 3, logQ: 'exact', hardNegatives: 'none', warmupSteps: 2 },
  });
  data = buildTowerData(dataset, forest, tfidf, config.encoder.maxFeatures);
  base = {
    data,
    // t_phys validates: its list is empty in the links training sees.
    links,
    trainTopics: Uint32Array.of(row('t_bio'), row('t_cell'), row('t_gen'), row('t_frac')),
    validationTopics: Uint32Array.of(row('t_phys')),
    encoder: config.encoder,
    graphsage: config.graphsage,
    training: config.training,
    seed: 3,
  };
});

test('linking topics: the reverse of the links; blocked topics left out; capped, evenly spaced without a generator, seeded with one', () => {
  const linking = linkingTopics(links, dataset.content.length);
  const names = (rows: ArrayLike<number>) => Array.from(rows, (r) => dataset.topics[r].id).sort();
  assert.deepEqual(names(linking[item('c_dna')]), ['t_bio', 't_cell', 't_gen']);
  assert.deepEqual(names(linking[item('c_mendel')]), ['t_gen']);
  assert.deepEqual(names(linking[item('c_newton')]), [], "a hidden topic's links feed no item");
  const rows = [item('c_dna'), item('c_mendel'), item('c_newton')];
  const all = sampleLinkingTopics(linking, rows, 5);
  assert.deepEqual(Array.from(all.row), [0, 0, 0, 1]);
  assert.deepEqual(names(Array.from(all.col, (c) => all.topics[c])), ['t_bio', 't_cell', 't_gen', 't_gen']);
  assert.equal(all.numTargets, 3);
  // In training a batch's queries are blocked: c_dna then reads t_bio and t_gen, c_mendel t_gen.
  const blocked = sampleLinkingTopics(linking, rows, 5, undefined, new Set([row('t_cell'), row('t_frac')]));
  assert.deepEqual(Array.from(blocked.row), [0, 0, 1]);
  assert.deepEqual(names(blocked.topics), ['t_bio', 't_gen']);
  assert.equal(sampleLinkingTopics(linking, rows, 5, undefined, new Set([row('t_gen'), row('t_cell'), row('t_bio')])).row.length, 0);
  // One per item: without a generator the first of c_dna's (evenly spaced), the same every time.
  const one = sampleLinkingTopics(linking, [item('c_dna')], 1);
  assert.deepEqual(names(one.topics), ['t_bio']);
  assert.deepEqual(sampleLinkingTopics(linking, [item('c_dna')], 1), one);
  const draws = new Set(Array.from({ length: 20 }, (_, s) => names(sampleLinkingTopics(linking, [item('c_dna')], 1, rngFor(s, 'topics')).topics)[0]));
  assert.deepEqual([...draws].sort(), ['t_bio', 't_cell', 't_gen'], 'a generator draws any of them');
  assert.deepEqual(sampleLinkingTopics(linking, [item('c_dna')], 1, rngFor(4, 'topics')), sampleLinkingTopics(linking, [item('c_dna')], 1, rngFor(4, 'topics')));
  assert.throws(() => sampleLinkingTopics(linking, rows, -1), (e: unknown) => e instanceof ConfigError && /perItem must be a non-negative integer/.test(e.message));
});

test('config: contentTopics from 0 (off, the default) to 64', () => {
  assert.equal(resolveRunConfig({}).graphsage.contentTopics, 0);
  assert.throws(() => resolveRunConfig({ graphsage: { contentTopics: 65 } }), (e: unknown) => e instanceof ConfigError && /graphsage.contentTopics must be an integer from 0 \(off\) to 64/.test(e.message));
  assert.throws(() => resolveRunConfig({ graphsage: { contentTopics: 1.5 } }), ConfigError);
});

test("an item's vector reads the topics that link it, and only those the links passed show", () => {
  const model = new TwoTowerModel(modelShape(data, base.encoder, base.graphsage), 5);
  try {
    assert.equal(model.shape.contentTopics, 2);
    const plain = embedContent(model, data);
    const read = embedContent(model, withContentTopics(model, data, links));
    const d = model.shape.encoder.dim;
    const at = (v: Float32Array, c: string) => Array.from(v.subarray(item(c) * d, (item(c) + 1) * d));
    // An item no visible topic holds reads nothing: the same vector as without the topics.
    assert.deepEqual(at(read, 'c_newton'), at(plain, 'c_newton'));
    assert.notDeepEqual(at(read, 'c_dna'), at(plain, 'c_dna'));
    // t_phys's links shown: c_newton now reads t_phys.
    const shown = embedContent(model, withContentTopics(model, data, dataset.links));
    assert.notDeepEqual(at(shown, 'c_newton'), at(plain, 'c_newton'));
    // A model without contentTopics ignores the links.
    const off = new TwoTowerModel(modelShape(data, base.encoder, { ...base.graphsage, contentTopics: 0 }), 5);
    try {
      assert.equal(withContentTopics(off, data, links), data);
    } finally {
      off.dispose();
    }
  } finally {
    model.dispose();
  }
});

test('training: no query meets its own text in a candidate; the topic weights learn only from other topics', async () => {
  const topicWeights = (r: { model: TwoTowerModel }) => snapshot(r.model).find((w) => w.name === 'candidate/topics')!.values;
  const fresh = new TwoTowerModel(modelShape(data, base.encoder, base.graphsage), base.seed);
  const initial = snapshot(fresh).find((w) => w.name === 'candidate/topics')!.values;
  fresh.dispose();
  // One batch holds every training pair: every topic that links a candidate is a query of the batch and is
  // left out, so the topic channel reads nothing and its weights never move.
  const whole = await trainTwoTower({ ...base, training: { ...base.training, batchSize: 64 } });
  assert.deepEqual(topicWeights(whole), initial);
  whole.model.dispose();
  // Batches of two pairs: c_dna, in a batch with two of its three topics, reads the third, and the weights learn.
  // (A batch of one query topic has no loss: its other column is a positive too, masked as an accidental hit.)
  const { first, second } = await trainTwiceAlike(base, 3);
  assert.notDeepEqual(topicWeights(first), initial);
  for (const r of [first, second]) r.model.dispose();
});

test('the pipeline: trained, indexed with the training topics\' links, recommended, and refused on Neo4j with one line', async () => {
  const modelDir = `${tmp}/model`;
  const { synthetic, forest, split, folder } = await trainSyntheticModel(modelDir, { contentTopics: 3 });
  assert.equal(folder.meta.shape.contentTopics, 3);
  const retriever = await loadRetriever(folder, synthetic, forest);
  try {
    const lists = await retrieve(retriever, split.heldOut);
    assert.equal(lists.length, split.heldOut.length);
    assert.ok(lists.every((l) => l.rows.length > 0));
  } finally {
    retriever.model.dispose();
  }
  await assert.rejects(recommendTopics(await openModel(modelDir), synthetic, forest, split.heldOut, { stage: 'retrieve', ann: 'neo4j', log: () => {} }), (e: unknown) => e instanceof ConfigError && /serves through its own index only/.test(e.message) && /Drop --ann neo4j/.test(e.hint ?? ''));
});
