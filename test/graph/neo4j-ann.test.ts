import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestServer } from './neo4j-helpers.ts';
import { syntheticDataset, writeDataset, readRecommendations } from '../../src/index.ts';
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
