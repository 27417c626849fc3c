/**
 * Retrieval inside Neo4j: content embeddings as a vector property on the
 * Content nodes, a Neo4j vector index over them (HNSW via Lucene, cosine),
 * and a search that keeps the `SearchResult` contract of src/ann/types.ts.
 *
 * Labels in a result are rows of the caller's item table: the `ids` array
 * the index object is made with (usually the dataset's content ids, so
 * labels are content rows). Scores are cosine similarities: Neo4j reports
 * cosine as (1 + cos) / 2, which is mapped back.
 *
 * Lucene searches the graph with a beam as wide as the k it is asked for;
 * asking for `candidates` (>= k) and keeping the best k is the `ef` knob of
 * hnswlib: more recall for more time. On 2,000 x 64 N(0, I) vectors,
 * recall@10 is 0.78 with 10 candidates, 0.99 with 50 and 1.0 with 100.
 * The index is made without quantization (see `quantization`).
 */
import type { SearchResult } from '../ann/types.ts';
import { ConfigError, DataError, ServiceError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { int, type Neo4jClient } from './neo4j-client.ts';
import { batchesOf } from './neo4j-sync.ts';

export interface Neo4jVectorOptions {
  /** Node label that carries the vectors. Default 'Content'. */
  label?: string;
  /** Property holding the vector. Default 'embedding'. */
  property?: string;
  /** Name of the vector index. Default 'content_embedding'. */
  indexName?: string;
  /** Candidates asked of the index per query (at least k); the best k are kept. Default 100. */
  candidates?: number;
  /** Nodes per write transaction, and queries per round trip in searchBatch. Default 1000. */
  batchSize?: number;
  /**
   * Let the index keep int8-quantized vectors (Neo4j 5.23+ defaults to it):
   * less memory, but its scores are approximate and recall@10 stalls below
   * 0.9 on hard data however many candidates are asked. Default false.
   */
  quantization?: boolean;
}

export const DEFAULT_NEO4J_VECTOR_OPTIONS: Readonly<Required<Neo4jVectorOptions>> = Object.freeze({
  label: 'Content',
  property: 'embedding',
  indexName: 'content_embedding',
  candidates: 100,
  batchSize: 1000,
  quantization: false,
});

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function resolve(options: Neo4jVectorOptions): Required<Neo4jVectorOptions> {
  const opts = resolveOptions('trellis/neo4j-vector', DEFAULT_NEO4J_VECTOR_OPTIONS, options);
  for (const key of ['label', 'property', 'indexName'] as const) {
    if (!IDENTIFIER.test(opts[key])) {
      throw new ConfigError(`trellis/neo4j-vector: ${key} must be a plain identifier matching ${IDENTIFIER} (got ${JSON.stringify(opts[key])}).`);
    }
  }
  for (const key of ['candidates', 'batchSize'] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 1) {
      throw new ConfigError(`trellis/neo4j-vector: ${key} must be a positive integer (got ${opts[key]}).`);
    }
  }
  return opts;
}

/** The dimension and quantization of an existing vector index, or undefined when there is none of that name. */
async function indexConfig(client: Neo4jClient, indexName: string): Promise<{ dim: number; quantization: boolean } | undefined> {
  const { rows } = await client.read(
    "SHOW INDEXES YIELD name, type, options WHERE name = $name AND type = 'VECTOR' " +
      "RETURN options.indexConfig['vector.dimensions'] AS dim, options.indexConfig['vector.quantization.enabled'] AS quantization",
    { name: indexName });
  return rows.length ? { dim: Number(rows[0].dim), quantization: rows[0].quantization === true } : undefined;
}

/**
 * Creates the cosine vector index for `dim`-float vectors (unless one of that
 * name, dimension and quantization exists; one that differs is dropped first,
 * since vectors of a new model replace the old ones) and waits until it is online.
 */
export async function ensureVectorIndex(client: Neo4jClient, dim: number, options: Neo4jVectorOptions = {}): Promise<void> {
  const { label, property, indexName, quantization } = resolve(options);
  if (!Number.isInteger(dim) || dim < 1 || dim > 4096) {
    throw new DataError(`trellis/neo4j-vector: dim must be an integer from 1 to 4096 (got ${dim}).`);
  }
  const existing = await indexConfig(client, indexName);
  if (existing && existing.dim === dim && existing.quantization === quantization) return;
  if (existing !== undefined) await client.autoCommit(`DROP INDEX ${indexName} IF EXISTS`, {}, 'write');
  // Identifiers were checked above and dim is an integer: nothing here comes from data.
  await client.autoCommit(
    `CREATE VECTOR INDEX ${indexName} IF NOT EXISTS FOR (n:${label}) ON (n.${property}) ` +
      `OPTIONS {indexConfig: {\`vector.dimensions\`: ${dim}, \`vector.similarity_function\`: 'cosine', \`vector.quantization.enabled\`: ${quantization}}}`, {}, 'write');
  await client.autoCommit('CALL db.awaitIndexes(300)', {}, 'read');
}

/**
 * Stores row i of `vectors` ([ids.length, dim], row-major) as the vector
 * property of the node whose id is ids[i], creating the index if needed.
 * Nodes must exist (push the dataset first); ids not found are counted.
 * Returns the number of nodes written and missing.
 */
export async function pushEmbeddings(
  client: Neo4jClient, ids: readonly string[], vectors: Float32Array, dim: number, options: Neo4jVectorOptions = {},
): Promise<{ written: number; missing: number }> {
  const opts = resolve(options);
  if (vectors.length !== ids.length * dim) {
    throw new DataError(`trellis/neo4j-vector: vectors must hold ids.length * dim = ${ids.length} * ${dim} floats (got ${vectors.length}).`);
  }
  await ensureVectorIndex(client, dim, opts);
  // Stored as 32-bit floats, the vector index's own element type.
  const query = `
UNWIND $rows AS row
MATCH (n:${opts.label} {id: row.id})
CALL db.create.setNodeVectorProperty(n, $property, row.vector)
RETURN count(n) AS written`;
  let written = 0;
  const rows = ids.map((id, i) => ({ id, i }));
  for (const batch of batchesOf(rows, opts.batchSize)) {
    const payload = batch.map(({ id, i }) => ({ id, vector: Array.from(vectors.subarray(i * dim, (i + 1) * dim)) }));
    const result = await client.write(query, { rows: payload, property: opts.property });
    written += Number(result.rows[0]?.written ?? 0);
  }
  await client.autoCommit('CALL db.awaitIndexes(300)', {}, 'read');
  return { written, missing: ids.length - written };
}

/** Removes the vector property from every node of the label and drops the index. */
export async function dropEmbeddings(client: Neo4jClient, options: Neo4jVectorOptions = {}): Promise<void> {
  const opts = resolve(options);
  await client.autoCommit(`DROP INDEX ${opts.indexName} IF EXISTS`, {}, 'write');
  for (;;) {
    const { counters } = await client.write(
      `MATCH (n:${opts.label}) WHERE n.${opts.property} IS NOT NULL WITH n LIMIT 10000 REMOVE n.${opts.property}`);
    if (counters.propertiesSet === 0) return;
  }
}

/**
 * k-nearest-neighbour search over the Neo4j vector index, labels being rows
 * of `ids`. Nodes whose id is not in `ids` are passed over. Async, unlike the
 * in-process indexes: every search is a round trip to the server.
 */
export class Neo4jVectorIndex {
  readonly dim: number;
  readonly size: number;
  private readonly client: Neo4jClient;
  private readonly opts: Required<Neo4jVectorOptions>;
  private readonly rowOf: Map<string, number>;

  constructor(client: Neo4jClient, ids: readonly string[], dim: number, options: Neo4jVectorOptions = {}) {
    this.client = client;
    this.dim = dim;
    this.size = ids.length;
    this.opts = resolve(options);
    this.rowOf = new Map(ids.map((id, row) => [id, row]));
  }

  /** The k most similar items to one query vector [dim]. */
  async search(query: Float32Array, k: number): Promise<SearchResult> {
    return (await this.searchBatch(query, k))[0];
  }

  /** The k most similar items to each of the query rows ([q, dim], row-major). */
  async searchBatch(queries: Float32Array, k: number): Promise<SearchResult[]> {
    if (!Number.isInteger(k) || k < 1) throw new DataError(`trellis/neo4j-vector: k must be a positive integer (got ${k}).`);
    if (queries.length % this.dim !== 0 || queries.length === 0) {
      throw new DataError(`trellis/neo4j-vector: queries must hold a whole number of ${this.dim}-float rows (got ${queries.length} floats).`);
    }
    const count = queries.length / this.dim;
    const candidates = Math.max(k, this.opts.candidates);
    const query = `
UNWIND range(0, size($queries) - 1) AS q
CALL db.index.vector.queryNodes($index, $candidates, $queries[q]) YIELD node, score
RETURN q, node.id AS id, score`;
    const results: SearchResult[] = [];
    for (let start = 0; start < count; start += this.opts.batchSize) {
      const end = Math.min(count, start + this.opts.batchSize);
      const rows: number[][] = [];
      for (let q = start; q < end; q++) rows.push(Array.from(queries.subarray(q * this.dim, (q + 1) * this.dim)));
      let found;
      try {
        found = await this.client.read(query, { queries: rows, index: this.opts.indexName, candidates: int(candidates) });
      } catch (error) {
        if (/no such vector schema index|There is no such vector|not found/i.test((error as Error).message)) {
          throw new ServiceError(`trellis/neo4j-vector: the vector index ${this.opts.indexName} does not exist on the server.`, 'Push embeddings first (pushEmbeddings).');
        }
        throw error;
      }
      const perQuery: { label: number; score: number }[][] = rows.map(() => []);
      for (const r of found.rows) {
        const label = this.rowOf.get(r.id as string);
        if (label === undefined) continue;
        perQuery[Number(r.q)].push({ label, score: 2 * Number(r.score) - 1 });
      }
      for (const hits of perQuery) {
        hits.sort((a, b) => b.score - a.score || a.label - b.label);
        const top = hits.slice(0, k);
        results.push({ labels: Uint32Array.from(top, (h) => h.label), scores: Float32Array.from(top, (h) => h.score) });
      }
    }
    return results;
  }
}
