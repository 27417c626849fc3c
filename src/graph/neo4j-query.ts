/**
 * Named Cypher queries (graph/queries/*.cypher) and ad-hoc ones: reading a
 * query file's header, resolving its parameters, running it, and printing
 * the rows as an aligned table or JSON.
 *
 * A query file opens with `//` comment lines: the first is
 * `// <name>: <one-line summary>`, then free text, then a "Parameters:"
 * block with one line per parameter:
 *
 *   //   $topicId   string             the topic's id
 *   //   $minScore  float   = 0.0      lowest score listed
 *
 * A parameter without `= default` is required.
 */
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError, UsageError } from '../errors.ts';
import { int, type Neo4jClient, type Params, type ReadResult } from './neo4j-client.ts';
import { QUERIES_DIR } from './neo4j-schema.ts';

export interface QueryParam {
  name: string;
  type: string;
  /** Default value (parsed as JSON); undefined when the parameter is required. */
  default?: unknown;
  required: boolean;
  doc: string;
}

export interface NamedQuery {
  name: string;
  summary: string;
  /** The header's text lines (without the `//`), summary and parameters included. */
  doc: string;
  params: QueryParam[];
  /** The query text (the whole file; comments are valid Cypher). */
  text: string;
  file: string;
}

const PARAM_LINE = /^\$([A-Za-z_][A-Za-z0-9_]*)\s+([A-Za-z<>[\]]+)(?:\s+=\s+(\S+))?(?:\s+(.*))?$/;

/** Parses a query file's header; throws a DataError naming the line of a malformed parameter. */
export function parseNamedQuery(text: string, file: string): NamedQuery {
  const header: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!/^\s*\/\//.test(line)) break;
    header.push(line.replace(/^\s*\/\/ ?/, ''));
  }
  const first = header[0] ?? '';
  const match = /^([a-z0-9-]+):\s*(.*)$/.exec(first.trim());
  const name = match ? match[1] : basename(file, '.cypher');
  const summary = match ? match[2] : first.trim();
  const params: QueryParam[] = [];
  let inParams = false;
  header.forEach((line, i) => {
    if (/^Parameters:\s*(none\.?)?\s*$/i.test(line.trim())) { inParams = true; return; }
    if (!inParams) return;
    const trimmed = line.trim();
    if (trimmed === '') { inParams = false; return; }
    if (!trimmed.startsWith('$')) return;
    const m = PARAM_LINE.exec(trimmed);
    if (!m) throw new DataError(`a parameter line must read "$name type [= default] description" (got "${trimmed}").`, { file, line: i + 1 });
    let fallback: unknown;
    if (m[3] !== undefined) {
      try {
        fallback = JSON.parse(m[3]);
      } catch {
        throw new DataError(`the default of $${m[1]} must be JSON (got ${m[3]}).`, { file, line: i + 1 });
      }
    }
    params.push({ name: m[1], type: m[2], default: fallback, required: m[3] === undefined, doc: (m[4] ?? '').trim() });
  });
  return { name, summary, doc: header.join('\n'), params, text, file };
}

/** Reads graph/queries/NAME.cypher (or any .cypher path). */
export function readNamedQuery(path: string): NamedQuery {
  if (!existsSync(path)) throw new UsageError(`trellis cypher: query file ${path} does not exist.`, `Named queries: ${listNamedQueries().join(', ')}.`);
  return parseNamedQuery(readFileSync(path, 'utf8'), path);
}

/** Names of the queries in graph/queries. */
export function listNamedQueries(dir = QUERIES_DIR): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cypher')).map((f) => basename(f, '.cypher')).sort() : [];
}

/** The path of a named query in graph/queries. */
export function namedQueryPath(name: string, dir = QUERIES_DIR): string {
  return join(dir, `${name}.cypher`);
}

/**
 * A command-line parameter value: JSON when it parses (numbers, booleans,
 * null, lists, maps), else the raw string. Whole numbers become INTEGERs, so
 * `--param limit=10` works in `LIMIT $limit`.
 */
export function parseParamValue(raw: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return raw;
  }
  return integersFor(value);
}

function integersFor(value: unknown): unknown {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return int(value);
  if (Array.isArray(value)) return value.map(integersFor);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, integersFor(v)]));
  }
  return value;
}

/** Parses `key=value` pairs (repeatable --param) into parameters. */
export function parseParamPairs(pairs: readonly string[]): Params {
  const out: Params = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`trellis cypher: --param must be key=value (got ${JSON.stringify(pair)}).`);
    out[pair.slice(0, eq)] = parseParamValue(pair.slice(eq + 1));
  }
  return out;
}

/**
 * The parameters to send for a named query: the given ones, plus defaults of
 * those not given. A missing required parameter or an unknown one is a UsageError.
 */
export function resolveQueryParams(query: NamedQuery, given: Params): Params {
  const known = new Map(query.params.map((p) => [p.name, p]));
  for (const key of Object.keys(given)) {
    if (!known.has(key)) {
      const list = query.params.map((p) => `$${p.name}`).join(', ') || 'none';
      throw new UsageError(`trellis cypher: ${query.name} has no parameter $${key}.`, `Its parameters: ${list}.`);
    }
  }
  const out: Params = {};
  for (const p of query.params) {
    // An integer parameter given as a JS number is sent as an INTEGER (LIMIT needs one).
    if (p.name in given) out[p.name] = p.type === 'integer' && typeof given[p.name] === 'number' ? integersFor(given[p.name]) : given[p.name];
    else if (p.required) throw new UsageError(`trellis cypher: ${query.name} needs --param ${p.name}=<${p.type}> (${p.doc}).`);
    else out[p.name] = integersFor(p.default);
  }
  return out;
}

/** Runs a read query; rows come back as plain values. */
export async function runQuery(client: Neo4jClient, text: string, params: Params = {}): Promise<ReadResult> {
  return client.read(text, params);
}

/** A named query by name, with its parameters resolved. */
export async function runNamedQuery(client: Neo4jClient, name: string, params: Params = {}): Promise<ReadResult> {
  const query = readNamedQuery(namedQueryPath(name));
  return runQuery(client, query.text, resolveQueryParams(query, params));
}

/** Longest cell printed in a table; longer values end in "…" (use JSON output for the full value). */
export const MAX_CELL = 60;

function cell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (typeof value === 'string') text = value;
  else if (typeof value === 'number') text = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  else text = JSON.stringify(value);
  text = text.replace(/\s+/g, ' ');
  return text.length > MAX_CELL ? `${text.slice(0, MAX_CELL - 1)}…` : text;
}

/** Rows as an aligned text table with a header and a row count; numbers are right-aligned. */
export function formatTable(result: ReadResult): string {
  const { columns, rows } = result;
  if (columns.length === 0) return `(${rows.length} rows)`;
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === null || typeof r[c] === 'number'));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`);
  return out.join('\n');
}

/** Rows as JSON: an array of objects keyed by column. */
export function formatJson(result: ReadResult): string {
  return JSON.stringify(result.rows, null, 2);
}
