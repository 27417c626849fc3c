/**
 * Shared set-up of the Neo4j test files: one client per file, connected to
 * NEO4J_URI (default: the local server of `npm run neo4j:start`).
 *
 * - The tests skip when the server cannot be reached, unless CI is set: in
 *   CI a missing server fails them.
 * - The files clear the Channel / Topic / Content nodes of that database, so
 *   point NEO4J_URI at a scratch server. A lock (a folder in the temporary
 *   directory, keyed by the URI) keeps two test files from using the
 *   database at the same time when the runner runs files in parallel.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { Neo4jClient, connectionFromEnv } from '../../src/graph/neo4j.ts';
import { ServiceError } from '../../src/errors.ts';
import { REPO } from '../helpers.ts';

export interface TestServer {
  /** The connected client, or undefined when the tests are skipped. */
  client?: Neo4jClient;
  /** A skip reason for `describe(..., { skip })`, or false when connected. */
  skip: string | false;
  /** Releases the lock and closes the client (for `after`). */
  close(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the per-server lock, waiting for another test process to finish (stale locks of dead processes are taken over). */
async function lock(uri: string): Promise<() => void> {
  const dir = join(tmpdir(), `trellis-neo4j-tests-${createHash('sha256').update(uri).digest('hex').slice(0, 12)}.lock`);
  const owner = join(dir, 'pid');
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(owner, String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let pid = NaN;
      try {
        pid = Number(readFileSync(owner, 'utf8'));
      } catch {
        // The owner is between mkdir and writing its pid; wait for it.
      }
      if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(dir, { recursive: true, force: true });
      else await sleep(200);
    }
  }
}

/** Connects to the test server (see the file header for skip / fail and locking). */
export async function openTestServer(): Promise<TestServer> {
  const { uri } = connectionFromEnv();
  let client: Neo4jClient;
  try {
    client = await Neo4jClient.connect();
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    if (!process.env.CI) return { skip: `no Neo4j server: ${error.toLine()}`, close: async () => undefined };
    throw new Error(`CI is set, so the Neo4j tests must run, but: ${error.toLine()}`);
  }
  const release = await lock(uri);
  return {
    client,
    skip: false,
    async close() {
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}

/** Runs `trellis <args>` in a child process with extra environment variables. */
export function runCliEnv(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
