/**
 * Neo4j benchmark: for each dataset, push time and rows/s into an empty
 * graph (median of --repeat pushes); a second push (must change nothing, same graph snapshot); pushes
 * killed with SIGKILL part-way (a real `trellis graph push` child process,
 * killed after a given fraction of its batches) and run again (must end
 * with the clean push's snapshot); a recommendations
 * push and its repeat; and the latency of every named query (median of
 * --runs). Then recall@10 and latency of the vector index on random vectors.
 *
 *   npm run neo4j:start
 *   node --import tsx scripts/bench-neo4j.ts [--datasets khan,debian] [--runs 9] [--repeat 3] [--kill-at 0.2,0.5,0.8] [--skip-vectors]
 *
 * Needs the server at NEO4J_URI (default bolt://127.0.0.1:7687) and CLEARS
 * its Channel / Topic / Content nodes. Prints markdown to stdout.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';
import { BruteForceIndex, graphSnapshot, listNamedQueries, loadDataset, loadDatasetFromNeo4j, Neo4jClient, Neo4jVectorIndex, pushDataset, pushEmbeddings, pushRecommendations, searchRecall, runNamedQuery, type Dataset, type PushReport } from '../src/index.ts';
import { clearGraph, dropEmbeddings, readRecommendationFile, syntheticVectors, totals } from '../src/internal.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Per topic, the content linked to its siblings and not to it, most shared first (top 10): a stand-in model output. */
function siblingRecommendations(dataset: Dataset): string {
  const children = new Map<string, number[]>();
  dataset.topics.forEach((t, row) => {
    if (t.parent) children.set(t.parent, [...(children.get(t.parent) ?? []), row]);
  });
  const lines = ['topic_id,content_ids'];
  dataset.topics.forEach((t, row) => {
    if (!t.parent) return;
    const own = new Set(dataset.links[row]);
    const counts = new Map<number, number>();
    for (const sibling of children.get(t.parent)!) {
      if (sibling === row) continue;
      for (const c of dataset.links[sibling]) if (!own.has(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    const best = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 10);
    if (best.length) lines.push(`${t.id},${best.map(([c]) => dataset.content[c].id).join(' ')}`);
  });
  return lines.join('\n') + '\n';
}

/**
 * Runs `trellis graph push --data dir --progress` and SIGKILLs it as soon as
 * it reports its `afterBatch`-th committed batch, so the kill lands while
 * the next batch is being written.
 */
function killedPush(dir: string, afterBatch: number): Promise<{ killed: boolean; batches: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), 'graph', 'push', '--data', dir, '--progress'], {
      cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let batches = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      batches = (stderr.match(/^graph push: /gm) ?? []).length;
      if (batches >= afterBatch && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, batches });
      else if (code === 0) resolve({ killed: false, batches });
      else reject(new Error(`graph push exited with ${code}: ${stderr}`));
    });
  });
}

function stepLine(report: PushReport): string {
  return Object.entries(report.stepSeconds).map(([step, s]) => `${step} ${fmt(s ?? 0, 2)}`).join(', ');
}

interface QueryCase {
  name: string;
  params: Record<string, unknown>;
  why: string;
}

function queryCases(dataset: Dataset, recs: string): QueryCase[] {
  const { topics, links } = dataset;
  const depth = new Int32Array(topics.length);
  topics.forEach((t, row) => {
    let d = 0;
    for (let p = t.parent; p; p = topics[dataset.topicIndex.get(p)!].parent) d++;
    depth[row] = d;
  });
  const deepest = topics.reduce((best, _, row) => (depth[row] > depth[best] ? row : best), 0);
  const mostLinked = topics.reduce((best, _, row) => (links[row].length > links[best].length ? row : best), 0);
  const siblingLoad = new Map<string, number>();
  topics.forEach((t, row) => { if (t.parent) siblingLoad.set(t.parent, (siblingLoad.get(t.parent) ?? 0) + links[row].length); });
  const busiest = topics.reduce((best, t, row) => {
    const load = (r: number) => (topics[r].parent ? siblingLoad.get(topics[r].parent)! - links[r].length : -1);
    return load(row) > load(best) ? row : best;
  }, 0);
  const recCount = new Map<string, number>();
  for (const line of recs.trim().split('\n').slice(1)) for (const id of line.split(',')[1].split(' ')) recCount.set(id, (recCount.get(id) ?? 0) + 1);
  const popular = [...recCount].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  const root = topics.findIndex((t) => !t.parent);
  return [
    { name: 'topic-subtree', params: { topicId: topics[root].id }, why: `root ${topics[root].id} (the whole tree)` },
    { name: 'breadcrumbs', params: { topicId: topics[deepest].id }, why: `deepest topic (depth ${depth[deepest]})` },
    { name: 'topic-content', params: { topicId: topics[mostLinked].id }, why: `topic with most curated links (${links[mostLinked].length})` },
    { name: 'content-recommended-to', params: { contentId: popular[0] }, why: `content recommended to most topics (${popular[1]})` },
    { name: 'channel-coverage', params: {}, why: 'every channel' },
    { name: 'sibling-content', params: { topicId: topics[busiest].id, limit: 100 }, why: `topic whose siblings have most links` },
  ];
}

/** The report of the median-time run among `reports`. */
function medianRun(reports: PushReport[]): PushReport {
  return [...reports].sort((a, b) => a.seconds - b.seconds)[(reports.length - 1) >> 1];
}

const spread = (reports: PushReport[]) => `${fmt(Math.min(...reports.map((r) => r.seconds)), 1)}-${fmt(Math.max(...reports.map((r) => r.seconds)), 1)}`;

async function benchDataset(client: Neo4jClient, name: string, runs: number, repeat: number, killAt: number[], out: string[]): Promise<void> {
  const dir = join(REPO, 'data', name);
  const t0 = performance.now();
  const dataset = await loadDataset(dir);
  const loadSeconds = (performance.now() - t0) / 1000;
  const linkCount = dataset.links.reduce((s, l) => s + l.length, 0);
  console.error(`${name}: loaded in ${fmt(loadSeconds, 1)} s; clean push ...`);

  const cleans: PushReport[] = [];
  let total = 0;
  for (let r = 0; r < repeat; r++) {
    await clearGraph(client);
    total = 0;
    cleans.push(await pushDataset(client, dataset, {}, () => { total++; }));
  }
  const clean = medianRun(cleans);
  const snapshot = await graphSnapshot(client);
  console.error(`${name}: second push ...`);
  const agains: PushReport[] = [];
  let identical = true;
  for (let r = 0; r < repeat; r++) {
    agains.push(await pushDataset(client, dataset));
    identical &&= (await graphSnapshot(client)).hash === snapshot.hash;
  }
  const again = medianRun(agains);
  const againChanges = agains.reduce((s, r) => s + r.changes, 0);
  const pullStart = performance.now();
  const pulled = await loadDatasetFromNeo4j(client);
  const pullSeconds = (performance.now() - pullStart) / 1000;
  const sameDataset = JSON.stringify(pulled.topics) === JSON.stringify(dataset.topics)
    && JSON.stringify(pulled.content) === JSON.stringify(dataset.content)
    && pulled.links.every((l, t) => l.length === dataset.links[t].length && l.every((c, i) => c === dataset.links[t][i]));

  const kills: string[] = [];
  for (const fraction of killAt) {
    const afterBatch = Math.max(1, Math.min(total - 1, Math.round(fraction * total)));
    console.error(`${name}: push killed after batch ${afterBatch} of ${total}, then rerun ...`);
    await clearGraph(client);
    const { killed } = await killedPush(dir, afterBatch);
    const partial = await graphSnapshot(client);
    const rerun = await pushDataset(client, dataset);
    const after = await graphSnapshot(client);
    kills.push(`| ${afterBatch} of ${total} | ${killed ? 'yes' : 'no (finished first)'} | ${fmt(partial.nodes)} / ${fmt(partial.relationships)} | ` +
      `${fmt(totals(rerun).created + totals(rerun).updated + totals(rerun).deleted)} | ${fmt(rerun.seconds, 1)} | ${after.hash === snapshot.hash ? 'yes' : '**NO**'} |`);
  }

  const recsCsv = siblingRecommendations(dataset);
  const recsFile = join(REPO, 'work', 'bench-neo4j', `${name}-recommendations.csv`);
  mkdirSync(join(REPO, 'work', 'bench-neo4j'), { recursive: true });
  writeFileSync(recsFile, recsCsv);
  const recs = await readRecommendationFile(recsFile, dataset);
  // Median of `repeat` pushes into a graph without this model's recommendations, then one repeat push.
  let recsFirst = await pushRecommendations(client, recs.topics, { model: 'bench-siblings' });
  const recsTimes: number[] = [];
  for (let r = 0; r < repeat; r++) {
    await client.write("MATCH ()-[x:RECOMMENDS {model: 'bench-siblings'}]->() DELETE x");
    const s = performance.now();
    recsFirst = await pushRecommendations(client, recs.topics, { model: 'bench-siblings' });
    recsTimes.push((performance.now() - s) / 1000);
  }
  const recsSeconds = median(recsTimes);
  const t = performance.now();
  const recsAgain = await pushRecommendations(client, recs.topics, { model: 'bench-siblings' });
  const recsAgainSeconds = (performance.now() - t) / 1000;

  const cases = queryCases(dataset, recsCsv);
  const latencies: string[] = [];
  for (const c of cases) {
    await runNamedQuery(client, c.name, c.params); // warm-up: plan cache and page cache
    const times: number[] = [];
    let rows = 0;
    for (let r = 0; r < runs; r++) {
      const s = performance.now();
      rows = (await runNamedQuery(client, c.name, c.params)).rows.length;
      times.push(performance.now() - s);
    }
    latencies.push(`| ${c.name} | ${c.why} | ${fmt(rows)} | ${fmt(median(times), 1)} | ${fmt(Math.min(...times), 1)} | ${fmt(Math.max(...times), 1)} |`);
  }

  const cleanRows = clean.rows;
  out.push(
    `### ${name} (\`data/${name}\`: ${fmt(dataset.topics.length)} topics, ${fmt(dataset.content.length)} content items, ${fmt(linkCount)} links)`,
    '',
    `Pushes of the dataset and of the recommendations: median of ${repeat} runs (range in brackets); "again" runs over the graph the previous push made.`,
    '',
    '| push | rows | seconds | rows/s | created | updated | deleted | graph snapshot |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    `| into an empty graph | ${fmt(cleanRows)} | ${fmt(clean.seconds, 1)} (${spread(cleans)}) | ${fmt(cleanRows / clean.seconds)} | ${fmt(totals(clean).created)} | ${fmt(totals(clean).updated)} | ${fmt(totals(clean).deleted)} | ${fmt(snapshot.nodes)} nodes, ${fmt(snapshot.relationships)} relationships |`,
    `| again (idempotency) | ${fmt(again.rows)} | ${fmt(again.seconds, 1)} (${spread(agains)}) | ${fmt(again.rows / again.seconds)} | ${fmt(totals(again).created)} | ${fmt(totals(again).updated)} | ${fmt(totals(again).deleted)} | ${identical && againChanges === 0 ? 'identical, 0 changes in every run' : '**DIFFERS**'} |`,
    `| recommendations (${fmt(recs.topics.length)} topics, model bench-siblings) | ${fmt(recsFirst.rows)} | ${fmt(recsSeconds, 1)} (${fmt(Math.min(...recsTimes), 1)}-${fmt(Math.max(...recsTimes), 1)}) | ${fmt(recsFirst.rows / recsSeconds)} | ${fmt(recsFirst.created)} | ${fmt(recsFirst.updated)} | ${fmt(recsFirst.deleted)} | |`,
    `| recommendations again | ${fmt(recsAgain.rows)} | ${fmt(recsAgainSeconds, 1)} | ${fmt(recsAgain.rows / recsAgainSeconds)} | ${fmt(recsAgain.created)} | ${fmt(recsAgain.updated)} | ${fmt(recsAgain.deleted)} | |`,
    '',
    `Per step, median clean push (s): ${stepLine(clean)}. Loading the CSV folder: ${fmt(loadSeconds, 1)} s (not included).`,
    '',
    `Reading it back (loadDatasetFromNeo4j, what \`trellis graph pull\` writes out): ${fmt(pullSeconds, 1)} s; ` +
      `${sameDataset ? 'same topics, content and links as the CSV folder, in the same order' : '**differs from the CSV folder**'}.`,
    '',
    'Kill and rerun: `trellis graph push --progress` in a child process, SIGKILLed as soon as it reports the given committed batch',
    '(so the kill lands while the next batch is being written), then a full push:',
    '',
    '| killed after batch | killed | graph left (nodes / relationships) | changes made by the rerun | rerun s | rerun graph = clean push graph |',
    '|---|---|---:|---:|---:|---|',
    ...kills,
    '',
    `Named queries (median of ${runs} runs after one warm-up, ms, through the driver):`,
    '',
    '| query | parameters | rows | median ms | min | max |',
    '|---|---|---:|---:|---:|---:|',
    ...latencies,
    '',
  );
}

async function benchVectors(client: Neo4jClient, runs: number, out: string[]): Promise<void> {
  const rows = 2000;
  const dim = 64;
  const queries = 100;
  const k = 10;
  const options = { label: 'BenchVector', indexName: 'bench_vector' };
  console.error('vectors ...');
  const ids = Array.from({ length: rows }, (_, i) => `bv${i}`);
  const vectors = syntheticVectors({ rows, dim, seed: 7 });
  const q = syntheticVectors({ rows: queries, dim, seed: 8 });
  await client.write('MATCH (n:BenchVector) DETACH DELETE n');
  await client.write('UNWIND $ids AS id CREATE (:BenchVector {id: id})', { ids });
  let t = performance.now();
  await pushEmbeddings(client, ids, vectors, dim, options);
  const pushSeconds = (performance.now() - t) / 1000;
  const exact = new BruteForceIndex(dim);
  exact.add(vectors, Uint32Array.from(ids.keys()));
  const truth = Array.from({ length: queries }, (_, i) => exact.search(q.subarray(i * dim, (i + 1) * dim), k));
  const lines: string[] = [];
  for (const candidates of [10, 50, 100, 200]) {
    const index = new Neo4jVectorIndex(client, ids, dim, { ...options, candidates });
    await index.searchBatch(q, k);
    const batch: number[] = [];
    let recall = 0;
    for (let r = 0; r < Math.min(runs, 5); r++) {
      t = performance.now();
      recall = searchRecall(await index.searchBatch(q, k), truth, k);
      batch.push(performance.now() - t);
    }
    const single: number[] = [];
    for (let i = 0; i < 20; i++) {
      t = performance.now();
      await index.search(q.subarray(i * dim, (i + 1) * dim), k);
      single.push(performance.now() - t);
    }
    lines.push(`| ${candidates} | ${recall.toFixed(3)} | ${fmt(median(batch) / queries, 2)} | ${fmt(median(single), 1)} |`);
  }
  await dropEmbeddings(client, options);
  await client.write('MATCH (n:BenchVector) DETACH DELETE n');
  out.push(
    `### Vector index (${fmt(rows)} x ${dim} N(0, I) float32 vectors, cosine, no quantization; ${queries} queries, k = ${k})`,
    '',
    `Writing the vectors and building the index: ${fmt(pushSeconds, 1)} s. Recall@10 against the exact brute-force index (src/ann/brute-force.ts):`,
    '',
    '| candidates asked of the index | recall@10 | ms per query, 100 per round trip | ms per single query |',
    '|---:|---:|---:|---:|',
    ...lines,
    '',
  );
}

await runScript('bench-neo4j', {
  datasets: { type: 'string', default: 'khan,debian' },
  runs: { type: 'string', default: '9' },
  repeat: { type: 'string', default: '3' },
  'kill-at': { type: 'string', default: '0.2,0.5,0.8' },
  'skip-vectors': { type: 'boolean', default: false },
}, async (values) => {
  const runs = Number(values.runs);
  const killAt = String(values['kill-at']).split(',').filter(Boolean).map(Number);
  const client = await Neo4jClient.connect();
  const out: string[] = [];
  try {
    const agent = await client.serverAgent();
    out.push(`Server: ${agent} at ${client.connection.uri} (embedded, scripts/neo4j, heap 2 GB, page cache 512 MB). ` +
      `Machine: ${cpus().length} shared vCPUs, Node ${process.version}, load average ${loadavg()[0].toFixed(1)} at the start.`, '');
    for (const name of String(values.datasets).split(',').filter(Boolean)) await benchDataset(client, name, runs, Number(values.repeat), killAt, out);
    if (!values['skip-vectors']) await benchVectors(client, runs, out);
    out.push(`Load average at the end: ${loadavg()[0].toFixed(1)}.`, '');
  } finally {
    await client.close();
  }
  process.stdout.write(out.join('\n'));
});
