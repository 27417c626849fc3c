import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/tf.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { loadDataset, buildDataset, buildForest, fitTfidf, contentText, resolveRunConfig, ConfigError } from '../../src/index.ts';
import { HeteroConv } from '../../src/models/hetero-conv.ts';
import { buildTowerData, embedTopics, type TowerData } from '../../src/models/tower-data.ts';
import { TwoTowerModel } from '../../src/models/two-tower.ts';
import { trainTwoTower, snapshot, modelShape, type TrainInputs } from '../../src/models/train.ts';
import { openModel } from '../../src/pipeline/artifact.ts';
import { loadRetriever, modelContext, retrieve } from '../../src/pipeline/recommend.ts';
import { topicQueries } from '../../src/retrieval/neural.ts';
import { weightName } from '../../src/runtime/variables.ts';
import { rngFor } from '../../src/random.ts';
import type { NeighbourBlock } from '../../src/models/sage-conv.ts';
import { TINY, tempDir } from '../helpers.ts';
import { trainTwiceAlike } from './train-twice.ts';
import { trainSyntheticModel } from './synthetic-pipeline.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
let base: Omit<TrainInputs, 'onEpoch'>;
let data: TowerData;
const dataset = await loadDataset(TINY);
const row = (id: string) => dataset.topicIndex.get(id)!;

before(async () => {
  await initRuntime();
  const forest = buildForest(dataset);
  const tfidf = fitTfidf(dataset.content.map((c) => contentText(c)), { buckets: 1 << 12 });
  const config = resolveRunConfig({
    lexical: { buckets: 1 << 12 },
    encoder: { vocab: 1 << 10, dim: 8, hidden: 8, maxFeatures: 32 },
    graphsage: { aggregator: 'hetero-attention', fanouts: [3], contentFanout: 2 },
    training: { epochs: 3, batchSize: 4, patience: 100, recallK: 3, logQ: 'exact', hardNegatives: 'none', warmupSteps: 2 },
  });
  data = buildTowerData(dataset, forest, tfidf, config.encoder.maxFeatures);
  base = {
    data,
    // t_phys validates: its links are hidden from training, from the positives and from every neighbourhood.
    // The siblings t_cell and t_gen train, each reading the other's links.
    links: dataset.links.map((l, t) => (t === row('t_phys') ? new Uint32Array(0) : l)),
    trainTopics: Uint32Array.of(row('t_cell'), row('t_gen'), row('t_frac')),
    validationTopics: Uint32Array.of(row('t_phys')),
    encoder: config.encoder,
    graphsage: config.graphsage,
    training: config.training,
    seed: 3,
  };
});

function block(targets: number, row: number[], col: number[]): NeighbourBlock {
  const degree = new Float32Array(targets);
  for (const r of row) degree[r]++;
  return { targets, row: Int32Array.from(row), col: Int32Array.from(col), inverseDegree: degree.map((d) => (d ? 1 / d : 0)), fanout: Math.max(1, ...degree) };
}

function assign(layer: HeteroConv, name: string, values: number[] | number, shape: number[]): void {
  const v = layer.variables.find((x) => weightName(x) === name)!;
  v.assign(tf.tensor(values, shape));
}

test('HeteroConv by hand: mean and attention over the content edges, plus the topic mean', () => {
  // Target 0 with topic neighbours 1, 2 and content edges to x0 (twice: two neighbours hold it) and x1.
  //   h = [[1,0],[0,1],[1,1]]  ->  a_T = mean(h1, h2) = [0.5, 1]
  //   x = [[1,0],[0,1]]        ->  mean a_C = (2 x0 + x1) / 3 = [2/3, 1/3]
  //   W_self = I, W_topic = I, W_content = 2I, b = 0:  h' = [1,0] + [0.5,1] + [4/3,2/3] = [2.8333, 1.6667]
  // Attention, W_a = I, scale ln 10: query = [1,0]; cosines [1, 1, 0]; weights 10/21, 10/21, 1/21
  //   a_C = [20/21, 1/21]  ->  h' = [1,0] + [0.5,1] + [40/21, 2/21] = [3.4048, 1.0952]
  const topics = block(1, [0, 0], [1, 2]);
  const content = block(1, [0, 0, 0], [0, 0, 1]);
  for (const [aggregator, want] of [['mean', [2.8333, 1.6667]], ['attention', [3.4048, 1.0952]]] as const) {
    const layer = new HeteroConv(2, aggregator, 1, `test-${aggregator}`);
    assign(layer, `test-${aggregator}/w_topic`, [1, 0, 0, 1], [2, 2]);
    assign(layer, `test-${aggregator}/w_content`, [2, 0, 0, 2], [2, 2]);
    if (aggregator === 'attention') assign(layer, 'test-attention/log_scale', Math.log(Math.LN10), []);
    const before = tf.memory().numTensors;
    const out = tf.tidy(() => layer.apply(tf.tensor2d([[1, 0], [0, 1], [1, 1]]), topics, tf.tensor2d([[1, 0], [0, 1]]), content));
    const values = Array.from(out.dataSync());
    out.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensor outlives the call');
    values.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-3, `${aggregator}: ${values} vs ${want}`));
    // No content edges: a zero content aggregate.
    const none = tf.tidy(() => layer.apply(tf.tensor2d([[1, 0], [0, 1], [1, 1]]), topics, tf.zeros([0, 2]), block(1, [], [])));
    assert.deepEqual(Array.from(none.dataSync()), [1.5, 1]);
    none.dispose();
    for (const v of layer.variables) v.dispose();
  }
});

test('config: hetero aggregators read one hop; contentFanout is checked', () => {
  assert.equal(resolveRunConfig({ graphsage: { aggregator: 'hetero-mean', fanouts: [10] } }).graphsage.contentFanout, 3);
  assert.throws(() => resolveRunConfig({ graphsage: { aggregator: 'hetero-mean' } }), (e: unknown) => e instanceof ConfigError && /graphsage.fanouts must be one entry with aggregator 'hetero-mean'/.test(e.message));
  assert.throws(() => resolveRunConfig({ graphsage: { aggregator: 'hetero-mean', fanouts: [10], contentFanout: 0 } }), (e: unknown) => e instanceof ConfigError && /contentFanout must be a positive integer/.test(e.message));
  assert.throws(() => resolveRunConfig({ graphsage: { aggregator: 'hetero' } }), (e: unknown) => e instanceof ConfigError && /one of off, mean, pool, hetero-mean, hetero-attention/.test(e.message));
});

test("a topic's query never reads its own links; its neighbours' links do move it", () => {
  const model = new TwoTowerModel(modelShape(data, base.encoder, base.graphsage), 5);
  try {
    // Make the content channel count: W_content = I.
    const wContent = model.variables.find((v) => weightName(v) === 'hetero/w_content')!;
    wContent.assign(tf.eye(8));
    const query = (links: Uint32Array[]) => embedTopics(model, data, [row('t_cell')], [3], rngFor(1, 'q'), links);
    const plain = query(dataset.links);
    const ownChanged = dataset.links.map((l, t) => (t === row('t_cell') ? Uint32Array.of(dataset.contentIndex.get('c_newton')!) : l));
    const ownHidden = dataset.links.map((l, t) => (t === row('t_cell') ? new Uint32Array(0) : l));
    assert.deepEqual(query(ownChanged), plain);
    assert.deepEqual(query(ownHidden), plain);
    const siblingHidden = dataset.links.map((l, t) => (t === row('t_gen') ? new Uint32Array(0) : l));
    assert.notDeepEqual(query(siblingHidden), plain);
    assert.throws(() => embedTopics(model, data, [row('t_cell')], [3], rngFor(1, 'q')), /pass the visible links/);
  } finally {
    model.dispose();
  }
});

test('hetero training runs, the tensor count stays flat, the same seed gives the same model, and the weights are named', async () => {
  const { first, second, weights: a } = await trainTwiceAlike(base, 3);
  for (const name of ['hetero/w_self', 'hetero/w_topic', 'hetero/w_content', 'hetero/bias', 'hetero/w_attention', 'hetero/log_scale']) assert.ok(a.some((w) => w.name === name), name);
  // The content channel trained (W_content moved from its initial values).
  const fresh = snapshot(new TwoTowerModel(modelShape(data, base.encoder, base.graphsage), base.seed));
  const at = (s: typeof a) => s.find((w) => w.name === 'hetero/w_content')!.values;
  assert.notDeepEqual(at(a), at(fresh));
  for (const r of [first, second]) r.model.dispose();
});

test('the pipeline: trained with the held-out links hidden, saved and loaded by name, recommend reads the same visible links, and a grown catalogue works', async () => {
  const modelDir = `${tmp}/model`;
  const { synthetic, forest, split, folder } = await trainSyntheticModel(modelDir, { aggregator: 'hetero-mean', fanouts: [3], contentFanout: 2 });
  assert.equal(folder.meta.shape.graphsage, 'hetero-mean');
  assert.equal(folder.meta.shape.contentFanout, 2);
  const retriever = await loadRetriever(folder, synthetic, forest);
  try {
    const { model, data: towers, meta } = retriever;
    const visible = modelContext(synthetic, meta.heldOut);
    // The model folder knows its held-out topics: their links are hidden from the graph at recommend time.
    assert.ok(split.heldOut.every((t) => visible.links[t].length === 0));
    // Retrieval reads those links by default: the same lists as passing them.
    const defaults = await retrieve(retriever, split.heldOut);
    const explicit = await retrieve({ ...retriever, vectors: undefined, localRows: undefined }, split.heldOut, { visible });
    assert.deepEqual(defaults.map((c) => Array.from(c.rows)), explicit.map((c) => Array.from(c.rows)));
    // A held-out topic's own answers never move its query (one topic at a time: the draws of a batch depend on its lists).
    for (const t of Array.from(split.heldOut).slice(0, 8)) {
      const withOwn = visible.links.map((l, u) => (u === t ? synthetic.links[t] : l));
      const q = (links: Uint32Array[]) => topicQueries(model, towers, [t], meta.config.graphsage.fanouts, meta.seed, links);
      assert.deepEqual(q(withOwn), q(visible.links));
    }
  } finally {
    retriever.model.dispose();
  }
  // A new leaf under an existing parent, and a new item it and a sibling hold: no retraining.
  const parent = synthetic.topics.find((t) => synthetic.topics.some((c) => c.parent === t.id && c.hasContent))!;
  const sibling = synthetic.topics.find((c) => c.parent === parent.id)!;
  const correlations = new Map<string, string[]>(synthetic.topics.map((t, i) => [t.id, Array.from(synthetic.links[i], (c) => synthetic.content[c].id)]));
  correlations.set(sibling.id, [...correlations.get(sibling.id)!, 'c-new']);
  const grown = buildDataset(
    [...synthetic.topics, { ...sibling, id: 't-new', title: `${sibling.title} again` }],
    [...synthetic.content, { ...synthetic.content[synthetic.links[synthetic.topicIndex.get(sibling.id)!][0]], id: 'c-new' }],
    new Map([...correlations].filter(([, ids]) => ids.length > 0)),
  );
  const grownRetriever = await loadRetriever(await openModel(modelDir), grown, buildForest(grown));
  try {
    const lists = await retrieve(grownRetriever, Uint32Array.of(grown.topicIndex.get('t-new')!));
    assert.ok(lists[0].rows.length > 0);
  } finally {
    grownRetriever.model.dispose();
  }
});
