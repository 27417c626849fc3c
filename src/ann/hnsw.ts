/**
 * Approximate cosine nearest neighbours with a Hierarchical Navigable Small
 * World graph: Malkov & Yashunin, "Efficient and robust approximate nearest
 * neighbor search using Hierarchical Navigable Small World graphs" (TPAMI
 * 2018), through hnswlib-node (hnswlib's C++ behind N-API).
 *
 * hnswlib-node takes `number[]` vectors, so rows are copied into one reused
 * array at this boundary and nowhere else. Searches go through
 * `searchKnnBatch` (a Float32Array of queries in one call; added by
 * scripts/hnswlib/search-batch.patch when the addon is built) where the
 * addon has it, one `searchKnn` call per query where it does not. It is
 * single-threaded, and a JS filter callback runs once per visited node
 * (20-50x slower searches), so trellis never filters: items that must not
 * mix (languages, channels) go into separate indexes, see ./partitioned.ts.
 *
 * Space 'cosine': hnswlib normalises every vector and returns 1 - <q, x> as
 * the distance; scores reported here are 1 - distance, the cosine similarity.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import hnswlib from 'hnswlib-node';
import type { HierarchicalNSW } from 'hnswlib-node';
import { resolveOptions } from '../options.ts';
import { ArtifactError, ConfigError } from '../errors.ts';
import { artifactPath, openArtifact, REBUILD_HINT, saveArtifact } from './artifact.ts';
import { normalizeRows } from './brute-force.ts';
import { checkDim, checkK, checkNewLabels, checkQueries, checkQuery, checkRows } from './checks.ts';
import { emptyResult } from './top-k.ts';
import type { IndexManifest, LoadExpectation, SaveInfo, SearchResult, VectorIndex } from './types.ts';

const SCOPE = 'trellis/ann/hnsw';

/** What scripts/hnswlib/search-batch.patch adds to hnswlib-node's HierarchicalNSW. */
interface BatchSearch {
  /** n queries [n x dim] -> [n x k] each, nearest first; rows with fewer results padded with NaN and NO_NEIGHBOR. */
  searchKnnBatch(queries: Float32Array, k: number): { distances: Float32Array; neighbors: Uint32Array };
}
const NO_NEIGHBOR = 0xffffffff;
export const HNSW_FILE = 'index.hnsw';

export interface HnswOptions {
  /** HNSW's M: links kept per node on each upper layer (2M on the base layer). Default 16. */
  m?: number;
  /** Size of the candidate list while inserting; higher builds a better graph, slower. Default 200. */
  efConstruction?: number;
  /**
   * Size of the candidate list while searching (hnswlib uses max(efSearch, k));
   * the recall/speed knob. Default 128: recall@10 >= 0.97 on 5,000 iid Gaussian
   * 64-d vectors (the hard case) and 1.0 on clustered data; see BENCHMARKS-ann.md.
   */
  efSearch?: number;
  /** Seed of the random level assignment; derive it from the run seed (`deriveSeed(seed, 'hnsw')`). Default 100. */
  seed?: number;
  /** Rows to allocate up front; the index doubles when it fills. Default 1024. */
  capacity?: number;
}

export const DEFAULT_HNSW_OPTIONS: Readonly<Required<HnswOptions>> = Object.freeze({
  m: 16,
  efConstruction: 200,
  efSearch: 128,
  seed: 100,
  capacity: 1024,
});

export class HnswIndex implements VectorIndex {
  readonly dim: number;
  private readonly settings: Required<HnswOptions>;
  private readonly index: HierarchicalNSW;
  private readonly seen = new Set<number>();
  /** The one `number[]` that crosses into hnswlib-node. */
  private readonly boundary: number[];

  /** An empty index. `fromFile` passes a loaded native index instead. */
  constructor(dim: number, options?: HnswOptions, loaded?: HierarchicalNSW) {
    checkDim(SCOPE, dim);
    const settings = resolveOptions(SCOPE, DEFAULT_HNSW_OPTIONS, options);
    for (const key of ['m', 'efConstruction', 'efSearch', 'capacity'] as const) {
      if (!Number.isInteger(settings[key]) || settings[key] < 1) {
        throw new ConfigError(`${SCOPE}: ${key} must be a positive integer (got ${settings[key]}).`);
      }
    }
    if (!Number.isInteger(settings.seed) || settings.seed < 0) throw new ConfigError(`${SCOPE}: seed must be a non-negative integer (got ${settings.seed}).`);
    this.dim = dim;
    this.settings = settings;
    this.boundary = new Array<number>(dim).fill(0);
    if (loaded) {
      this.index = loaded;
      for (const label of loaded.getIdsList()) this.seen.add(label);
    } else {
      this.index = new hnswlib.HierarchicalNSW('cosine', dim);
      this.index.initIndex(settings.capacity, settings.m, settings.efConstruction, settings.seed);
    }
    this.index.setEf(settings.efSearch);
  }

  get size(): number {
    return this.index.getCurrentCount();
  }

  /** The resolved options (efSearch reflects `setEfSearch`). */
  get options(): Readonly<Required<HnswOptions>> {
    return { ...this.settings };
  }

  /** Changes the search-time candidate list size. */
  setEfSearch(efSearch: number): void {
    if (!Number.isInteger(efSearch) || efSearch < 1) throw new ConfigError(`${SCOPE}: efSearch must be a positive integer (got ${efSearch}).`);
    this.settings.efSearch = efSearch;
    this.index.setEf(efSearch);
  }

  add(vectors: Float32Array, labels: Uint32Array): void {
    const { dim } = this;
    checkRows(SCOPE, vectors, labels, dim);
    // hnswlib normalises too; doing it here also rejects NaN and Infinity.
    const unit = normalizeRows(SCOPE, vectors, labels, dim);
    checkNewLabels(SCOPE, labels, this.seen);
    const needed = this.size + labels.length;
    const capacity = this.index.getMaxElements();
    if (needed > capacity) this.index.resizeIndex(Math.max(needed, 2 * capacity));
    const row = this.boundary;
    for (let r = 0; r < labels.length; r++) {
      const base = r * dim;
      for (let j = 0; j < dim; j++) row[j] = unit[base + j];
      this.index.addPoint(row, labels[r]);
    }
  }

  /** The stored (unit-length) vector of each label into `out` at row `at[i]`; labels must be in the index. */
  copyVectors(labels: ArrayLike<number>, out: Float32Array, at: ArrayLike<number>): void {
    const { dim } = this;
    for (let i = 0; i < labels.length; i++) {
      const point = this.index.getPoint(labels[i]);
      const base = at[i] * dim;
      for (let j = 0; j < dim; j++) out[base + j] = point[j];
    }
  }

  /** Whether an item with `label` was ever added (a removed one still counts: hnswlib keeps it, marked deleted). */
  has(label: number): boolean {
    return this.seen.has(label);
  }

  /**
   * Adds rows; a label already in the index gets the new vector in place
   * (hnswlib's update, which also revives a removed item).
   */
  upsert(vectors: Float32Array, labels: Uint32Array): void {
    const { dim } = this;
    checkRows(SCOPE, vectors, labels, dim);
    const unit = normalizeRows(SCOPE, vectors, labels, dim);
    const fresh = Array.from(labels).filter((l) => !this.seen.has(l)).length;
    const capacity = this.index.getMaxElements();
    if (this.size + fresh > capacity) this.index.resizeIndex(Math.max(this.size + fresh, 2 * capacity));
    const row = this.boundary;
    for (let r = 0; r < labels.length; r++) {
      for (let j = 0; j < dim; j++) row[j] = unit[r * dim + j];
      this.index.addPoint(row, labels[r]);
      this.seen.add(labels[r]);
    }
  }

  /**
   * Marks items deleted: searches never return them, their nodes stay in the
   * graph (hnswlib's markDelete). Labels not in the index are ignored; the
   * caller removes each live label once.
   */
  remove(labels: Uint32Array): void {
    for (const label of labels) if (this.seen.has(label)) this.index.markDelete(label);
  }

  search(query: Float32Array, k: number): SearchResult {
    checkQuery(SCOPE, query, this.dim);
    checkK(SCOPE, k);
    return this.searchRows(query, 1, k)[0];
  }

  searchBatch(queries: Float32Array, k: number): SearchResult[] {
    const rows = checkQueries(SCOPE, queries, this.dim);
    checkK(SCOPE, k);
    return this.searchRows(queries, rows, k);
  }

  /** Writes hnswlib's index file to `path`. */
  writeFile(path: string): void {
    this.index.writeIndexSync(path);
  }

  /**
   * Reads an hnswlib index file holding vectors of `dim` (the file does not
   * record it: `load` checks it against the manifest first). `options`
   * restores efSearch and the recorded parameters (M and efConstruction live
   * in the file).
   */
  static readFile(path: string, dim: number, options?: HnswOptions): HnswIndex {
    const native = new hnswlib.HierarchicalNSW('cosine', dim);
    try {
      native.readIndexSync(path);
    } catch (error) {
      throw new ArtifactError(`${SCOPE}: ${path} must be a readable hnswlib index (got ${(error as Error).message}).`, REBUILD_HINT);
    }
    return new HnswIndex(dim, options, native);
  }

  /** Saves the index into folder `dir` (index.hnsw + manifest.json), atomically per file. */
  save(dir: string, info: SaveInfo): IndexManifest {
    return saveArtifact(
      dir,
      { kind: 'hnsw', dimension: this.dim, count: this.size, params: { ...this.settings }, modelId: info.modelId, seed: info.seed ?? null, meta: info.meta },
      [{ name: HNSW_FILE, write: (tmp) => this.writeFile(tmp) }],
    );
  }

  /**
   * Loads an index saved by `save`, checking it against `expect` (ArtifactError
   * on mismatch or corruption). `efSearch` overrides the saved value.
   */
  static load(dir: string, expect?: LoadExpectation, overrides?: Pick<HnswOptions, 'efSearch'>): HnswIndex {
    const manifest = openArtifact(dir, { ...expect, kind: 'hnsw' });
    const index = HnswIndex.readFile(artifactPath(dir, manifest.files[0].name), manifest.dimension, hnswParams(manifest.params, overrides));
    if (index.size !== manifest.count) {
      throw new ArtifactError(`${SCOPE}: the index in ${dir} must hold ${manifest.count} vectors as its manifest says (got ${index.size}).`, REBUILD_HINT);
    }
    return index;
  }

  /** The `rows` queries of `queries` [rows x dim, checked]: one addon call when the addon has searchKnnBatch. */
  private searchRows(queries: Float32Array, rows: number, k: number): SearchResult[] {
    const size = this.size;
    if (size === 0) return Array.from({ length: rows }, emptyResult);
    const native = this.index as HierarchicalNSW & Partial<BatchSearch>;
    if (typeof native.searchKnnBatch !== 'function') {
      return Array.from({ length: rows }, (_, q) => this.searchRow(queries, q * this.dim, k));
    }
    const width = Math.min(k, size);
    const { distances, neighbors } = native.searchKnnBatch(queries, width); // [rows * width] each, nearest first
    const scores = distances; // the addon's fresh array, turned into cosines in place
    for (let i = 0; i < scores.length; i++) scores[i] = 1 - scores[i];
    // Views into the two arrays: one allocation per call, not two per query.
    const results: SearchResult[] = new Array(rows);
    for (let q = 0; q < rows; q++) {
      const from = q * width;
      let found = 0;
      while (found < width && neighbors[from + found] !== NO_NEIGHBOR) found++;
      results[q] = { labels: neighbors.subarray(from, from + found), scores: scores.subarray(from, from + found) };
    }
    return results;
  }

  private searchRow(queries: Float32Array, offset: number, k: number): SearchResult {
    const size = this.size;
    if (size === 0) return emptyResult();
    const row = this.boundary;
    for (let j = 0; j < this.dim; j++) row[j] = queries[offset + j];
    const { distances, neighbors } = this.index.searchKnn(row, Math.min(k, size));
    const n = neighbors.length;
    const labels = new Uint32Array(n);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = neighbors[i];
      scores[i] = 1 - distances[i];
    }
    return { labels, scores };
  }
}

/** HnswOptions from a manifest's params (unknown keys dropped), with overrides. */
export function hnswParams(params: Record<string, unknown>, overrides?: Pick<HnswOptions, 'efSearch'>): HnswOptions {
  const out: HnswOptions = {};
  for (const key of Object.keys(DEFAULT_HNSW_OPTIONS) as Array<keyof HnswOptions>) {
    if (typeof params[key] === 'number') out[key] = params[key] as number;
  }
  if (overrides?.efSearch !== undefined) out.efSearch = overrides.efSearch;
  return out;
}

/** How the hnswlib-node addon was compiled (scripts/hnswlib/build.sh records it), or undefined when it does not say. */
export interface HnswlibBuild {
  version: string;
  /** 'native' (-march=native: the SIMD this CPU has) or 'portable' (the compiler's default, SSE). */
  march?: string;
  flags?: string;
  compiler?: string;
  /** SIMD the build uses, e.g. ['sse', 'avx', 'avx2', 'avx512f']. */
  simd?: string[];
  /** Whether the addon has searchKnnBatch (scripts/hnswlib/search-batch.patch). */
  searchBatch: boolean;
}

/** The hnswlib-node package's version and the record of its build, when there is one. */
export function hnswlibBuild(): HnswlibBuild {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('hnswlib-node/package.json'));
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const record = join(root, 'build', 'Release', 'trellis-build.json');
  const searchBatch = typeof (hnswlib.HierarchicalNSW.prototype as Partial<BatchSearch>).searchKnnBatch === 'function';
  if (!existsSync(record)) return { version, searchBatch };
  try {
    const built = JSON.parse(readFileSync(record, 'utf8')) as Omit<HnswlibBuild, 'version'>;
    return { version, march: built.march, flags: built.flags, compiler: built.compiler, simd: built.simd, searchBatch };
  } catch {
    return { version, searchBatch };
  }
}
