/**
 * ANN benchmark: HNSW build speed (inserts/s) and query speed (queries/s) at
 * the recall@10 it reaches for several efSearch values, against the exact
 * brute-force index as the answer key. Prints a markdown table.
 *
 *   node --import tsx scripts/bench-ann.ts --rows 100000 --dim 128 --queries 500
 *
 * Single-threaded (hnswlib-node has no parallel insert); keep other load off
 * the machine for stable numbers.
 */
import { parseArgs } from 'node:util';
import { BruteForceIndex, HnswIndex, searchRecall } from '../src/index.ts';
import { syntheticVectors } from '../src/internal.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '128' },
    queries: { type: 'string', default: '500' },
    data: { type: 'string', default: 'random,clustered' },
    clusters: { type: 'string', default: '1000' },
    spread: { type: 'string', default: '0.5' },
    m: { type: 'string', default: '16' },
    'ef-construction': { type: 'string', default: '200' },
    ef: { type: 'string', default: '16,32,64,128,256' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '42' },
  },
  strict: true,
});

const list = (s: string) => s.split(',').map((x) => Number(x.trim()));
const rows = Number(values.rows);
const dim = Number(values.dim);
const queryCount = Number(values.queries);
const k = Number(values.k);
const seed = Number(values.seed);
const efConstruction = Number(values['ef-construction']);

const header = '| data | rows x dim | M | efConstruction | build s | inserts/s | efSearch | recall@10 | queries/s |';
const lines = [header, '|---|---|---|---|---|---|---|---|---|'];
const print = (line: string) => {
  lines.push(line);
  process.stderr.write(line + '\n');
};

for (const kind of values.data.split(',')) {
  const clusters = kind === 'clustered' ? Number(values.clusters) : 0;
  const spread = Number(values.spread);
  const all = syntheticVectors({ rows: rows + queryCount, dim, clusters, spread, seed });
  const data = all.subarray(0, rows * dim);
  const queries = all.subarray(rows * dim);
  const labels = Uint32Array.from({ length: rows }, (_, i) => i);
  const label = clusters > 0 ? `${clusters} clusters, spread ${spread}` : 'random normal';

  const exact = new BruteForceIndex(dim, { capacity: rows });
  exact.add(data, labels);
  let t = performance.now();
  const truth = exact.searchBatch(queries, k);
  const bruteQps = queryCount / ((performance.now() - t) / 1000);
  print(`| ${label} | ${rows} x ${dim} | brute force | - | - | - | exact | 1.000 | ${bruteQps.toFixed(0)} |`);

  for (const m of list(values.m)) {
    const index = new HnswIndex(dim, { m, efConstruction, seed, capacity: rows });
    t = performance.now();
    index.add(data, labels);
    const build = (performance.now() - t) / 1000;
    for (const ef of list(values.ef)) {
      index.setEfSearch(ef);
      index.searchBatch(queries.subarray(0, 20 * dim), k); // warm-up
      t = performance.now();
      const found = index.searchBatch(queries, k);
      const qps = queryCount / ((performance.now() - t) / 1000);
      print(`| ${label} | ${rows} x ${dim} | ${m} | ${efConstruction} | ${build.toFixed(1)} | ${(rows / build).toFixed(0)} | ${ef} | ${searchRecall(found, truth, k).toFixed(3)} | ${qps.toFixed(0)} |`);
    }
  }
}

process.stdout.write(lines.join('\n') + '\n');
