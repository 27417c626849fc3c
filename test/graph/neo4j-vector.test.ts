import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Neo4jVectorIndex, pushEmbeddings, dropEmbeddings, clearGraph } from '../../src/graph/neo4j.ts';
import { BruteForceIndex } from '../../src/ann/brute-force.ts';
import { searchRecall } from '../../src/ann/search.ts';
import { syntheticVectors } from '../../src/ann/synthetic.ts';
import { DataError } from '../../src/errors.ts';
import { openTestServer } from './neo4j-helpers.ts';

const ROWS = 2000;
const DIM = 64;
const QUERIES = 100;
const K = 10;

const server = await openTestServer();
after(() => server.close());

describe('retrieval over a Neo4j vector index', { skip: server.skip }, () => {
  const client = server.client!;
  const ids = Array.from({ length: ROWS }, (_, i) => `v${String(i).padStart(4, '0')}`);
  const vectors = syntheticVectors({ rows: ROWS, dim: DIM, seed: 7 }); // N(0, I): the hard case for HNSW
  const queries = syntheticVectors({ rows: QUERIES, dim: DIM, seed: 8 });

  before(async () => {
    await clearGraph(client);
    await dropEmbeddings(client);
    await client.write('UNWIND $ids AS id CREATE (:Content {id: id})', { ids });
  });

  after(async () => {
    await dropEmbeddings(client);
    await clearGraph(client);
  });

  test('pushEmbeddings writes a vector per node and an online cosine index', async () => {
    assert.deepEqual(await pushEmbeddings(client, [...ids, 'v_missing'], new Float32Array([...vectors, ...new Float32Array(DIM).fill(1)]), DIM), { written: ROWS, missing: 1 });
    const { rows } = await client.read(
      "SHOW INDEXES YIELD name, type, state, options WHERE name = 'content_embedding' RETURN type, state, options.indexConfig['vector.similarity_function'] AS fn, options.indexConfig['vector.dimensions'] AS dim");
    assert.deepEqual(rows, [{ type: 'VECTOR', state: 'ONLINE', fn: 'COSINE', dim: DIM }]);
    const stored = await client.read("MATCH (c:Content {id: 'v0001'}) RETURN c.embedding AS v");
    assert.deepEqual(stored.rows[0].v, Array.from(vectors.subarray(DIM, 2 * DIM)));
  });

  test('recall@10 against brute force is at least 0.9, with the exact cosine scores', async () => {
    const index = new Neo4jVectorIndex(client, ids, DIM);
    const approx = await index.searchBatch(queries, K);
    const exact = new BruteForceIndex(DIM);
    exact.add(vectors, Uint32Array.from(ids.keys()));
    const truth = Array.from({ length: QUERIES }, (_, q) => exact.search(queries.subarray(q * DIM, (q + 1) * DIM), K));
    const recall = searchRecall(approx, truth, K);
    assert.ok(recall >= 0.9, `recall@10 = ${recall}`);
    for (let q = 0; q < QUERIES; q++) {
      assert.equal(approx[q].labels.length, K);
      for (let j = 1; j < K; j++) assert.ok(approx[q].scores[j - 1] >= approx[q].scores[j], 'best first');
      const exactScore = new Map(Array.from(truth[q].labels, (label, j) => [label, truth[q].scores[j]]));
      for (let j = 0; j < K; j++) {
        const expected = exactScore.get(approx[q].labels[j]);
        if (expected !== undefined) assert.ok(Math.abs(approx[q].scores[j] - expected) < 1e-4, `score ${approx[q].scores[j]} vs ${expected}`);
      }
    }
    const one = await index.search(queries.subarray(0, DIM), K);
    assert.deepEqual([...one.labels], [...approx[0].labels]);
  });

  test('a data point finds itself first with cosine 1', async () => {
    const index = new Neo4jVectorIndex(client, ids, DIM);
    const result = await index.search(vectors.subarray(42 * DIM, 43 * DIM), 3);
    assert.equal(result.labels[0], 42);
    assert.ok(Math.abs(result.scores[0] - 1) < 1e-5);
  });

  test('wrong shapes are DataErrors', async () => {
    const index = new Neo4jVectorIndex(client, ids, DIM);
    await assert.rejects(index.searchBatch(new Float32Array(DIM + 1), K), (e: Error) => e instanceof DataError && /whole number of 64-float rows \(got 65 floats\)/.test(e.message));
    await assert.rejects(index.search(queries.subarray(0, DIM), 0), (e: Error) => e instanceof DataError && /k must be a positive integer/.test(e.message));
    await assert.rejects(pushEmbeddings(client, ids, vectors.subarray(0, 10), DIM), (e: Error) => e instanceof DataError && /must hold ids.length \* dim/.test(e.message));
  });
});
