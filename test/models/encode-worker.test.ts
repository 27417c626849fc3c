import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initRuntime } from '../../src/runtime/backend.ts';
import { syntheticDataset, buildForest, fitTfidf, contentText, TwoTowerModel } from '../../src/index.ts';
import { buildTowerData, embedContent } from '../../src/models/tower-data.ts';
import { embedContentParallel } from '../../src/models/encode-worker.ts';

before(async () => {
  await initRuntime();
});

test('encoding content on two worker threads, in chunks, equals encoding it on this thread', async () => {
  const dataset = syntheticDataset({ channels: 2, branching: 3, depth: 2, contentPerLeaf: 6, seed: 3, languages: ['en', 'fr'] });
  const tfidf = fitTfidf(dataset.content.map((c) => contentText(c)), { buckets: 1 << 12 });
  const data = buildTowerData(dataset, buildForest(dataset), tfidf, 16);
  const model = new TwoTowerModel({ encoder: { vocab: 1 << 10, dim: 8, hidden: 8, maxFeatures: 16 }, graphsage: 'off', layers: 0, kinds: data.kinds.length, languages: data.languages.length }, 5);
  const local = embedContent(model, data);
  // One chunk per worker, and chunks of 5 rows (several per worker, the model kept between them).
  for (const chunkRows of [data.contentFeatures.rows, 5]) {
    const parallel = await embedContentParallel(model, data, 2, 0, chunkRows);
    assert.equal(parallel.length, local.length);
    for (let i = 0; i < local.length; i++) assert.ok(Math.abs(parallel[i] - local[i]) < 1e-6, `chunks of ${chunkRows}, element ${i}: ${parallel[i]} vs ${local[i]}`);
  }
  model.dispose();
});
