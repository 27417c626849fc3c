import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearGraph } from '../../src/graph/neo4j.ts';
import { writeDataset } from '../../src/data/write.ts';
import { fixtureDataset, FIXTURE_RECOMMENDATIONS_CSV } from '../fixtures/neo4j/fixture.ts';
import { openTestServer } from './neo4j-helpers.ts';
import { runCli, tempDir } from '../helpers.ts';

const server = await openTestServer();
const { dir: tmp, cleanup } = tempDir('trellis-neo4j-cli-');
after(async () => {
  cleanup();
  await server.close();
});

describe('trellis graph push / cypher', { skip: server.skip }, () => {
  const folder = join(tmp, 'fixture');
  const recs = join(tmp, 'recs.csv');

  before(async () => {
    await clearGraph(server.client!);
    await writeDataset(folder, fixtureDataset());
    writeFileSync(recs, FIXTURE_RECOMMENDATIONS_CSV);
  });

  test('push prints the counts; the second push reports that nothing changed', () => {
    const first = runCli(['graph', 'push', '--data', folder, '--recommendations', recs, '--model-id', 'm1']);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^step\s+rows\s+created\s+updated\s+deleted\s+seconds$/m);
    assert.match(first.stdout, /^recommendations\s+7\s+7\s+0\s+0\s+[\d.]+$/m);
    assert.match(first.stdout, /^total\s+39\s+39\s+0\s+0\s+[\d.]+$/m);
    const second = runCli(['graph', 'push', '--data', folder, '--recommendations', recs, '--model-id', 'm1', '--progress']);
    assert.equal(second.status, 0, second.stderr);
    // One line per committed batch: channels, content, topics, roots, children, links, recommendations.
    assert.deepEqual(second.stderr.match(/^graph push: .*$/gm), [
      'graph push: channels 1/1', 'graph push: content 1/1', 'graph push: topics 1/1', 'graph push: hierarchy 1/1',
      'graph push: hierarchy 1/1', 'graph push: links 1/1', 'graph push: recommendations 1/1',
    ]);
    assert.match(second.stdout, /^total\s+39\s+0\s+0\s+0\s+[\d.]+$/m);
    assert.match(second.stdout, /nothing changed/);
  });

  test('cypher runs a named query file with --param, as a table or JSON', () => {
    const table = runCli(['cypher', '--file', 'graph/queries/breadcrumbs.cypher', '--param', 'topicId=m_quad']);
    assert.equal(table.status, 0, table.stderr);
    assert.equal(table.stdout, [
      'depth  id      title        channel',
      '-----  ------  -----------  -------',
      '    0  m_root  Mathematics  math',
      '    1  m_alg   Algebra      math',
      '    2  m_quad  Quadratics   math',
      '(3 rows)',
      '',
    ].join('\n'));
    const json = runCli(['cypher', '--file', 'graph/queries/topic-content.cypher', '--param', 'topicId=m_lin', '--param', 'minScore=0.6', '--json']);
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).map((r: { contentId: string }) => r.contentId), ['c1', 'c2', 'c3']);
  });

  test('cypher runs an ad-hoc query; nodes print as labels and properties; integers work in LIMIT', () => {
    const r = runCli(['cypher', 'MATCH (t:Topic) WHERE t.level = $level RETURN t ORDER BY t.ord LIMIT $n', '--param', 'level=1', '--param', 'n=1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const [row] = JSON.parse(r.stdout);
    assert.deepEqual(row.t.labels, ['Topic']);
    assert.equal(row.t.properties.id, 'm_alg');
    assert.equal(row.t.properties.level, 1);
    // Reads are the default: the server refuses a write in a read transaction, and nothing changes.
    const refused = runCli(['cypher', "MERGE (c:Channel {id: 'cli-test'}) RETURN c.id AS id"]);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /AccessMode/);
    assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
    const none = runCli(['cypher', "MATCH (c:Channel {id: 'cli-test'}) RETURN count(c) AS n", '--json']);
    assert.deepEqual(JSON.parse(none.stdout), [{ n: 0 }]);
    const write = runCli(['cypher', "MERGE (c:Channel {id: 'cli-test'}) RETURN c.id AS id", '--write']);
    assert.equal(write.status, 0, write.stderr);
    assert.match(write.stderr, /1 nodes created/);
    assert.equal(runCli(['cypher', "MATCH (c:Channel {id: 'cli-test'}) DELETE c"]).status, 2);
    assert.equal(runCli(['cypher', "MATCH (c:Channel {id: 'cli-test'}) DELETE c", '--write']).status, 0);
  });

  test('bad queries and missing parameters are usage errors (exit 2, one line)', () => {
    for (const [args, pattern] of [
      [['cypher', 'MATCH (n RETURN n'], /error: neo4j: the query failed: Invalid input .*SyntaxError/],
      [['cypher', '--file', 'graph/queries/breadcrumbs.cypher'], /breadcrumbs needs --param topicId=<string>/],
      [['cypher', '--file', 'graph/queries/nope.cypher'], /query file graph\/queries\/nope\.cypher does not exist\. Named queries: breadcrumbs, /],
      [['cypher'], /give one query \(quoted\) or --file FILE/],
    ] as const) {
      const r = runCli([...args]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], pattern);
    }
  });
});
