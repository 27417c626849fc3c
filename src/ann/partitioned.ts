/**
 * One index per partition key (a language, or language and channel), behind
 * one search entry point that routes each query to its partition(s).
 *
 * Why separate indexes rather than one index with a filter: hnswlib-node calls
 * a JS filter callback for every node it visits, which makes a search 20-50x
 * slower, and a filter that rejects most of the graph also wrecks recall.
 * Separate graphs cost nothing at query time and keep each search exact to
 * its partition. A query may name several partitions; their top-k lists are
 * merged (each label once, with its best score).
 *
 * Small partitions stay exact: below `exactBelow` items a partition is a
 * brute-force index (a scan of a few hundred rows is as fast as a graph walk,
 * and exact); it becomes HNSW when an `add` takes it past the threshold. Each
 * HNSW partition's seed is derived from the HNSW seed and the partition key,
 * so the build does not depend on the order partitions first appear.
 *
 * A large partition can be split into shards (`shardRows`): separate graphs
 * over disjoint rows, each searched and the results merged. hnswlib-node
 * inserts on one thread, so shards are what lets `addGroupedParallel` build
 * one big partition on several threads; a search costs one graph walk per
 * shard.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveOptions } from '../options.ts';
import { drain, splitRange, transferables, WorkerPool } from '../runtime/workers.ts';
import type { PartitionBuild } from './build-worker.ts';
import { ArtifactError, ConfigError, DataError } from '../errors.ts';
import { deriveSeed } from '../random.ts';
import { artifactPath, openArtifact, REBUILD_HINT, saveArtifact, type ArtifactFile } from './artifact.ts';
import { BruteForceIndex } from './brute-force.ts';
import { checkDim, checkK, checkQueries, checkQuery, checkRows } from './checks.ts';
import { DEFAULT_HNSW_OPTIONS, HnswIndex, hnswParams, type HnswOptions } from './hnsw.ts';
import { emptyResult, mergeResults } from './top-k.ts';
import type { IndexManifest, LoadExpectation, ManifestFile, ManifestPartition, SaveInfo, SearchResult } from './types.ts';

const SCOPE = 'trellis/ann/partitioned';

export interface PartitionedIndexOptions {
  /** Index kind of partitions at or above `exactBelow` items: 'hnsw' or 'brute-force'. Default 'hnsw'. */
  kind?: 'hnsw' | 'brute-force';
  /** Partitions with fewer items stay brute force (exact). Default 1024. */
  exactBelow?: number;
  /** Options of the HNSW partitions; each one's seed is deriveSeed(hnsw.seed, key). Default DEFAULT_HNSW_OPTIONS. */
  hnsw?: HnswOptions;
  /**
   * A new HNSW partition of more rows than this, filled by `addGrouped` or
   * `addGroupedParallel`, is split into equal shards of at most this many
   * rows (0 = never). Default 0.
   */
  shardRows?: number;
}

/** Rows per add in addGrouped (one progress update each). */
const PROGRESS_SLICE = 8192;

export const DEFAULT_PARTITIONED_INDEX_OPTIONS: Readonly<{ kind: 'hnsw' | 'brute-force'; exactBelow: number; hnsw: Readonly<Required<HnswOptions>>; shardRows: number }> = Object.freeze({
  kind: 'hnsw',
  exactBelow: 1024,
  hnsw: DEFAULT_HNSW_OPTIONS,
  shardRows: 0,
});

type Partition = BruteForceIndex | HnswIndex;

/** The partition key of an item: its language, or language and channel ("en/ch-1"). */
export function partitionKey(language: string, channel?: string): string {
  return channel === undefined ? language : `${language}/${channel}`;
}

export class PartitionedIndex {
  readonly dim: number;
  private readonly settings: { kind: 'hnsw' | 'brute-force'; exactBelow: number; hnsw: Required<HnswOptions>; shardRows: number };
  /** The shards of each partition (one for an unsharded partition). */
  private readonly parts = new Map<string, Partition[]>();
  /** Shards unchanged since `load`: the file they came from, which `save` can link instead of rewriting. */
  private readonly origins = new Map<Partition, { dir: string; file: ManifestFile }>();

  constructor(dim: number, options?: PartitionedIndexOptions) {
    checkDim(SCOPE, dim);
    const settings = resolveOptions(SCOPE, DEFAULT_PARTITIONED_INDEX_OPTIONS, options) as PartitionedIndex['settings'];
    if (settings.kind !== 'hnsw' && settings.kind !== 'brute-force') {
      throw new ConfigError(`${SCOPE}: kind must be one of hnsw, brute-force (got ${JSON.stringify(settings.kind)}).`);
    }
    if (!Number.isInteger(settings.exactBelow) || settings.exactBelow < 0) {
      throw new ConfigError(`${SCOPE}: exactBelow must be a non-negative integer (got ${settings.exactBelow}).`);
    }
    if (!Number.isInteger(settings.shardRows) || settings.shardRows < 0) {
      throw new ConfigError(`${SCOPE}: shardRows must be a non-negative integer (got ${settings.shardRows}).`);
    }
    this.dim = dim;
    this.settings = settings;
  }

  /** Total items over all partitions. */
  get size(): number {
    let n = 0;
    for (const shards of this.parts.values()) for (const part of shards) n += part.size;
    return n;
  }

  /** Partition keys, sorted. */
  keys(): string[] {
    return [...this.parts.keys()].sort();
  }

  /** The index behind one partition (its first shard when sharded), if it exists. */
  partition(key: string): BruteForceIndex | HnswIndex | undefined {
    return this.parts.get(key)?.[0];
  }

  /** The shards of one partition, in order (none when it does not exist). */
  shards(key: string): readonly (BruteForceIndex | HnswIndex)[] {
    return this.parts.get(key) ?? [];
  }

  /** Adds rows to partition `key` (created on first use; its last shard when sharded). Labels must be unique within a partition. */
  add(key: string, vectors: Float32Array, labels: Uint32Array): void {
    checkRows(SCOPE, vectors, labels, this.dim);
    if (labels.length === 0) return;
    const shards = this.parts.get(key) ?? [];
    const last = Math.max(0, shards.length - 1);
    let part = shards[last];
    const total = (part?.size ?? 0) + labels.length;
    if (part === undefined) {
      part = total < this.settings.exactBelow || this.settings.kind === 'brute-force' ? new BruteForceIndex(this.dim, { capacity: labels.length }) : this.newHnsw(key, last, total);
    } else if (part instanceof BruteForceIndex && this.settings.kind === 'hnsw' && total >= this.settings.exactBelow) {
      const graph = this.newHnsw(key, last, total);
      graph.add(part.vectors(), part.labels());
      part = graph;
    }
    part.add(vectors, labels);
    this.origins.delete(part);
    shards[last] = part;
    this.parts.set(key, shards);
  }

  /**
   * The stored unit-length vectors of `labels`, row-major [labels.length, dim],
   * from whichever partition holds each: what the index already knows, so
   * callers need not encode the items again. Every label must be live in the
   * partition `keys[i]` names.
   */
  vectorsOf(labels: ArrayLike<number>, keys: readonly string[]): Float32Array {
    const out = new Float32Array(labels.length * this.dim);
    const byShard = new Map<Partition, { labels: number[]; at: number[] }>();
    for (let i = 0; i < labels.length; i++) {
      const part = this.shardOf(keys[i], labels[i]);
      if (!part) throw new RangeError(`${SCOPE}: label ${labels[i]} is not in partition ${JSON.stringify(keys[i])}.`);
      const group = byShard.get(part) ?? { labels: [], at: [] };
      group.labels.push(labels[i]);
      group.at.push(i);
      byShard.set(part, group);
    }
    for (const [part, group] of byShard) part.copyVectors(group.labels, out, group.at);
    return out;
  }

  /** The shard of partition `key` holding `label`, if any. */
  private shardOf(key: string, label: number): Partition | undefined {
    return this.shards(key).find((part) => part.has(label));
  }

  /**
   * Puts rows into partition `key`: a label one of its shards holds already
   * gets the new vector in place (a removed one is revived); new labels are
   * added as by `add`.
   */
  upsert(key: string, vectors: Float32Array, labels: Uint32Array): void {
    checkRows(SCOPE, vectors, labels, this.dim);
    const byShard = new Map<Partition, number[]>();
    const fresh: number[] = [];
    labels.forEach((label, i) => {
      const part = this.shardOf(key, label);
      if (!part) fresh.push(i);
      else if (byShard.has(part)) byShard.get(part)!.push(i);
      else byShard.set(part, [i]);
    });
    for (const [part, rows] of byShard) {
      part.upsert(...gatherRows(vectors, labels, rows, this.dim));
      this.origins.delete(part);
    }
    if (fresh.length) this.add(key, ...gatherRows(vectors, labels, fresh, this.dim));
  }

  /** Removes items from partition `key` (from whichever shard holds them); searches never return them again. */
  remove(key: string, labels: Uint32Array): void {
    for (const part of this.shards(key)) {
      const held = labels.filter((label) => part.has(label));
      if (held.length === 0) continue;
      part.remove(held);
      this.origins.delete(part);
    }
  }

  /**
   * Adds row i of `vectors` to partition `keys[i]`, for every row, in slices
   * of `PROGRESS_SLICE` rows, calling `onProgress` after each.
   */
  addGrouped(vectors: Float32Array, labels: Uint32Array, keys: readonly string[], onProgress?: (done: number, total: number) => void): void {
    this.checkGrouped(vectors, labels, keys);
    let done = 0;
    const fill = (rows: number[], slice: number, add: (part: Float32Array, partLabels: Uint32Array) => void) => {
      for (let start = 0; start < rows.length; start += slice) {
        const piece = rows.slice(start, start + slice);
        add(...gatherRows(vectors, labels, piece, this.dim));
        done += piece.length;
        onProgress?.(done, labels.length);
      }
    };
    for (const [key, rows] of groupRows(keys)) {
      const pieces = this.shardPlan(key, rows);
      if (pieces.length > 1) {
        // A sharded partition: each shard its own graph.
        const shards = pieces.map((piece, i) => this.newHnsw(key, i, piece.length));
        pieces.forEach((piece, i) => fill(piece, PROGRESS_SLICE, (part, partLabels) => shards[i].add(part, partLabels)));
        this.parts.set(key, shards);
      } else {
        // Slices are at least exactBelow rows, so a partition's kind is decided as for one add.
        fill(rows, Math.max(PROGRESS_SLICE, this.settings.exactBelow), (part, partLabels) => this.add(key, part, partLabels));
      }
    }
  }

  /**
   * The rows of each shard of a partition about to be filled with `rows`:
   * equal contiguous pieces of at most `shardRows` for a new HNSW partition,
   * else one piece.
   */
  private shardPlan(key: string, rows: number[]): number[][] {
    const { shardRows, kind, exactBelow } = this.settings;
    if (shardRows === 0 || kind !== 'hnsw' || this.parts.has(key) || rows.length <= shardRows || rows.length < exactBelow) return [rows];
    return splitRange(rows.length, Math.ceil(rows.length / shardRows)).map(([a, b]) => rows.slice(a, b));
  }

  /**
   * `addGrouped` with the new HNSW partitions built side by side on `workers`
   * threads (0 = one per core), largest first; each worker writes its graph
   * to a temporary file that is read back here. The graphs equal those of
   * `addGrouped` (same rows, order and seeds). Partitions that exist already,
   * or stay brute force, are filled on this thread.
   */
  async addGroupedParallel(vectors: Float32Array, labels: Uint32Array, keys: readonly string[], options: { workers?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<void> {
    this.checkGrouped(vectors, labels, keys);
    const groups = [...groupRows(keys)];
    // One build per shard of every new HNSW partition, largest first.
    const builds = groups
      .filter(([key, rows]) => this.settings.kind === 'hnsw' && !this.parts.has(key) && rows.length >= this.settings.exactBelow)
      .flatMap(([key, rows]) => this.shardPlan(key, rows).map((piece, shard, all) => ({ key, shard, shards: all.length, rows: piece })))
      .sort((a, b) => b.rows.length - a.rows.length);
    const pool = new WorkerPool({ size: Math.min(options.workers || availableParallelism(), builds.length) });
    if (builds.length < 2 || pool.size < 2) return this.addGrouped(vectors, labels, keys, options.onProgress);
    const dim = this.dim;
    const built = new Map<string, number>();
    const report = () => options.onProgress?.([...built.values()].reduce((a, b) => a + b, 0), labels.length);
    for (const [key, rows] of groups) {
      if (builds.some((b) => b.key === key)) continue;
      this.add(key, ...gatherRows(vectors, labels, rows, dim));
      built.set(key, rows.length);
      report();
    }
    const shards = new Map<string, HnswIndex[]>();
    const dir = mkdtempSync(join(tmpdir(), 'trellis-hnsw-'));
    try {
      await drain(builds, pool.size, async (build, i) => {
        const [part, partLabels] = gatherRows(vectors, labels, build.rows, dim);
        const path = join(dir, `part-${i}.hnsw`);
        const partOptions = this.hnswOptions(build.key, build.shard, build.rows.length);
        const input: PartitionBuild = { dim, options: partOptions, vectors: part, labels: partLabels, path };
        const progressKey = `${build.key}\u0000${build.shard}`;
        await pool.run(new URL('./build-worker.ts', import.meta.url), 'buildPartition', input, {
          transfer: transferables([part, partLabels]),
          onProgress: (done) => {
            built.set(progressKey, done as number);
            report();
          },
        });
        if (!shards.has(build.key)) shards.set(build.key, new Array(build.shards));
        shards.get(build.key)![build.shard] = HnswIndex.readFile(path, dim, partOptions);
        rmSync(path, { force: true });
      });
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
    // Partitions in order of first appearance, as addGrouped leaves them.
    for (const [key] of groups) if (shards.has(key)) this.parts.set(key, shards.get(key)!);
  }

  private checkGrouped(vectors: Float32Array, labels: Uint32Array, keys: readonly string[]): void {
    checkRows(SCOPE, vectors, labels, this.dim);
    if (keys.length !== labels.length) {
      throw new DataError(`${SCOPE}: keys must have one entry per row, ${labels.length} (got ${keys.length}).`);
    }
  }

  /**
   * The k most similar items to `query` within partition `keys`, or within
   * several partitions merged. A partition that does not exist contributes
   * nothing (a language with no items yet is not an error).
   */
  search(query: Float32Array, k: number, keys: string | readonly string[]): SearchResult {
    checkQuery(SCOPE, query, this.dim);
    checkK(SCOPE, k);
    const list = typeof keys === 'string' ? [keys] : keys;
    const found: SearchResult[] = [];
    for (const key of list) {
      for (const part of this.shards(key)) if (part.size > 0) found.push(part.search(query, k));
    }
    return found.length === 0 ? emptyResult() : mergeResults(found, k);
  }

  /**
   * Searches every row of `queries` ([Q, dim]); `routes[q]` names query q's
   * partition(s), or one key routes every query. Queries that share a route
   * are searched together. Results are in query order.
   */
  searchBatch(queries: Float32Array, k: number, routes: string | readonly (string | readonly string[])[]): SearchResult[] {
    const count = checkQueries(SCOPE, queries, this.dim);
    checkK(SCOPE, k);
    if (typeof routes !== 'string' && routes.length !== count) {
      throw new DataError(`${SCOPE}: routes must have one entry per query, ${count} (got ${routes.length}).`);
    }
    const dim = this.dim;
    const out: SearchResult[] = new Array(count);
    const routeOf = (q: number) => (typeof routes === 'string' ? routes : routes[q]);
    const groups = groupRows(Array.from({ length: count }, (_, q) => routeKey(routeOf(q))));
    for (const rows of groups.values()) {
      const route = routeOf(rows[0]);
      const keys = typeof route === 'string' ? [route] : route;
      const block = new Float32Array(rows.length * dim);
      rows.forEach((q, i) => block.set(queries.subarray(q * dim, (q + 1) * dim), i * dim));
      const perPartition: SearchResult[][] = [];
      for (const key of keys) {
        for (const part of this.shards(key)) if (part.size > 0) perPartition.push(part.searchBatch(block, k));
      }
      rows.forEach((q, i) => {
        out[q] = perPartition.length === 0 ? emptyResult() : mergeResults(perPartition.map((r) => r[i]), k);
      });
    }
    return out;
  }

  /** Saves every partition into folder `dir` (one data file each + manifest.json). */
  save(dir: string, info: SaveInfo): IndexManifest {
    const partitions: ManifestPartition[] = [];
    const files: ArtifactFile[] = [];
    for (const key of this.keys()) {
      this.shards(key).forEach((part, shard, all) => {
        const kind = part instanceof HnswIndex ? 'hnsw' : 'brute-force';
        const file = `part-${String(partitions.length).padStart(4, '0')}.${kind === 'hnsw' ? 'hnsw' : 'bin'}`;
        partitions.push({ key, kind, file, count: part.size, ...(all.length > 1 ? { shard } : {}) });
        // A shard unchanged since it was loaded from another folder is linked, not written again.
        const origin = this.origins.get(part);
        const from = origin && resolve(origin.dir) !== resolve(dir) ? { path: join(origin.dir, origin.file.name), bytes: origin.file.bytes, sha256: origin.file.sha256 } : undefined;
        files.push(from ? { name: file, from } : { name: file, write: (tmp) => part.writeFile(tmp) });
      });
    }
    return saveArtifact(
      dir,
      {
        kind: 'partitioned',
        dimension: this.dim,
        count: this.size,
        params: structuredClone(this.settings),
        modelId: info.modelId,
        seed: info.seed ?? null,
        partitions,
        meta: info.meta,
      },
      files,
    );
  }

  /**
   * Loads an index saved by `save`, checking it against `expect` (ArtifactError
   * on mismatch or corruption). `efSearch` overrides the saved value.
   */
  static load(dir: string, expect?: LoadExpectation, overrides?: Pick<HnswOptions, 'efSearch'>): PartitionedIndex {
    const manifest = openArtifact(dir, { ...expect, kind: 'partitioned' });
    const params = manifest.params as { kind?: unknown; exactBelow?: unknown; hnsw?: Record<string, unknown>; shardRows?: unknown };
    const hnsw = hnswParams(params.hnsw ?? {}, overrides);
    const index = new PartitionedIndex(manifest.dimension, {
      kind: params.kind === 'brute-force' ? 'brute-force' : 'hnsw',
      exactBelow: typeof params.exactBelow === 'number' ? params.exactBelow : DEFAULT_PARTITIONED_INDEX_OPTIONS.exactBelow,
      hnsw,
      shardRows: typeof params.shardRows === 'number' ? params.shardRows : 0,
    });
    for (const entry of manifest.partitions ?? []) {
      if (entry.shard !== undefined && !(Number.isInteger(entry.shard) && entry.shard >= 0)) {
        throw new ArtifactError(`${SCOPE}: partition ${JSON.stringify(entry.key)} in ${dir} must have a non-negative integer shard (got ${JSON.stringify(entry.shard)}).`, REBUILD_HINT);
      }
      const path = artifactPath(dir, entry.file);
      const part =
        entry.kind === 'hnsw'
          ? HnswIndex.readFile(path, manifest.dimension, index.hnswOptions(entry.key, entry.shard ?? 0, entry.count))
          : BruteForceIndex.readFile(path, manifest.dimension, entry.count);
      if (part.size !== entry.count) {
        throw new ArtifactError(`${SCOPE}: partition ${JSON.stringify(entry.key)} in ${dir} must hold ${entry.count} vectors as its manifest says (got ${part.size}).`, REBUILD_HINT);
      }
      const shards = index.parts.get(entry.key) ?? [];
      shards[entry.shard ?? 0] = part;
      index.parts.set(entry.key, shards);
      const file = manifest.files.find((f) => f.name === entry.file);
      if (file) index.origins.set(part, { dir, file });
    }
    for (const [key, shards] of index.parts) {
      if (Array.from(shards).some((part) => part === undefined)) {
        throw new ArtifactError(`${SCOPE}: partition ${JSON.stringify(key)} in ${dir} must list every shard from 0 to ${shards.length - 1} in its manifest (got a gap).`, REBUILD_HINT);
      }
    }
    return index;
  }

  /** Options of shard `shard` of partition `key`: shard 0 has the partition's seed (as an unsharded partition), others their own. */
  private hnswOptions(key: string, shard: number, capacity: number): Required<HnswOptions> {
    return { ...this.settings.hnsw, seed: deriveSeed(this.settings.hnsw.seed, shard === 0 ? key : `${key}#${shard}`), capacity: Math.max(capacity, 1) };
  }

  private newHnsw(key: string, shard: number, capacity: number): HnswIndex {
    return new HnswIndex(this.dim, this.hnswOptions(key, shard, capacity));
  }
}

/** Rows `rows` of `vectors` and `labels`, copied into new arrays. */
function gatherRows(vectors: Float32Array, labels: Uint32Array, rows: readonly number[], dim: number): [Float32Array, Uint32Array] {
  const part = new Float32Array(rows.length * dim);
  const partLabels = new Uint32Array(rows.length);
  rows.forEach((row, i) => {
    part.set(vectors.subarray(row * dim, (row + 1) * dim), i * dim);
    partLabels[i] = labels[row];
  });
  return [part, partLabels];
}

/** Row numbers grouped by key, keys in first-seen order. */
function groupRows(keys: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  keys.forEach((key, row) => {
    const rows = groups.get(key);
    if (rows) rows.push(row);
    else groups.set(key, [row]);
  });
  return groups;
}

/** A map key for a route (one partition key, or several). */
function routeKey(route: string | readonly string[]): string {
  return typeof route === 'string' ? route : `\u0000${route.join('\u0000')}`;
}
