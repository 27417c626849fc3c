/**
 * A catalogue that grows in Neo4j: a model trained with `--graph neo4j`
 * recommends for the graph after `graph push --prune` of the grown catalogue
 * (new, edited and removed items, a new channel, a new language) without
 * retraining, as it does for a CSV folder (test/pipeline/catalogue.test.ts).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearGraph } from '../../src/graph/neo4j.ts';
import { writeDataset } from '../../src/data/write.ts';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import type { Dataset } from '../../src/data/types.ts';
import { growCatalogue, readSubmission, TINY_CONFIG, type GrownCatalogue } from '../pipeline/grown-catalogue.ts';
import { openTestServer } from './neo4j-helpers.ts';
import { runCli, tempDir } from '../helpers.ts';

const server = await openTestServer();
const { dir: tmp, cleanup } = tempDir('trellis-neo4j-catalogue-');
after(async () => {
  cleanup();
  await server.close();
});

describe('a model trained on the graph serves the grown graph', { skip: server.skip }, () => {
  const model = join(tmp, 'model');
  const config = join(tmp, 'config.json');
  const out = join(tmp, 'grown.csv');
  let original: Dataset;
  let grown: GrownCatalogue;

  before(async () => {
    await clearGraph(server.client!);
    original = syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 });
    grown = growCatalogue(original);
    await writeDataset(join(tmp, 'before'), original);
    await writeDataset(join(tmp, 'grown'), grown.dataset);
    writeFileSync(config, JSON.stringify(TINY_CONFIG));
    const push = runCli(['graph', 'push', '--data', join(tmp, 'before')]);
    assert.equal(push.status, 0, push.stderr);
    const train = runCli(['train', '--graph', 'neo4j', '--model', model, '--holdout', '0.25', '--config', config, '--no-report']);
    assert.equal(train.status, 0, train.stderr);
  });

  test('the unchanged graph has no changes', () => {
    const r = runCli(['recommend', '--graph', 'neo4j', '--model', model, '--out', join(tmp, 'same.csv'), '--stage', 'retrieve', '--no-report', '--log-json']);
    assert.equal(r.status, 0, r.stderr);
    const drift = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.catalogue)?.catalogue;
    assert.deepEqual(drift.changes, { added: 0, revived: 0, edited: 0, moved: 0, removed: 0, unchanged: original.content.length });
  });

  test('after a push of the grown catalogue: new items found, removed never returned, edited re-encoded, a new language', () => {
    const push = runCli(['graph', 'push', '--data', join(tmp, 'grown'), '--prune']);
    assert.equal(push.status, 0, push.stderr);
    const r = runCli(['recommend', '--graph', 'neo4j', '--model', model, '--out', out, '--stage', 'retrieve', '--no-report', '--log-json']);
    assert.equal(r.status, 0, r.stderr);
    const drift = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.catalogue)?.catalogue;
    assert.deepEqual(drift.changes, grown.changes);
    assert.deepEqual(drift.drift.newLanguages, [{ language: 'fr', items: 2 }]);
    assert.equal(drift.drift.newTopics, 2);
    const recs = readSubmission(out);
    const all = new Set([...recs.values()].flat());
    for (const id of grown.removed) assert.ok(!all.has(id), `removed item ${id} was recommended`);
    assert.ok(recs.get(grown.newTopic)?.includes(grown.edited.id), `the edited item for the new topic: ${recs.get(grown.newTopic)}`);
    assert.ok(all.has(grown.newItem), 'the new item is recommended somewhere');
  });
});
