import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  pushDataset, pushRecommendations, readRecommendationFile, clearGraph, runNamedQuery, listNamedQueries, readNamedQuery, namedQueryPath,
  parseNamedQuery, parseParamValue, parseParamPairs, resolveQueryParams, formatTable, splitStatements, SCHEMA_FILE,
} from '../../src/graph/neo4j.ts';
import { DataError, UsageError } from '../../src/errors.ts';
import { fixtureDataset, FIXTURE_RECOMMENDATIONS_CSV } from '../fixtures/neo4j/fixture.ts';
import { openTestServer } from './neo4j-helpers.ts';
import { tempDir } from '../helpers.ts';

const NAMED = ['breadcrumbs', 'channel-coverage', 'content-recommended-to', 'sibling-content', 'topic-content', 'topic-subtree'];

describe('named query files', () => {
  test('every file has a name, a summary and documented parameters', () => {
    assert.deepEqual(listNamedQueries(), NAMED);
    for (const name of NAMED) {
      const q = readNamedQuery(namedQueryPath(name));
      assert.equal(q.name, name);
      assert.ok(q.summary.length > 20, `${name} has a summary`);
      for (const p of q.params) assert.ok(p.doc.length > 0, `${name}: $${p.name} is documented`);
      for (const used of new Set([...q.text.replace(/^\/\/.*$/gm, '').matchAll(/\$([A-Za-z_]\w*)/g)].map((m) => m[1]))) {
        assert.ok(q.params.some((p) => p.name === used), `${name}: $${used} is listed in the header`);
      }
    }
  });

  test('a header parses into parameters with types and defaults', () => {
    const q = parseNamedQuery('// demo: a demo query\n//\n// Parameters:\n//   $id    string            the id\n//   $min   float   = 0.5     lowest\n//   $m     string  = null    a model\n//\nRETURN $id', 'demo.cypher');
    assert.equal(q.summary, 'a demo query');
    assert.deepEqual(q.params.map((p) => [p.name, p.type, p.required, p.default, p.doc]), [
      ['id', 'string', true, undefined, 'the id'],
      ['min', 'float', false, 0.5, 'lowest'],
      ['m', 'string', false, null, 'a model'],
    ]);
    assert.throws(() => parseNamedQuery('// x: y\n// Parameters:\n//   $bad\n', 'x.cypher'),
      (e: Error) => e instanceof DataError && /x\.cypher:3: a parameter line must read/.test(e.message));
    assert.deepEqual(resolveQueryParams(q, { id: 'a' }), { id: 'a', min: 0.5, m: null });
    assert.throws(() => resolveQueryParams(q, {}), (e: Error) => e instanceof UsageError && /demo needs --param id=<string> \(the id\)/.test(e.message));
    assert.throws(() => resolveQueryParams(q, { id: 'a', typo: 1 }), (e: Error) => e instanceof UsageError && /has no parameter \$typo/.test(e.message));
  });

  test('--param values are JSON when they parse, else strings; whole numbers are integers', () => {
    assert.equal(parseParamValue('abc'), 'abc');
    assert.equal(parseParamValue('0.25'), 0.25);
    assert.equal(parseParamValue('true'), true);
    assert.equal(parseParamValue('null'), null);
    assert.equal(String(parseParamValue('10')), '10');
    assert.equal(typeof parseParamValue('10'), 'object'); // a driver Integer
    assert.deepEqual(parseParamValue('["a", 0.5]'), ['a', 0.5]);
    assert.deepEqual(Object.keys(parseParamPairs(['a=1', 'b=x=y'])), ['a', 'b']);
    assert.equal(parseParamPairs(['b=x=y']).b, 'x=y');
    assert.throws(() => parseParamPairs(['novalue']), UsageError);
  });

  test('tables align columns, right-align numbers and cut long cells', () => {
    const table = formatTable({ columns: ['id', 'n', 'tags'], rows: [{ id: 'a', n: 1.5, tags: ['x'] }, { id: 'bbb', n: 10, tags: null }] });
    assert.equal(table, [
      'id     n  tags',
      '---  ---  -----',
      'a    1.5  ["x"]',
      'bbb   10',
      '(2 rows)',
    ].join('\n'));
    const long = formatTable({ columns: ['t'], rows: [{ t: 'x'.repeat(100) }] });
    assert.match(long, /x{59}…\n\(1 row\)$/);
  });

  test('the schema file splits into its statements', () => {
    const statements = splitStatements(readFileSync(SCHEMA_FILE, 'utf8'));
    assert.equal(statements.length, 4);
    for (const s of statements) assert.match(s, /^CREATE (CONSTRAINT|INDEX) \w+ IF NOT EXISTS/);
  });
});

const server = await openTestServer();
const { dir: tmp, cleanup } = tempDir('trellis-neo4j-query-');
after(async () => {
  cleanup();
  await server.close();
});

describe('named queries on the fixture graph', { skip: server.skip }, () => {
  const client = server.client!;
  const rows = async (name: string, params: Record<string, unknown> = {}) => (await runNamedQuery(client, name, params)).rows;

  before(async () => {
    await clearGraph(client);
    await pushDataset(client, fixtureDataset());
    const file = join(tmp, 'recs.csv');
    writeFileSync(file, FIXTURE_RECOMMENDATIONS_CSV);
    await pushRecommendations(client, (await readRecommendationFile(file, fixtureDataset())).topics, { model: 'm1' });
  });

  test('topic-subtree: the topic and its descendants by depth, in pushed order', async () => {
    assert.deepEqual(await rows('topic-subtree', { topicId: 'm_root' }), [
      { depth: 0, id: 'm_root', title: 'Mathematics', parent: null, content: 0 },
      { depth: 1, id: 'm_alg', title: 'Algebra', parent: 'm_root', content: 0 },
      { depth: 1, id: 'm_geo', title: 'Geometry', parent: 'm_root', content: 1 },
      { depth: 2, id: 'm_lin', title: 'Linear equations, "one variable"', parent: 'm_alg', content: 2 },
      { depth: 2, id: 'm_quad', title: 'Quadratics', parent: 'm_alg', content: 2 },
    ]);
    assert.deepEqual((await rows('topic-subtree', { topicId: 'm_root', maxDepth: 1 })).map((r) => r.id), ['m_root', 'm_alg', 'm_geo']);
    assert.deepEqual(await rows('topic-subtree', { topicId: 'nope' }), []);
  });

  test('breadcrumbs: root first, with the channel', async () => {
    assert.deepEqual(await rows('breadcrumbs', { topicId: 'm_quad' }), [
      { depth: 0, id: 'm_root', title: 'Mathematics', channel: 'math' },
      { depth: 1, id: 'm_alg', title: 'Algebra', channel: 'math' },
      { depth: 2, id: 'm_quad', title: 'Quadratics', channel: 'math' },
    ]);
    assert.deepEqual(await rows('breadcrumbs', { topicId: 's_root' }), [{ depth: 0, id: 's_root', title: 'Ciencias naturales', channel: 'sci' }]);
  });

  test('topic-content: curated links, then recommendations at or above the score', async () => {
    const all = await rows('topic-content', { topicId: 'm_lin' });
    assert.deepEqual(all.map((r) => [r.source, r.model, r.rank, r.score, r.contentId, r.curated]), [
      ['curated', null, null, null, 'c1', true],
      ['curated', null, null, null, 'c2', true],
      ['recommended', 'm1', 1, 1, 'c3', false],
      ['recommended', 'm1', 2, 0.5, 'c1', true],
    ]);
    // minScore 0.6 drops c1's recommendation (0.5), never a curated link.
    const high = await rows('topic-content', { topicId: 'm_lin', minScore: 0.6 });
    assert.deepEqual(high.map((r) => [r.source, r.contentId]), [['curated', 'c1'], ['curated', 'c2'], ['recommended', 'c3']]);
    assert.deepEqual((await rows('topic-content', { topicId: 'm_lin', model: 'other' })).map((r) => r.source), ['curated', 'curated']);
  });

  test('content-recommended-to: topics by score', async () => {
    // c3: rank 1 (1.0) for m_lin, rank 2 (0.5) for m_alg.
    assert.deepEqual(await rows('content-recommended-to', { contentId: 'c3' }), [
      { topicId: 'm_lin', title: 'Linear equations, "one variable"', channel: 'math', model: 'm1', stage: 'final', rank: 1, score: 1, curated: false },
      { topicId: 'm_alg', title: 'Algebra', channel: 'math', model: 'm1', stage: 'final', rank: 2, score: 0.5, curated: false },
    ]);
    assert.deepEqual((await rows('content-recommended-to', { contentId: 'c3', minScore: 0.75 })).map((r) => r.topicId), ['m_lin']);
    assert.deepEqual(await rows('content-recommended-to', { contentId: 'c4' }), []);
  });

  test('channel-coverage: curated, recommendations only, nothing', async () => {
    // math: m_lin m_quad m_geo curated; m_alg recommendations only; m_root nothing.
    // sci:  s_bio curated; s_chem recommendations only; s_root nothing.
    assert.deepEqual(await rows('channel-coverage'), [
      { channel: 'math', topics: 5, withContent: 3, recommendationsOnly: 1, noContent: 1 },
      { channel: 'sci', topics: 3, withContent: 1, recommendationsOnly: 1, noContent: 1 },
    ]);
    assert.deepEqual((await rows('channel-coverage', { model: 'other' })).map((r) => r.noContent), [2, 2]);
  });

  test('sibling-content: what the siblings link and the topic does not', async () => {
    // m_lin's sibling m_quad links c2 (m_lin has it) and c3.
    assert.deepEqual(await rows('sibling-content', { topicId: 'm_lin' }), [
      { contentId: 'c3', title: 'Parabolas', kind: 'video', siblings: 1, viaTopics: ['m_quad'] },
    ]);
    assert.deepEqual((await rows('sibling-content', { topicId: 's_chem' })).map((r) => [r.contentId, r.viaTopics]), [['c5', ['s_bio']], ['c6', ['s_bio']]]);
    assert.deepEqual((await rows('sibling-content', { topicId: 's_chem', limit: 1 })).length, 1);
    assert.deepEqual(await rows('sibling-content', { topicId: 'm_root' }), []);
  });
});
