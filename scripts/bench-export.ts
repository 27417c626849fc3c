/**
 * Export throughput: writes a synthetic LECR-shaped recommendation table
 * (default 1M rows: 100k topics x 10 items, three stage columns, short
 * explanations) as .arrow, .parquet and .csv, and reports rows/s and file
 * sizes; then times building the Arrow record batches with string columns
 * assembled from UTF-8 directly vs from per-row JS strings.
 *
 *   node --import tsx scripts/bench-export.ts [--rows 1000000] [--per-topic 10] [--repeat 3] [--dir /tmp]
 *
 * Prints a markdown table. Each number is the median of --repeat runs.
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32, readRecommendations, RecommendationTableBuilder, writeRecommendations, type RecommendationTable } from '../src/index.ts';
import { encodeMetadata, recommendationSchema, recordBatches, type StringColumnMode } from '../src/internal.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'per-topic': { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
  },
  strict: true,
});
const rows = Number(values.rows);
const perTopic = Number(values['per-topic']);
const repeat = Number(values.repeat);

function hex(rng: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rng() * 16).toString(16);
  return s;
}

function syntheticTable(): RecommendationTable {
  const rng = mulberry32(42);
  const topics = Math.ceil(rows / perTopic);
  const topicIds = Array.from({ length: topics }, () => `t_${hex(rng, 12)}`);
  const contentIds = Array.from({ length: Math.ceil(topics * 1.5) }, () => `c_${hex(rng, 12)}`);
  const b = new RecommendationTableBuilder(['retrieval', 'lexical', 'rerank'], topicIds, contentIds);
  for (let i = 0; i < rows; i++) {
    const t = Math.floor(i / perTopic);
    const found = rng();
    b.add({
      topic: t,
      content: Math.floor(rng() * contentIds.length),
      score: rng(),
      stages: { retrieval: rng(), lexical: found < 0.5 ? NaN : rng() * 20, rerank: rng() },
      explanation: found < 0.3 ? 'retrieval' : found < 0.6 ? `lexical; parent ${topicIds[Math.max(0, t - 1)]}` : found < 0.8 ? `retrieval; sibling ${topicIds[(t + 1) % topics]}` : '',
    });
  }
  return b.build();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(run: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

const t0 = performance.now();
const table = syntheticTable();
const buildMs = performance.now() - t0;
const metadata = { modelId: 'bench', seed: 42, config: { rows, perTopic } };
const dir = await mkdtemp(join(values.dir, 'trellis-bench-export-'));

console.log(`${fmt(rows)} rows, ${fmt(table.topicIds.length)} topics, ${fmt(table.contentIds.length)} content ids; table built in ${fmt(buildMs)} ms; median of ${repeat}\n`);
console.log('| format | write ms | rows/s | file MB | read ms |');
console.log('|---|---:|---:|---:|---:|');
try {
  for (const ext of ['.arrow', '.parquet', '.csv']) {
    const path = join(dir, `recommendations${ext}`);
    const writeMs = await timed(() => writeRecommendations(path, table, metadata));
    const size = (await stat(path)).size;
    const readMs = await timed(async () => {
      await readRecommendations(path);
    });
    console.log(`| ${ext} | ${fmt(writeMs)} | ${fmt((rows / writeMs) * 1000)} | ${mb(size)} | ${fmt(readMs)} |`);
  }

  console.log('\nArrow record batches (65,536 rows each), whole table, no I/O:\n');
  console.log('| string columns built from | ms | rows/s |');
  console.log('|---|---:|---:|');
  const schema = recommendationSchema([...table.stages.keys()], encodeMetadata('bench', metadata));
  const results: Record<StringColumnMode, number> = { utf8: 0, strings: 0 };
  for (const mode of ['utf8', 'strings'] as const) {
    results[mode] = await timed(() => {
      for (const _batch of recordBatches(table, schema, 65536, mode));
    });
    const label = mode === 'utf8' ? 'UTF-8 bytes (makeData: valueOffsets + data)' : 'JS strings (vectorFromArray)';
    console.log(`| ${label} | ${fmt(results[mode])} | ${fmt((rows / results[mode]) * 1000)} |`);
  }
  console.log(`\nUTF-8 path is ${(results.strings / results.utf8).toFixed(1)}x faster.`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
