import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  pushDataset, pushRecommendations, recommendationsFromTable, readRecommendationFile, loadDatasetFromNeo4j, clearGraph, graphSnapshot,
  type GraphSnapshot, type PushReport,
} from '../../src/graph/neo4j.ts';
import { buildDataset, loadDataset } from '../../src/data/lecr.ts';
import { writeDataset } from '../../src/data/write.ts';
import { readSubmissionCsv } from '../../src/io/csv.ts';
import { DataError } from '../../src/errors.ts';
import type { Dataset } from '../../src/data/types.ts';
import { fixtureDataset, fixtureTopics, fixtureContent, fixtureLinks, FIXTURE_RECOMMENDATIONS_CSV } from '../fixtures/neo4j/fixture.ts';
import { openTestServer } from './neo4j-helpers.ts';
import { tempDir, runCli } from '../helpers.ts';

const server = await openTestServer();
const { dir: tmp, cleanup } = tempDir('trellis-neo4j-');
after(async () => {
  cleanup();
  await server.close();
});

function stepChanges(report: PushReport): Record<string, number> {
  return Object.fromEntries(Object.entries(report.steps).map(([step, c]) => [step, c.created + c.updated + c.deleted]));
}

/** The fixture with a moved topic, an edited title and one link fewer. */
function changedFixture(): Dataset {
  const topics = fixtureTopics();
  const quad = topics.find((t) => t.id === 'm_quad')!;
  quad.parent = 'm_root';
  const content = fixtureContent();
  content[2].title = 'Parabolas and their vertices';
  const links = fixtureLinks();
  links.set('m_lin', ['c1']);
  return buildDataset(topics, content, links);
}

describe('neo4j sync', { skip: server.skip }, () => {
  const client = server.client!;
  let clean: GraphSnapshot;

  before(async () => {
    await clearGraph(client);
    await pushDataset(client, fixtureDataset());
    clean = await graphSnapshot(client);
  });

  beforeEach(async () => {
    await clearGraph(client);
  });

  test('a push writes every node and relationship of the dataset, with the counts', async () => {
    const report = await pushDataset(client, fixtureDataset());
    // 2 channels, 7 content, 8 topics; hierarchy = 6 CHILD_OF + 2 HAS_ROOT; 7 curated links.
    assert.deepEqual(Object.fromEntries(Object.entries(report.steps).map(([s, c]) => [s, c.created])),
      { channels: 2, content: 7, topics: 8, hierarchy: 8, links: 7 });
    assert.equal(report.changes, 2 + 7 + 8 + 8 + 7);
    const snapshot = await graphSnapshot(client);
    assert.equal(snapshot.nodes, 17);
    assert.equal(snapshot.relationships, 15);
    assert.equal(snapshot.hash, clean.hash);
    const lin = await client.read(
      "MATCH (t:Topic {id: 'm_lin'})-[:CHILD_OF]->(p:Topic)-[:CHILD_OF]->(root:Topic)<-[:HAS_ROOT]-(ch:Channel) RETURN t.title AS title, t.level AS level, t.hasContent AS has, p.id AS parent, ch.id AS channel");
    assert.deepEqual(lin.rows, [{ title: 'Linear equations, "one variable"', level: 2, has: true, parent: 'm_alg', channel: 'math' }]);
  });

  test('a second push changes nothing: zero counts and the same snapshot', async () => {
    await pushDataset(client, fixtureDataset());
    const first = await graphSnapshot(client);
    const again = await pushDataset(client, fixtureDataset());
    assert.equal(again.changes, 0);
    assert.deepEqual(stepChanges(again), { channels: 0, content: 0, topics: 0, hierarchy: 0, links: 0 });
    assert.equal(again.rows, 2 + 7 + 8 + 8 + 7);
    const second = await graphSnapshot(client);
    assert.deepEqual(second.lines, first.lines);
    assert.equal(second.hash, clean.hash);
  });

  test('a push interrupted after any batch and run again ends with the graph of a clean push', async () => {
    // batchSize 2: channels 1 batch, content 4, topics 4, roots 1, children 3, and links 6
    // ([m_root m_alg] [m_lin] [m_quad] [m_geo s_root] [s_bio] [s_chem]) = 19 batches.
    let total = 0;
    await pushDataset(client, fixtureDataset(), { batchSize: 2 }, () => { total++; });
    assert.equal(total, 19);
    assert.equal((await graphSnapshot(client)).hash, clean.hash, 'batch size does not change the result');
    for (const stopAfter of [1, 3, 6, 9, 10, 12, 14, 16]) {
      await clearGraph(client);
      let batches = 0;
      await assert.rejects(
        pushDataset(client, fixtureDataset(), { batchSize: 2 }, () => {
          if (++batches === stopAfter) throw new Error('killed');
        }),
        /killed/,
      );
      const partial = await graphSnapshot(client);
      assert.notEqual(partial.hash, clean.hash, `the push stopped after batch ${stopAfter} of ${total}`);
      await pushDataset(client, fixtureDataset(), { batchSize: 3 });
      assert.equal((await graphSnapshot(client)).hash, clean.hash, `rerun after a stop at batch ${stopAfter}`);
    }
  });

  test('pushing a changed dataset over an old one, even interrupted, ends with the changed graph', async () => {
    await pushDataset(client, changedFixture());
    const target = await graphSnapshot(client);
    await clearGraph(client);
    await pushDataset(client, fixtureDataset());
    let batches = 0;
    await assert.rejects(pushDataset(client, changedFixture(), { batchSize: 2 }, () => {
      if (++batches === 14) throw new Error('killed');
    }));
    const report = await pushDataset(client, changedFixture());
    assert.deepEqual((await graphSnapshot(client)).lines, target.lines);
    // After the interruption only the links step was left: m_lin lost c2.
    assert.deepEqual(stepChanges(report), { channels: 0, content: 0, topics: 0, hierarchy: 0, links: 1 });

    await clearGraph(client);
    await pushDataset(client, fixtureDataset());
    const direct = await pushDataset(client, changedFixture());
    // c3's title; m_quad moves from m_alg to m_root (1 deleted + 1 created); m_lin -> c2 deleted.
    assert.deepEqual(
      Object.fromEntries(Object.entries(direct.steps).map(([s, c]) => [s, [c.created, c.updated, c.deleted]])),
      { channels: [0, 0, 0], content: [0, 1, 0], topics: [0, 0, 0], hierarchy: [1, 0, 1], links: [0, 0, 1] },
    );
    assert.deepEqual((await graphSnapshot(client)).lines, target.lines);
  });

  test('prune removes what the dataset does not have', async () => {
    const topics = [...fixtureTopics(), { ...fixtureTopics()[0], id: 'x_root', channel: 'extra', title: 'Extra' }];
    const content = [...fixtureContent(), { ...fixtureContent()[0], id: 'c_extra' }];
    await pushDataset(client, buildDataset(topics, content, new Map([...fixtureLinks(), ['x_root', ['c_extra', 'c1']]])));
    const report = await pushDataset(client, fixtureDataset(), { prune: true });
    assert.deepEqual(report.steps.prune, { rows: 3, created: 0, updated: 0, deleted: 3 });
    assert.equal((await graphSnapshot(client)).hash, clean.hash);
  });

  test('recommendations of a model are replaced, not piled up', async () => {
    await pushDataset(client, fixtureDataset());
    const file = join(tmp, 'recs.csv');
    writeFileSync(file, FIXTURE_RECOMMENDATIONS_CSV);
    const recs = await readRecommendationFile(file, fixtureDataset());
    assert.deepEqual(recs.topics[0], { topicId: 'm_alg', contentIds: ['c1', 'c3', 'c2'], ranks: [1, 2, 3], scores: [1, 1 / 2, 1 / 3] });
    const listRecs = async () => (await client.read(
      'MATCH (t:Topic)-[r:RECOMMENDS]->(c:Content) RETURN t.id AS topic, c.id AS content, r.model AS model, r.stage AS stage, r.rank AS rank, r.score AS score ORDER BY topic, model, rank')).rows;

    assert.deepEqual(await pushRecommendations(client, recs.topics, { model: 'm1' }), { rows: 7, created: 7, updated: 0, deleted: 0 });
    const first = await listRecs();
    assert.deepEqual(first.filter((r) => r.topic === 'm_alg'), [
      { topic: 'm_alg', content: 'c1', model: 'm1', stage: 'final', rank: 1, score: 1 },
      { topic: 'm_alg', content: 'c3', model: 'm1', stage: 'final', rank: 2, score: 0.5 },
      { topic: 'm_alg', content: 'c2', model: 'm1', stage: 'final', rank: 3, score: 1 / 3 },
    ]);
    assert.deepEqual(await pushRecommendations(client, recs.topics, { model: 'm1' }), { rows: 7, created: 0, updated: 0, deleted: 0 });
    assert.deepEqual(await listRecs(), first);

    // A new list for m_alg only: c3 moves to rank 1 (updated), c4 is new, c1 and c2 go; the other topics keep theirs.
    writeFileSync(file, 'topic_id,content_ids\nm_alg,c3 c4\n');
    const next = await readRecommendationFile(file, fixtureDataset());
    assert.deepEqual(await pushRecommendations(client, next.topics, { model: 'm1' }), { rows: 2, created: 1, updated: 1, deleted: 2 });
    // Another model and another stage live beside m1's final recommendations.
    await pushRecommendations(client, next.topics, { model: 'm2' });
    await pushRecommendations(client, next.topics, { model: 'm1', stage: 'retrieval' });
    const now = await listRecs();
    assert.deepEqual(now.filter((r) => r.topic === 'm_alg' && r.model === 'm1' && r.stage === 'final').map((r) => [r.content, r.rank, r.score]),
      [['c3', 1, 1], ['c4', 2, 0.5]]);
    assert.equal(now.filter((r) => r.topic === 'm_alg').length, 6);
    assert.deepEqual(now.filter((r) => r.topic !== 'm_alg'), first.filter((r) => r.topic !== 'm_alg'));
    // The dataset push leaves recommendations alone.
    assert.equal((await pushDataset(client, fixtureDataset())).changes, 0);
    assert.equal((await listRecs()).length, now.length);
  });

  test('recommendations naming ids outside the dataset are a DataError, or skipped when lenient', async () => {
    const file = join(tmp, 'bad-recs.csv');
    writeFileSync(file, 'topic_id,content_ids\nm_alg,c1 c_nope c2\nt_nope,c1\n');
    await assert.rejects(readRecommendationFile(file, fixtureDataset()), (error: Error) =>
      error instanceof DataError && /content "c_nope" \(recommended to "m_alg"\) must be content of the dataset/.test(error.message));
    const lenient = await readRecommendationFile(file, fixtureDataset(), { lenient: true });
    assert.deepEqual([lenient.skippedTopics, lenient.skippedContent], [1, 1]);
    assert.deepEqual(lenient.topics, [{ topicId: 'm_alg', contentIds: ['c1', 'c2'], ranks: [1, 3], scores: [1, 1 / 3] }]);
    // A repeated item keeps its best rank.
    writeFileSync(file, 'topic_id,content_ids\nm_alg,c2 c1 c2\n');
    const table = await readSubmissionCsv(file);
    assert.deepEqual(recommendationsFromTable('x', table).topics[0].contentIds, ['c2', 'c1']);
  });

  test('loadDatasetFromNeo4j returns the Dataset the CSV files give', async () => {
    const folder = join(tmp, 'fixture');
    await writeDataset(folder, fixtureDataset());
    const fromCsv = await loadDataset(folder);
    await pushDataset(client, fromCsv);
    const fromGraph = await loadDatasetFromNeo4j(client);
    // The graph does not know which columns the files had.
    assert.deepEqual({ ...fromGraph, dir: folder, sampleTopics: undefined, columns: undefined }, { ...fromCsv, sampleTopics: undefined, columns: undefined });
  });

  test('trellis graph pull writes the folder that was pushed, file for file', async () => {
    const folder = join(tmp, 'pushed');
    await writeDataset(folder, fixtureDataset());
    const pushed = runCli(['graph', 'push', '--data', folder]);
    assert.equal(pushed.status, 0, pushed.stderr);
    const out = join(tmp, 'pulled');
    const pulled = runCli(['graph', 'pull', '--out', out]);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stdout, /8 topics, 7 content items, 7 links/);
    for (const name of ['topics.csv', 'content.csv', 'correlations.csv']) {
      assert.equal(readFileSync(join(out, name), 'utf8'), readFileSync(join(folder, name), 'utf8'), name);
    }
    const a = await loadDataset(folder);
    const b = await loadDataset(out);
    assert.deepEqual({ ...b, dir: '' }, { ...a, dir: '' });
  });

  test('a graph that is not a forest is a DataError on load', async () => {
    await pushDataset(client, fixtureDataset());
    await client.write("MATCH (t:Topic {id: 'm_lin'}), (p:Topic {id: 'm_geo'}) MERGE (t)-[:CHILD_OF]->(p)");
    await assert.rejects(loadDatasetFromNeo4j(client), (error: Error) =>
      error instanceof DataError && /topic "m_lin" must have at most one CHILD_OF parent \(got 2/.test(error.message));
    await clearGraph(client);
    await assert.rejects(loadDatasetFromNeo4j(client), (error: Error) => error instanceof DataError && /holds no Topic nodes/.test(error.message));
  });
});
