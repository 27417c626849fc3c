/**
 * trellis's HNSW index (src/ann/hnsw.ts over hnswlib-node) against hnswlib
 * from Python (PyPI), side by side in one run, on the same vectors and
 * parameters: M, efConstruction, the level seed, cosine space, k, and an
 * efSearch sweep; build time, inserts/s, and queries/s at the recall@k each
 * reaches against the exact top k (trellis's brute-force index).
 *
 *   bash scripts/peer/setup-hnswlib.sh      # once: venv in /work/pyref/hnsw-venv
 *   node --import tsx scripts/bench-ann-peer.ts [--sets clustered,trellis] [--rows 100000]
 *
 * Sets: `clustered`: --rows synthetic 128-d rows around 1,000 Gaussian
 * centres (src/ann/synthetic.ts), --queries held-out rows as queries;
 * `trellis`: real embeddings from a trained model folder (--model, trained on
 * --data): every content item's embedding as the rows, every topic's query
 * embedding as the queries.
 *
 * Vectors go to Python as float32 .npy files (and the exact labels as uint32).
 * Python runs twice when the portable build exists: hnswlib built the PyPI
 * way (-march=native: AVX-512 here) and built for the x86-64 baseline (SSE
 * only), which is how npm's node-gyp builds hnswlib-node (scripts/hnswlib/build.sh
 * rebuilds it for this CPU; the trellis label says which build ran). Everything is single
 * threaded except one extra Python build with 2 threads (hnswlib's parallel
 * insert, which hnswlib-node does not expose). trellis is measured first and
 * again last, so drifting load shows.
 *
 * Then paired rounds (--paired-rounds, default 15): a Python process keeps
 * its native build's index and answers one timed round of its batch search
 * per request, and trellis times one round of its own between them, at the
 * efs that first reach each --targets recall (order swapped every round).
 * Each round gives a ratio measured within seconds on the same machine, so
 * the machine's drifting speed, which moved whole runs by 20-30%, cancels;
 * the verdict reads the median of the rounds' ratios and their spread.
 * Results: work/bench/ann-peer.json and markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';
import { writeNpy } from './peer/npy.ts';
import { LineServer, pairedRounds, summarize, type PairedRound } from './peer/paired.ts';
import { BruteForceIndex, HnswIndex, searchRecall, UsageError, type SearchResult } from '../src/index.ts';
import { syntheticVectors } from '../src/internal.ts';

const NAME = 'bench-ann-peer';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const PEER = join(REPO, 'scripts', 'peer', 'hnswlib_peer.py');

interface VectorSet {
  name: string;
  base: Float32Array;
  queries: Float32Array;
  rows: number;
  dim: number;
  note: string;
}

interface Point {
  ef: number;
  recall: number;
  queriesPerSecond: number;
}

interface Side {
  name: string;
  /** Column head of the sweep table. */
  short: string;
  build: { seconds: number; insertsPerSecond: number; threads: number }[];
  search: Point[];
}

/** Median seconds per call over `repeats` rounds of at least `minSeconds` each. */
function timed<T>(run: () => T, minSeconds: number, repeats: number): { seconds: number; value: T } {
  const rounds: number[] = [];
  let value!: T;
  for (let r = 0; r < repeats; r++) {
    let calls = 0;
    const t0 = performance.now();
    let elapsed = 0;
    do {
      value = run();
      calls++;
      elapsed = (performance.now() - t0) / 1000;
    } while (elapsed < minSeconds);
    rounds.push(elapsed / calls);
  }
  rounds.sort((a, b) => a - b);
  return { seconds: rounds[Math.floor(rounds.length / 2)], value };
}

async function trellisEmbeddings(modelDir: string, dataDir: string): Promise<VectorSet> {
  const { buildForest, embedContentParallel, initRuntime, loadDataset, loadRetriever, openModel, topicQueries } = await import('../src/index.ts');
  await initRuntime();
  const dataset = await loadDataset(dataDir);
  const forest = buildForest(dataset);
  const retriever = await loadRetriever(await openModel(modelDir), dataset, forest);
  try {
    const base = await embedContentParallel(retriever.model, retriever.data);
    const topics = Uint32Array.from(dataset.topics.keys());
    const queries = topicQueries(retriever.model, retriever.data, topics, retriever.meta.config.graphsage.fanouts, retriever.meta.seed);
    const dim = retriever.model.shape.encoder.dim;
    return { name: `trellis embeddings (${dataDir})`, base, queries, rows: dataset.content.length, dim, note: `${retriever.meta.modelId}: content embeddings as rows, ${topics.length} topic embeddings as queries` };
  } finally {
    retriever.model.dispose();
  }
}

/** How the hnswlib-node addon was compiled (scripts/hnswlib/build.sh's record), or npm's portable build. */
function addonBuild(): string {
  const record = join(REPO, 'node_modules', 'hnswlib-node', 'build', 'Release', 'trellis-build.json');
  if (!existsSync(record)) return '-O3, SSE: npm\'s portable build';
  const r = JSON.parse(readFileSync(record, 'utf8')) as { flags: string; hnswlibKernel?: string };
  return `${r.flags}${r.hnswlibKernel ? `, ${r.hnswlibKernel} kernels` : ''}`;
}

function trellisSide(set: VectorSet, m: number, efConstruction: number, seed: number, efs: number[], k: number, truth: SearchResult[], minSeconds: number, repeats: number): { side: Side; index: HnswIndex } {
  const labels = Uint32Array.from({ length: set.rows }, (_, i) => i);
  const index = new HnswIndex(set.dim, { m, efConstruction, seed, capacity: set.rows });
  const t0 = performance.now();
  index.add(set.base, labels);
  const seconds = (performance.now() - t0) / 1000;
  process.stderr.write(`[${NAME}] trellis build: ${seconds.toFixed(1)} s\n`);
  const search: Point[] = [];
  for (const ef of efs) {
    index.setEfSearch(ef);
    const { seconds: s, value } = timed(() => index.searchBatch(set.queries, k), minSeconds, repeats);
    const point = { ef, recall: searchRecall(value, truth, k), queriesPerSecond: truth.length / s };
    process.stderr.write(`[${NAME}] trellis ef ${ef}: recall@${k} ${point.recall.toFixed(4)}, ${Math.round(point.queriesPerSecond)} q/s\n`);
    search.push(point);
  }
  return { side: { name: `trellis (hnswlib-node 3.0.0, ${addonBuild()})`, short: 'trellis', build: [{ seconds, insertsPerSecond: set.rows / seconds, threads: 1 }], search }, index };
}

/**
 * Paired rounds against a Python process serving its own index (hnswlib_peer.py --serve):
 * for each ef, one timed round of trellis's batch search and one of Python's (peer/paired.ts).
 */
async function paired(python: string, files: { base: string; queries: string; truth: string }, args: string[], index: HnswIndex, queries: Float32Array, queryCount: number, k: number, efs: number[], rounds: number, minSeconds: number): Promise<Map<number, PairedRound[]>> {
  const peer = await LineServer.start(PEER, python, [PEER, '--base', files.base, '--queries', files.queries, '--truth', files.truth, ...args, '--serve']);
  try {
    const out = new Map<number, PairedRound[]>();
    for (const ef of efs) {
      const trellis = async () => {
        index.setEfSearch(ef);
        return queryCount / timed(() => index.searchBatch(queries, k), minSeconds, 1).seconds;
      };
      const py = async () => (await peer.request<{ batchQueriesPerSecond: number }>({ ef, minSeconds })).batchQueriesPerSecond;
      out.set(ef, await pairedRounds(rounds, trellis, py, (r) => process.stderr.write(`[${NAME}] paired round ${r.round + 1}/${rounds}, ef ${ef}: trellis ${Math.round(r.a)} q/s, Python ${Math.round(r.b)} q/s, ${r.ratio.toFixed(3)}x\n`)));
    }
    return out;
  } finally {
    peer.close();
  }
}

function pythonSides(python: string, pythonPath: string | undefined, label: string, short: string, files: { base: string; queries: string; truth: string }, args: string[]): Side[] {
  const env = { ...process.env, ...(pythonPath ? { PYTHONPATH: pythonPath } : {}) };
  const run = spawnSync(python, [PEER, '--base', files.base, '--queries', files.queries, '--truth', files.truth, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`${NAME}: ${python} ${PEER} ended with exit code ${run.status}`);
  const out = JSON.parse(run.stdout.toString().trim().split('\n').pop()!);
  const build = (out.builds as { threads: number; seconds: number; insertsPerSecond: number }[]);
  return [
    { name: `hnswlib ${out.hnswlib} Python ${out.python}, ${label}: knn_query on all queries`, short: `${short}, batch`, build, search: out.search.map((p: any) => ({ ef: p.ef, recall: p.recall, queriesPerSecond: p.batchQueriesPerSecond })) },
    { name: `hnswlib ${out.hnswlib} Python ${out.python}, ${label}: one knn_query call per query`, short: `${short}, per query`, build: [], search: out.search.map((p: any) => ({ ef: p.ef, recall: p.recall, queriesPerSecond: p.loopQueriesPerSecond })) },
  ];
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function pairedReport(rounds: Map<number, PairedRound[]>, efs: { ef: number; target: number; recall: number }[], minSeconds: number): string {
  const lines = [`Paired rounds (${rounds.get(efs[0].ef)?.length} per ef, one timed round of at least ${minSeconds} s per side, order swapped every round; trellis against Python's native build, both batch search on one thread):`, ''];
  lines.push('| recall@10 target | ef (recall) | trellis q/s, median | Python q/s, median | ratio, median of rounds | ratio, min - max | rounds >= 0.9x |', '|---|---:|---:|---:|---:|---:|---:|');
  for (const { ef, target, recall } of efs) {
    const s = summarize(rounds.get(ef) ?? [], 0.9);
    lines.push(`| >= ${target} | ${ef} (${recall.toFixed(4)}) | ${int(s.aMedian)} | ${int(s.bMedian)} | **${s.ratioMedian.toFixed(2)}x** | ${s.ratioMin.toFixed(2)} - ${s.ratioMax.toFixed(2)} | ${s.atTarget} of ${s.rounds} |`);
  }
  return lines.join('\n');
}

function report(set: VectorSet, sides: Side[], bruteQps: number, params: string, targets: number[], k: number): string {
  const lines = [`### ${set.name}: ${int(set.rows)} x ${set.dim}, ${int(set.queries.length / set.dim)} queries`, '', `${set.note}. ${params}. Exact search (trellis brute force, 4 queries per pass): ${int(bruteQps)} queries/s.`, ''];
  lines.push('| build | threads | build s | inserts/s |', '|---|---:|---:|---:|');
  for (const side of sides) for (const b of side.build) lines.push(`| ${side.name.replace(/:.*$/, '')} | ${b.threads} | ${b.seconds.toFixed(1)} | ${int(b.insertsPerSecond)} |`);
  lines.push('', `| search (1 thread) | ${targets.map((t) => `ef for recall@${k} >= ${t} | recall | queries/s`).join(' | ')} |`, `|---|${targets.map(() => '---:|---:|---:').join('|')}|`);
  for (const side of sides) {
    const cells = targets.map((target) => {
      const p = side.search.find((x) => x.recall >= target);
      return p ? `${p.ef} | ${p.recall.toFixed(4)} | ${int(p.queriesPerSecond)}` : 'not reached | | ';
    });
    lines.push(`| ${side.name} | ${cells.join(' | ')} |`);
  }
  lines.push('', `| ef | ${sides.map((s) => s.short).join(' | ')} |`, `|---:|${sides.map(() => '---|').join('')}`);
  for (let i = 0; i < sides[0].search.length; i++) {
    lines.push(`| ${sides[0].search[i].ef} | ${sides.map((s) => `${s.search[i].recall.toFixed(4)} @ ${int(s.search[i].queriesPerSecond)} q/s`).join(' | ')} |`);
  }
  return lines.join('\n');
}

await runScript(NAME, {
  sets: { type: 'string', default: 'clustered,trellis' },
  rows: { type: 'string', default: '100000' },
  dim: { type: 'string', default: '128' },
  queries: { type: 'string', default: '1000' },
  clusters: { type: 'string', default: '1000' },
  spread: { type: 'string', default: '1.0' },
  model: { type: 'string', default: 'work/bench/debian-full' },
  data: { type: 'string', default: 'data/debian' },
  m: { type: 'string', default: '16' },
  'ef-construction': { type: 'string', default: '200' },
  ef: { type: 'string', default: '10,16,24,32,48,64,96,128,192,256,384,512' },
  k: { type: 'string', default: '10' },
  targets: { type: 'string', default: '0.95,0.99' },
  seed: { type: 'string', default: '100' },
  venv: { type: 'string', default: '/work/pyref/hnsw-venv' },
  'min-seconds': { type: 'string', default: '1' },
  repeats: { type: 'string', default: '3' },
  'paired-rounds': { type: 'string', default: '15' },
  work: { type: 'string', default: 'work/bench/ann-peer' },
}, async (v) => {
  const num = (key: string) => Number(v[key]);
  const list = (key: string) => (v[key] as string).split(',').map((x) => Number(x.trim()));
  const python = join(v.venv as string, 'bin', 'python');
  if (!existsSync(python)) throw new UsageError(`${NAME}: ${python} must exist (got no such file).`, 'Run: bash scripts/peer/setup-hnswlib.sh');
  const portable = join(v.venv as string, 'portable');
  const work = resolve(REPO, v.work as string);
  mkdirSync(work, { recursive: true });
  const [m, efConstruction, k, seed] = [num('m'), num('ef-construction'), num('k'), num('seed')];
  const efs = list('ef');
  const targets = list('targets');
  const minSeconds = num('min-seconds');
  const repeats = num('repeats');
  const params = `M ${m}, efConstruction ${efConstruction}, level seed ${seed}, space cosine, k ${k}; queries/s is the median of ${repeats} rounds of at least ${minSeconds} s`;
  const results: object[] = [];
  const sections: string[] = [];
  const load0 = loadavg();
  for (const name of (v.sets as string).split(',')) {
    let set: VectorSet;
    if (name === 'clustered') {
      const [rows, dim, q] = [num('rows'), num('dim'), num('queries')];
      const all = syntheticVectors({ rows: rows + q, dim, clusters: num('clusters'), spread: num('spread'), seed: 42 });
      set = { name: `clustered synthetic (${num('clusters')} clusters, spread ${num('spread')})`, base: all.subarray(0, rows * dim), queries: all.subarray(rows * dim), rows, dim, note: `src/ann/synthetic.ts, seed 42; the last ${q} rows are the queries` };
    } else if (name === 'trellis') {
      set = await trellisEmbeddings(resolve(REPO, v.model as string), resolve(REPO, v.data as string));
    } else {
      throw new UsageError(`${NAME}: --sets must name clustered or trellis (got ${JSON.stringify(name)}).`);
    }
    const queryCount = set.queries.length / set.dim;
    process.stderr.write(`[${NAME}] ${set.name}: ${set.rows} x ${set.dim}, ${queryCount} queries\n`);
    const exact = new BruteForceIndex(set.dim, { capacity: set.rows });
    exact.add(set.base, Uint32Array.from({ length: set.rows }, (_, i) => i));
    const t0 = performance.now();
    const truth = exact.searchBatch(set.queries, k);
    const bruteQps = queryCount / ((performance.now() - t0) / 1000);
    const files = { base: join(work, `${name}-base.npy`), queries: join(work, `${name}-queries.npy`), truth: join(work, `${name}-truth.npy`) };
    writeNpy(files.base, set.base, set.rows, set.dim);
    writeNpy(files.queries, set.queries, queryCount, set.dim);
    const truthLabels = new Uint32Array(queryCount * k);
    truth.forEach((r, q) => truthLabels.set(r.labels.subarray(0, k), q * k));
    writeNpy(files.truth, truthLabels, queryCount, k);

    const first = trellisSide(set, m, efConstruction, seed, efs, k, truth, minSeconds, repeats);
    const sides = [first.side];
    const args = ['--m', String(m), '--ef-construction', String(efConstruction), '--ef', efs.join(','), '--k', String(k), '--seed', String(seed), '--min-seconds', String(minSeconds), '--repeats', String(repeats)];
    sides.push(...pythonSides(python, undefined, 'PyPI build (-march=native)', 'Python native', files, [...args, '--build-threads', '1,2']));
    if (existsSync(portable)) sides.push(...pythonSides(python, portable, 'baseline build (HNSWLIB_NO_NATIVE=1)', 'Python baseline', files, [...args, '--build-threads', '1']));
    // trellis again, last: on a shared machine the load drifts, and a side measured only first or only last would carry it alone.
    const second = trellisSide(set, m, efConstruction, seed, efs, k, truth, minSeconds, repeats);
    sides.push({ ...second.side, name: 'trellis, second pass (after Python)', short: 'trellis, again' });
    let section = report(set, sides, bruteQps, params, targets, k);
    let pairedRuns = new Map<number, PairedRound[]>();
    const pairedEfs = targets.flatMap((target) => {
      const p = first.side.search.find((x) => x.recall >= target);
      return p ? [{ ef: p.ef, target, recall: p.recall }] : [];
    });
    if (num('paired-rounds') > 0 && pairedEfs.length > 0) {
      pairedRuns = await paired(python, files, args, first.index, set.queries, queryCount, k, pairedEfs.map((p) => p.ef), num('paired-rounds'), minSeconds);
      section += '\n\n' + pairedReport(pairedRuns, pairedEfs, minSeconds);
    }
    results.push({ set: set.name, rows: set.rows, dim: set.dim, queries: queryCount, note: set.note, bruteForceQueriesPerSecond: bruteQps, sides, paired: Object.fromEntries(pairedRuns) });
    sections.push(section);
  }
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadAverage: { start: load0, end: loadavg() }, date: new Date().toISOString() };
  writeFileSync(join(REPO, 'work', 'bench', 'ann-peer.json'), JSON.stringify({ machine, params, results }, null, 1) + '\n');
  process.stdout.write(`Load average ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${machine.loadAverage.end.map((x) => x.toFixed(2)).join(' ')} at the end; ${machine.date}.\n\n${sections.join('\n\n')}\n`);
});
