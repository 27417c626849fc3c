import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tf } from '../../src/runtime/tf.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { loadDataset, buildForest, fitTfidf, contentText, resolveRunConfig } from '../../src/index.ts';
import { buildTowerData } from '../../src/models/tower-data.ts';
import { trainTwoTower, snapshot, learningRateAt, epochBatches, type TrainInputs } from '../../src/models/train.ts';
import { rngFor } from '../../src/random.ts';
import { checkpointStore } from '../../src/pipeline/artifact.ts';
import { TINY, tempDir } from '../helpers.ts';
import { trainTwiceAlike } from './train-twice.ts';
import { PARITY_BACKENDS } from '../backends.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
let base: Omit<TrainInputs, 'onEpoch'>;

before(async () => {
  await initRuntime();
  const dataset = await loadDataset(TINY);
  const forest = buildForest(dataset);
  const tfidf = fitTfidf(dataset.content.map((c) => contentText(c)), { buckets: 1 << 12 });
  const config = resolveRunConfig({
    lexical: { buckets: 1 << 12 },
    encoder: { vocab: 1 << 10, dim: 8, hidden: 8, maxFeatures: 32 },
    graphsage: { aggregator: 'mean', fanouts: [3, 2] },
    training: { epochs: 4, batchSize: 4, patience: 100, recallK: 3, logQ: 'exact', hardNegatives: 'none', warmupSteps: 2 },
  });
  const row = (id: string) => dataset.topicIndex.get(id)!;
  base = {
    data: buildTowerData(dataset, forest, tfidf, config.encoder.maxFeatures),
    links: dataset.links.map((l, t) => (t === row('t_gen') ? new Uint32Array(0) : l)),
    trainTopics: Uint32Array.of(row('t_cell'), row('t_phys'), row('t_frac')),
    validationTopics: Uint32Array.of(row('t_gen')),
    encoder: config.encoder,
    graphsage: config.graphsage,
    training: config.training,
    seed: 3,
  };
});

test('batches never mix content languages and respect the batch size', () => {
  const batches = epochBatches(base, base.training, rngFor(1, 'b'));
  assert.ok(batches.length >= 2);
  for (const b of batches) {
    assert.ok(b.topics.length <= base.training.batchSize);
    assert.equal(new Set(Array.from(b.content, (c) => base.data.languageIds[c])).size, 1);
  }
});

test('the learning rate warms up linearly, then decays', () => {
  const config = { ...base.training, learningRate: 1, warmupSteps: 4 };
  assert.equal(learningRateAt(config, 0, 100), 0.25);
  assert.equal(learningRateAt(config, 3, 100), 1);
  assert.ok(learningRateAt(config, 50, 100) < 1 && learningRateAt(config, 99, 100) < learningRateAt(config, 50, 100));
});

for (const backend of PARITY_BACKENDS) test(`training runs, the tensor count stays flat, and the same seed gives the same model (${backend})`, async () => {
  await initRuntime(backend);
  const { first, second, weights: a } = await trainTwiceAlike(base, 4);
  const third = await trainTwoTower({ ...base, seed: 4 });
  assert.notDeepEqual(snapshot(third.model)[0].values, a[0].values);
  for (const r of [first, second, third]) r.model.dispose();
  await initRuntime();
});

test('a run killed after an epoch resumes from its checkpoint and ends with the same model', async () => {
  const checkpoints = checkpointStore(join(tmp, 'ckpt'));
  const everyEpoch = { ...base.training, checkpointSeconds: 0 };
  await assert.rejects(
    trainTwoTower({ ...base, training: everyEpoch, checkpoints, onEpoch: (r) => { if (r.epoch === 1) throw new Error('killed'); } }),
    /killed/,
  );
  // How often checkpoints are written is not part of what they must match.
  const resumed = await trainTwoTower({ ...base, checkpoints });
  assert.equal(resumed.resumedFrom, 2);
  const straight = await trainTwoTower(base);
  const a = snapshot(resumed.model);
  const b = snapshot(straight.model);
  for (let i = 0; i < a.length; i++) {
    const diff = a[i].values.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i].values[j])), 0);
    assert.ok(diff < 1e-5, `${a[i].name} differs by ${diff}`);
  }
  resumed.model.dispose();
  straight.model.dispose();
});

test('checkpoints are written at most every training.checkpointSeconds, and after the last epoch', async () => {
  const dir = join(tmp, 'ckpt-spaced');
  const checkpoints = checkpointStore(dir);
  const saved: number[] = [];
  const counting = { ...checkpoints, save: async (c: Parameters<typeof checkpoints.save>[0]) => { saved.push(c.state.epoch); await checkpoints.save(c); } };
  await assert.rejects(
    trainTwoTower({ ...base, checkpoints: counting, onEpoch: (r) => { if (r.epoch === 1) throw new Error('killed'); } }),
    /killed/,
  );
  assert.deepEqual(saved, [], 'two short epochs stay within the default interval: nothing saved yet');
  const again = await trainTwoTower({ ...base, checkpoints: counting });
  assert.equal(again.resumedFrom, 0);
  assert.deepEqual(saved, [4], 'only the last epoch saves');
  again.model.dispose();
});
