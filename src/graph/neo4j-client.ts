/**
 * The one place trellis talks to Neo4j through neo4j-driver: connection
 * settings from the environment, a client that owns the driver and one
 * session, and the translation of driver errors and values into trellis's.
 *
 * Connection settings (environment, with defaults for the local server that
 * `npm run neo4j:start` runs, where auth is disabled):
 *   NEO4J_URI       bolt://127.0.0.1:7687
 *   NEO4J_USER      neo4j
 *   NEO4J_PASSWORD  (unset: no credentials are sent)
 *   NEO4J_DATABASE  (unset: the server's default database)
 *
 * Writes go through `session.executeWrite`, so transient errors (deadlocks,
 * leader switches, dropped connections) are retried by the driver; every
 * write query trellis runs is idempotent, which makes the retry safe.
 */
import neo4j, { type Driver, type Session, type QueryResult, type RecordShape } from 'neo4j-driver';
import { ServiceError, UsageError, TrellisError } from '../errors.ts';

export interface Neo4jConnection {
  /** Bolt or neo4j URI. Default `bolt://127.0.0.1:7687` (env NEO4J_URI). */
  uri: string;
  /** User name. Default `neo4j` (env NEO4J_USER). */
  user: string;
  /** Password; '' sends no credentials (the local server has auth disabled). Env NEO4J_PASSWORD. */
  password: string;
  /** Database name; '' for the server's default (env NEO4J_DATABASE). */
  database: string;
}

export const DEFAULT_NEO4J_CONNECTION: Readonly<Neo4jConnection> = Object.freeze({
  uri: 'bolt://127.0.0.1:7687',
  user: 'neo4j',
  password: '',
  database: '',
});

/** The connection settings from NEO4J_URI / NEO4J_USER / NEO4J_PASSWORD / NEO4J_DATABASE. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env): Neo4jConnection {
  return {
    uri: env.NEO4J_URI || DEFAULT_NEO4J_CONNECTION.uri,
    user: env.NEO4J_USER || DEFAULT_NEO4J_CONNECTION.user,
    password: env.NEO4J_PASSWORD ?? DEFAULT_NEO4J_CONNECTION.password,
    database: env.NEO4J_DATABASE ?? DEFAULT_NEO4J_CONNECTION.database,
  };
}

const START_HINT = "Start the local server with 'npm run neo4j:start', or set NEO4J_URI (and NEO4J_USER, NEO4J_PASSWORD) to use another one.";
const AUTH_HINT = 'Set NEO4J_USER and NEO4J_PASSWORD to credentials the server accepts (the local server from npm run neo4j:start needs none).';

/** Counts from a write's summary (the server's own bookkeeping). */
export interface WriteCounters {
  nodesCreated: number;
  nodesDeleted: number;
  relationshipsCreated: number;
  relationshipsDeleted: number;
  propertiesSet: number;
}

export interface WriteResult {
  rows: Record<string, unknown>[];
  counters: WriteCounters;
}

export interface ReadResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

export type Params = Record<string, unknown>;

/** First line of a message, without the server's trailing position marker lines. */
function firstLine(message: string): string {
  return message.split('\n')[0].trim();
}

/**
 * A driver error as a TrellisError: an unreachable server or refused
 * credentials are ServiceErrors with a hint; a bad query (syntax, missing
 * parameter, constraint violation the caller caused) is a UsageError; other
 * server errors are ServiceErrors. A TrellisError passes through unchanged.
 */
export function translateError(error: unknown, uri: string): TrellisError {
  if (error instanceof TrellisError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const message = firstLine((error as Error)?.message ?? String(error));
  if (code === neo4j.error.SERVICE_UNAVAILABLE || code === neo4j.error.SESSION_EXPIRED || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET/.test(message)) {
    const cause = /ECONNREFUSED/.test(message) ? 'connection refused' : message.replace(/^Could not perform discovery\.\s*/, '');
    return new ServiceError(`neo4j: cannot reach a Neo4j server at ${uri} (${cause}).`, START_HINT);
  }
  if (code.startsWith('Neo.ClientError.Security.')) {
    return new ServiceError(`neo4j: the server at ${uri} refused the credentials (${message}).`, AUTH_HINT);
  }
  if (code === 'Neo.ClientError.Database.DatabaseNotFound') {
    return new ServiceError(`neo4j: ${message}`, 'Set NEO4J_DATABASE to a database that exists, or leave it unset for the default one.');
  }
  if (code.startsWith('Neo.ClientError.Statement.') || code.startsWith('Neo.ClientError.Procedure.') || code.startsWith('Neo.ClientError.Schema.')) {
    return new UsageError(`neo4j: the query failed: ${message} (${code}).`);
  }
  return new ServiceError(`neo4j: the server at ${uri} failed the request: ${message}${code ? ` (${code})` : ''}.`);
}

function countersOf(result: QueryResult): WriteCounters {
  const u = result.summary.counters.updates();
  return {
    nodesCreated: u.nodesCreated,
    nodesDeleted: u.nodesDeleted,
    relationshipsCreated: u.relationshipsCreated,
    relationshipsDeleted: u.relationshipsDeleted,
    propertiesSet: u.propertiesSet,
  };
}

/**
 * A Neo4j value as plain JSON-friendly data: nodes become
 * `{labels, properties}`, relationships `{type, properties}`, paths a list of
 * alternating nodes and relationships; integers are numbers (exact up to
 * 2^53), temporal and spatial values their string form.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return typeof value === 'bigint' ? Number(value) : value;
  if (neo4j.isInt(value)) return (value as { toNumber(): number }).toNumber();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof neo4j.types.Node) {
    return { labels: [...value.labels], properties: toPlain(value.properties) };
  }
  if (value instanceof neo4j.types.Relationship) {
    return { type: value.type, properties: toPlain(value.properties) };
  }
  if (value instanceof neo4j.types.Path) {
    const out: unknown[] = [toPlain(value.start)];
    for (const segment of value.segments) out.push(toPlain(segment.relationship), toPlain(segment.end));
    return out;
  }
  if (value instanceof neo4j.types.Point || neo4j.isDate(value) || neo4j.isDateTime(value) || neo4j.isLocalDateTime(value)
    || neo4j.isTime(value) || neo4j.isLocalTime(value) || neo4j.isDuration(value)) {
    return String(value);
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = toPlain(v);
  return out;
}

/** A whole number the server must store as an INTEGER (JS numbers are sent as FLOAT). */
export function int(value: number): unknown {
  return neo4j.int(value);
}

/**
 * Owns a driver and one session; calls are sequential (await each one), so
 * every read sees the writes before it. Close it when done.
 */
export class Neo4jClient {
  readonly connection: Neo4jConnection;
  private readonly driver: Driver;
  private session: Session | undefined;

  private constructor(connection: Neo4jConnection, driver: Driver) {
    this.connection = connection;
    this.driver = driver;
  }

  /**
   * Connects and checks the server answers. Throws a ServiceError saying how
   * to start the local server or which variables to set when it does not.
   */
  static async connect(connection: Partial<Neo4jConnection> = {}, options: { timeoutMs?: number } = {}): Promise<Neo4jClient> {
    const settings: Neo4jConnection = { ...connectionFromEnv(), ...connection };
    let driver: Driver;
    try {
      // No token means the 'none' scheme, which a server with auth disabled accepts.
      const auth = settings.password === '' ? undefined : neo4j.auth.basic(settings.user, settings.password);
      driver = neo4j.driver(settings.uri, auth, {
        disableLosslessIntegers: true,
        connectionTimeout: options.timeoutMs ?? 10_000,
        connectionAcquisitionTimeout: 60_000,
        maxTransactionRetryTime: 30_000,
        userAgent: 'trellis/0.1.0',
      });
    } catch (error) {
      throw new UsageError(`neo4j: NEO4J_URI must be a bolt:// or neo4j:// URI (got ${JSON.stringify(settings.uri)}): ${firstLine((error as Error).message)}.`);
    }
    try {
      await driver.verifyConnectivity(settings.database ? { database: settings.database } : {});
    } catch (error) {
      await driver.close().catch(() => undefined);
      throw translateError(error, settings.uri);
    }
    return new Neo4jClient(settings, driver);
  }

  private open(): Session {
    if (!this.session) {
      this.session = this.driver.session(this.connection.database ? { database: this.connection.database } : {});
    }
    return this.session;
  }

  /** Runs a read query in a managed read transaction; values come back plain (see toPlain). */
  async read(query: string, params: Params = {}): Promise<ReadResult> {
    try {
      const { keys, result } = await this.open().executeRead(async (tx) => {
        const running = tx.run<RecordShape>(query, params);
        const keys = [...(await running.keys())] as string[];
        return { keys, result: await running };
      });
      return { columns: keys, rows: result.records.map((r) => toPlain(r.toObject()) as Record<string, unknown>) };
    } catch (error) {
      throw translateError(error, this.connection.uri);
    }
  }

  /**
   * Runs a write query in a managed write transaction (retried by the driver
   * on transient errors, so the query must be idempotent).
   */
  async write(query: string, params: Params = {}): Promise<WriteResult> {
    try {
      const result = await this.open().executeWrite((tx) => tx.run<RecordShape>(query, params));
      return { rows: result.records.map((r) => toPlain(r.toObject()) as Record<string, unknown>), counters: countersOf(result) };
    } catch (error) {
      throw translateError(error, this.connection.uri);
    }
  }

  /**
   * Runs one statement as an auto-commit transaction: schema commands
   * (CREATE CONSTRAINT / INDEX) and `CALL ... IN TRANSACTIONS` need that.
   * Column names come from the result's keys, also when it has no rows.
   * `access` 'read' runs it in a session of read access mode,
   * where the server refuses any write (Neo.ClientError.Statement.AccessMode);
   * 'write' allows writes.
   */
  async autoCommit(query: string, params: Params, access: 'read' | 'write'): Promise<ReadResult & { counters: WriteCounters }> {
    const session = this.driver.session({
      ...(this.connection.database ? { database: this.connection.database } : {}),
      defaultAccessMode: access === 'write' ? neo4j.session.WRITE : neo4j.session.READ,
    });
    try {
      const result = session.run<RecordShape>(query, params);
      const columns = [...(await result.keys())] as string[];
      const done = await result;
      return { columns, rows: done.records.map((r) => toPlain(r.toObject()) as Record<string, unknown>), counters: countersOf(done) };
    } catch (error) {
      throw translateError(error, this.connection.uri);
    } finally {
      await session.close();
    }
  }

  /** The server's agent string, e.g. "Neo4j/5.26.22". */
  async serverAgent(): Promise<string> {
    try {
      return (await this.driver.getServerInfo(this.connection.database ? { database: this.connection.database } : {})).agent ?? 'Neo4j';
    } catch (error) {
      throw translateError(error, this.connection.uri);
    }
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    try {
      await session?.close();
    } finally {
      await this.driver.close();
    }
  }
}

/** Connects, runs `work`, and closes the client whatever happens. */
export async function withNeo4j<T>(work: (client: Neo4jClient) => Promise<T>, connection: Partial<Neo4jConnection> = {}): Promise<T> {
  const client = await Neo4jClient.connect(connection);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Whether a Neo4j server answers at the environment's connection, within `timeoutMs` (never throws). */
export async function probeNeo4j(timeoutMs = 2000): Promise<{ uri: string; ok: boolean; agent?: string; error?: string }> {
  const { uri } = connectionFromEnv();
  let client: Neo4jClient | undefined;
  try {
    client = await Neo4jClient.connect({}, { timeoutMs });
    return { uri, ok: true, agent: await client.serverAgent() };
  } catch (error) {
    return { uri, ok: false, error: error instanceof TrellisError ? error.message : firstLine((error as Error).message) };
  } finally {
    await client?.close().catch(() => undefined);
  }
}
