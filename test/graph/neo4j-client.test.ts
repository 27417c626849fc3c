import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Neo4jClient, connectionFromEnv, translateError, DEFAULT_NEO4J_CONNECTION } from '../../src/graph/neo4j.ts';
import { ServiceError, UsageError } from '../../src/errors.ts';
import { runCliEnv } from './neo4j-helpers.ts';

/** A loopback port nobody listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('neo4j connection', () => {
  test('settings come from NEO4J_* with the local server as default', () => {
    assert.deepEqual(connectionFromEnv({}), DEFAULT_NEO4J_CONNECTION);
    assert.deepEqual(connectionFromEnv({ NEO4J_URI: 'neo4j://db:7687', NEO4J_USER: 'u', NEO4J_PASSWORD: 'p', NEO4J_DATABASE: 'd' }),
      { uri: 'neo4j://db:7687', user: 'u', password: 'p', database: 'd' });
  });

  test('an unreachable server is a ServiceError whose one line says how to start one', async () => {
    const uri = `bolt://127.0.0.1:${await closedPort()}`;
    await assert.rejects(Neo4jClient.connect({ uri }), (error: Error) => {
      assert.ok(error instanceof ServiceError);
      assert.equal(error.message, `neo4j: cannot reach a Neo4j server at ${uri} (connection refused).`);
      assert.match(error.toLine(), /npm run neo4j:start/);
      assert.match(error.toLine(), /NEO4J_URI/);
      assert.doesNotMatch(error.toLine(), /\n/);
      return true;
    });
  });

  test('the CLI prints that line alone, exit 1, no stack trace', async () => {
    const uri = `bolt://127.0.0.1:${await closedPort()}`;
    for (const args of [['cypher', 'RETURN 1'], ['graph', 'pull', '--out', '/tmp/never-written']]) {
      const r = runCliEnv(args, { NEO4J_URI: uri });
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !/^npm warn/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], new RegExp(`^trellis ${args[0] === 'cypher' ? 'cypher' : 'graph pull'}: error: neo4j: cannot reach a Neo4j server at ${uri} \\(connection refused\\)\\. Start the local server with 'npm run neo4j:start', or set NEO4J_URI`));
    }
  });

  test('a URI that is not bolt:// or neo4j:// is a usage error', async () => {
    await assert.rejects(Neo4jClient.connect({ uri: 'http://127.0.0.1:7474' }),
      (error: Error) => error instanceof UsageError && /NEO4J_URI must be a bolt:\/\/ or neo4j:\/\/ URI \(got "http:\/\/127\.0\.0\.1:7474"\)/.test(error.message));
  });

  test('server errors map to the trellis classes', () => {
    const auth = translateError(Object.assign(new Error('The client is unauthorized due to authentication failure.'), { code: 'Neo.ClientError.Security.Unauthorized' }), 'bolt://h:1');
    assert.ok(auth instanceof ServiceError);
    assert.match(auth.toLine(), /refused the credentials .* Set NEO4J_USER and NEO4J_PASSWORD/);
    const syntax = translateError(Object.assign(new Error("Invalid input 'RETURN'\n\"MATCH (n RETURN n\"\n         ^"), { code: 'Neo.ClientError.Statement.SyntaxError' }), 'bolt://h:1');
    assert.ok(syntax instanceof UsageError);
    assert.equal(syntax.message, "neo4j: the query failed: Invalid input 'RETURN' (Neo.ClientError.Statement.SyntaxError).");
    const other = translateError(Object.assign(new Error('out of memory'), { code: 'Neo.TransientError.General.OutOfMemoryError' }), 'bolt://h:1');
    assert.ok(other instanceof ServiceError);
  });
});
