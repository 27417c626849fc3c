import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestServer } from './neo4j-helpers.ts';
import { buildDataset, syntheticDataset, writeDataset, readRecommendations } from '../../src/index.ts';
import { runCli, tempDir } from '../helpers.ts';

const server = await openTestServer();
const { dir: tmp, cleanup } = tempDir();
after(async () => {
  await server.close();
  cleanup();
});

describe('recommend --ann neo4j', { skip: server.skip }, () => {
  test('finds the same neural candidates through Neo4j as through the model\'s HNSW index', async () => {
    const data = join(tmp, 'data');
    const model = join(tmp, 'model');
    const config = join(tmp, 'config.json');
    await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 }));
    writeFileSync(config, JSON.stringify({
      lexical: { buckets: 1 << 14 },
      encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
      graphsage: { fanouts: [3, 2] },
      training: { epochs: 2, batchSize: 16 },
      index: { kind: 'brute-force' },
      retrieval: { topK: 10, lexicalTopK: 0 },
      rerank: { enabled: false },
    }));
    for (const args of [['graph', 'push', '--data', data], ['train', '--data', data, '--model', model, '--config', config]]) {
      const r = runCli(args);
      assert.equal(r.status, 0, r.stderr);
    }
    const lists = async (ann: string) => {
      const out = join(tmp, `${ann}.arrow`);
      const r = runCli(['recommend', '--data', data, '--model', model, '--stage', 'retrieve', '--ann', ann, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      const { table } = await readRecommendations(out);
      const byTopic = new Map<number, Set<number>>();
      for (let i = 0; i < table.length; i++) {
        if (!byTopic.has(table.topic[i])) byTopic.set(table.topic[i], new Set());
        byTopic.get(table.topic[i])!.add(table.content[i]);
      }
      return byTopic;
    };
    // The model's index is exact here (brute force), so this is Neo4j's recall@10 against exact search.
    const exact = await lists('hnsw');
    const neo4j = await lists('neo4j');
    let found = 0;
    let total = 0;
    for (const [topic, items] of exact) {
      total += items.size;
      for (const c of items) if (neo4j.get(topic)?.has(c)) found++;
    }
    assert.ok(total > 0);
    assert.ok(found / total >= 0.9, `Neo4j recall@10 against exact search: ${found / total}`);
  });
});

describe('a grown catalogue in Neo4j', { skip: server.skip }, () => {
  test('after graph push of new topics and content, recommend --graph neo4j sees them without retraining', async () => {
    const data = join(tmp, 'grow-before');
    const grown = join(tmp, 'grow-after');
    const model = join(tmp, 'grow-model');
    const config = join(tmp, 'grow-config.json');
    const dataset = syntheticDataset({ channels: 2, branching: 3, depth: 2, contentPerLeaf: 4, seed: 5 });
    await writeDataset(data, dataset);
    writeFileSync(config, JSON.stringify({
      lexical: { buckets: 1 << 14 },
      encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
      training: { epochs: 2, batchSize: 16 },
      retrieval: { topK: 10, lexicalTopK: 10, fusion: 'rrf' },
      rerank: { enabled: false },
    }));
    const trained = runCli(['train', '--data', data, '--model', model, '--config', config]);
    assert.equal(trained.status, 0, trained.stderr);
    // A new topic in a new channel and a new item written for it.
    const topic = { ...dataset.topics[0], id: 'neo-new-topic', title: 'walrus tectonics', description: 'walrus tectonics', channel: 'neo-new', parent: '', level: 0, hasContent: true };
    const item = { ...dataset.content[0], id: 'neo-new-item', title: 'walrus tectonics explained', description: 'walrus tectonics' };
    const correlations = new Map(dataset.topics.map((t, i) => [t.id, Array.from(dataset.links[i], (c) => dataset.content[c].id)] as [string, string[]]).filter(([, l]) => l.length));
    correlations.set(topic.id, [item.id]);
    await writeDataset(grown, buildDataset([...dataset.topics, topic], [...dataset.content, item], correlations));
    const push = runCli(['graph', 'push', '--data', grown, '--prune']);
    assert.equal(push.status, 0, push.stderr);
    const out = join(tmp, 'grow.csv');
    const r = runCli(['recommend', '--graph', 'neo4j', '--model', model, '--out', out, '--stage', 'retrieve', '--log-json']);
    assert.equal(r.status, 0, r.stderr);
    const catalogue = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.catalogue)?.catalogue;
    assert.equal(catalogue.changes.added, 1);
    assert.equal(catalogue.drift.newTopics, 1);
    const line = readFileSync(out, 'utf8').split('\n').find((l) => l.startsWith('neo-new-topic,'));
    assert.ok(line?.includes('neo-new-item'), line);
  });
});
