/**
 * graph/schema.cypher: reading its statements and applying them. Schema
 * commands cannot share a transaction with data writes, so each statement
 * runs as its own auto-commit transaction, then the push waits for the
 * indexes to be online.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Neo4jClient } from './neo4j-client.ts';

/** Path of graph/schema.cypher in this checkout. */
export const SCHEMA_FILE = fileURLToPath(new URL('../../graph/schema.cypher', import.meta.url));

/** Folder of the named queries (graph/queries). */
export const QUERIES_DIR = fileURLToPath(new URL('../../graph/queries/', import.meta.url));

/**
 * The statements of a Cypher script: `//` comment lines dropped, split at a
 * semicolon that ends a line. (Good enough for schema files; a semicolon at a
 * line end inside a string literal would split it.)
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const raw of script.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (/^\s*\/\//.test(line)) continue;
    if (line.endsWith(';')) {
      current.push(line.slice(0, -1));
      const statement = current.join('\n').trim();
      if (statement) statements.push(statement);
      current = [];
    } else {
      current.push(line);
    }
  }
  const rest = current.join('\n').trim();
  if (rest) statements.push(rest);
  return statements;
}

/** Applies graph/schema.cypher (every statement is IF NOT EXISTS) and waits for its indexes. */
export async function applySchema(client: Neo4jClient, file = SCHEMA_FILE): Promise<number> {
  const statements = splitStatements(readFileSync(file, 'utf8'));
  for (const statement of statements) await client.autoCommit(statement, {}, 'write');
  await client.autoCommit('CALL db.awaitIndexes(300)', {}, 'read');
  return statements.length;
}
