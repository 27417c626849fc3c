/**
 * Scale benchmark: how wall time and peak memory grow with the catalogue,
 * on synthetic LECR data (src/data/synthetic.ts) at 10k, 100k and 1M content
 * items with topics = content / 10.
 *
 *   node --import tsx scripts/bench-scale.ts [--sizes 10000,100000,1000000] [--work work/scale]
 *   node --import tsx scripts/bench-scale.ts --report      # the tables of <work>/results.json
 *
 * First (once; skipped when the model folder exists) a model is trained on a
 * separate 10,000-item synthetic sample (other seed, so other topics and
 * words) with encoder dim 128: `runTraining`, the job behind
 * `trellis train --config`. Then each size runs in its own child process
 * (peak RSS per size), through these stages, each timed, with the process's
 * peak RSS (`process.resourceUsage().maxRSS`, which counts worker threads)
 * after each:
 *
 *   generate   writeSyntheticDataset: topics.csv, content.csv, correlations.csv streamed to disk
 *   load       loadDataset (the LECR loader and its checks) + the topic forest
 *   lexical    TF-IDF fit and rows of every content text, inverted index per language
 *   inputs     tower inputs (topic TF-IDF rows, top features per text)
 *   encode     content embeddings from the trained model, on worker threads (one per core)
 *   index      HNSW build, one partition per language (hnswlib-node), split into shards of
 *              at most --shard-rows (default: the model's index.shardRows, else 250,000), built
 *              side by side on worker threads (`addGroupedParallel`), then save
 *   retrieve   every topic: query tower + HNSW + lexical lists, fused (`retrieve`, the code
 *              behind `trellis recommend --stage retrieve`): --fusion learned (default, the
 *              fusion fitted on the sample; lists 200 deep, the best 100 kept) or rrf (top 50 +
 *              top 50 by reciprocal rank fusion). The catalogue's links are the answers, so no
 *              stage reads them: the learned fusion's placement and link features see none.
 *   export     the fused lists as a table, written as .parquet and .csv
 *   rerank     the cross-encoder and decision rule (`rerankTable`, the rest of `--stage full`):
 *              on a sample of leaf topics (--rerank-topics N, one thread), or on every topic
 *              (--rerank-topics all, one worker thread per core, then the final CSV), over each
 *              topic's first --rerank-candidates fused candidates (default 0: all)
 *
 * and the recall@K of the fused and neural lists on the leaf topics (every
 * topic is new to the model). The parent prints markdown tables and writes
 * <work>/results.json. Run it under the benchmark lock on a shared machine:
 * `flock /tmp/trellis-bench.lock node --import tsx scripts/bench-scale.ts`.
 */
import { execSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';
import { buildDataset, buildForest, buildLexicalIndex, buildTowerData, loadTwoTower, trainedCatalogue, updateIndex, DEFAULT_INDEX_CONFIG, deriveSeed, embedContentParallel, evaluateSets, initRuntime, loadDataset, loadFusion, loadModel, loadReranker, openModel, FEATURE_NAMES, PartitionedIndex, readModelMeta, recallAtK, rerankTable, resolveRunConfig, retrievalTable, retrieve, rngFor, runTraining, shuffleInPlace, syntheticTopicCount, UsageError, writeRecommendations, writeSyntheticDataset, type Retriever, type SyntheticOptions } from '../src/index.ts';
import { candidateDepth, contentInputs, linkContext, loadLexical, predictedSets, rerankerDir, saveCatalogue, saveIndex, sourceList } from '../src/internal.ts';

const NAME = 'bench-scale';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const LANGUAGES = ['en', 'es', 'fr'];

/** Every size has the same shape: channels of 111 topics (branching 10, depth 2), ~11 items per leaf. */
function shape(content: number, seed: number): SyntheticOptions {
  const channels = Math.max(1, Math.round(content / 1111));
  return { channels, branching: 10, depth: 2, content, languages: LANGUAGES, multiLinkRate: 0.1, skew: 0.5, seed };
}

interface Stage {
  name: string;
  seconds: number;
  /** Items the stage worked through, and per second. */
  items?: number;
  unit?: string;
  rate?: number;
  /** Peak RSS of the process so far, and RSS now, MB. */
  peakRssMB: number;
  rssMB: number;
  heapMB: number;
  note?: string;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const peakMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

function stageRecorder(stages: Stage[]) {
  return async <T>(name: string, run: () => Promise<T> | T, count?: (value: T) => { items: number; unit: string; note?: string }): Promise<T> => {
    const t0 = performance.now();
    const value = await run();
    const seconds = (performance.now() - t0) / 1000;
    const memory = process.memoryUsage();
    const c = count?.(value);
    const stage: Stage = { name, seconds, peakRssMB: peakMB(), rssMB: mb(memory.rss), heapMB: mb(memory.heapUsed) };
    if (c) Object.assign(stage, { items: c.items, unit: c.unit, rate: c.items / seconds, note: c.note });
    stages.push(stage);
    process.stderr.write(`[${NAME}] ${name}: ${seconds.toFixed(1)} s${c ? `, ${c.items} ${c.unit} (${Math.round(c.items / seconds)}/s)` : ''}, peak RSS ${stage.peakRssMB} MB, RSS ${stage.rssMB} MB, heap ${stage.heapMB} MB\n`);
    return value;
  };
}

// --- child: train the model on a sample --------------------------------------

async function childTrain(work: string, modelDir: string, trainContent: number, dim: number, epochs: number, seed: number, fusion: string): Promise<void> {
  const stages: Stage[] = [];
  const stage = stageRecorder(stages);
  const sampleDir = join(work, `sample-${trainContent}`);
  const options = shape(trainContent, seed + 1);
  await stage('generate', () => writeSyntheticDataset(sampleDir, options), (s) => ({ items: s.content, unit: 'items' }));
  const { dataset, forest } = await stage('load', async () => {
    const dataset = await loadDataset(sampleDir);
    return { dataset, forest: buildForest(dataset) };
  });
  const configFile = join(work, 'train-config.json');
  const given = { encoder: { dim }, training: { epochs }, retrieval: { fusion } };
  writeFileSync(configFile, JSON.stringify(given, null, 1) + '\n');
  const config = resolveRunConfig(given, configFile);
  const runtime = await initRuntime();
  const cpu0 = process.cpuUsage();
  const summary = await stage('train', () => runTraining({
    dataset, forest, config, seed, modelDir, backend: runtime.kind,
    log: (line) => process.stderr.write(`[${NAME}] train: ${line}\n`),
    onEpoch: (r, n) => process.stderr.write(`[${NAME}] epoch ${r.epoch + 1}/${n}: loss ${r.loss.toFixed(4)}, validation recall ${r.validationRecall.toFixed(4)}, ${r.pairs} pairs in ${r.seconds.toFixed(1)} s\n`),
  }));
  const cpu = process.cpuUsage(cpu0);
  const t = summary.meta.training;
  process.stdout.write(JSON.stringify({
    kind: 'train', createdAt: new Date().toISOString(), backend: runtime.message, sample: { dir: sampleDir, options, topics: dataset.topics.length, content: dataset.content.length },
    config: given, modelId: summary.modelId, seconds: summary.seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6,
    training: { epochsRun: t.history.length, bestEpoch: t.bestEpoch + 1, bestRecall: t.bestRecall, initialRecall: t.initialRecall, examplesPerSecond: t.examplesPerSecond, pairs: t.history.reduce((s, h) => s + h.pairs, 0) },
    stages, peakRssMB: peakMB(), loadAverage: loadavg(),
  }) + '\n');
}

// --- child: one size ---------------------------------------------------------

async function childRun(work: string, modelDir: string, size: number, seed: number, rerankTopics: number, rerankCandidates: number, shardRows: number | undefined, keepData: boolean): Promise<void> {
  const stages: Stage[] = [];
  const stage = stageRecorder(stages);
  const load0 = loadavg();
  const dir = join(work, `data-${size}`);
  const options = shape(size, seed);
  const written = await stage('generate', () => writeSyntheticDataset(dir, options), (s) => ({ items: s.content + s.topics, unit: 'rows', note: `${s.topics} topics, ${s.content} items, ${s.links} links` }));
  const { dataset, forest } = await stage('load', async () => {
    const dataset = await loadDataset(dir);
    return { dataset, forest: buildForest(dataset) };
  }, () => ({ items: written.content + written.topics + written.links, unit: 'rows+links' }));

  const runtime = await initRuntime();
  const { model, meta } = await loadModel(modelDir);
  const lexical = await stage('lexical', () => buildLexicalIndex(dataset, meta.config.lexical), (l) => ({ items: dataset.content.length, unit: 'texts', note: `${l.contentFeatures.indices.length} non-zeros, ${l.partitions.size} partitions` }));
  const data = await stage('inputs', () => buildTowerData(dataset, forest, lexical.model, meta.config.encoder.maxFeatures, lexical.contentFeatures, meta.kinds, meta.languages), () => ({ items: dataset.content.length + dataset.topics.length, unit: 'texts' }));
  let vectors: Float32Array | undefined = await stage('encode', () => embedContentParallel(model, data), () => ({ items: dataset.content.length, unit: 'texts', note: `dim ${model.shape.encoder.dim}, ${dataset.content.length >= 20000 ? `${cpus().length} worker threads` : 'one thread (embedContentParallel stays on this thread below 20,000 rows)'}` }));
  const cfg = meta.config.index;
  const index = await stage('index', async () => {
    const index = new PartitionedIndex(model.shape.encoder.dim, { kind: cfg.kind, hnsw: { m: cfg.M, efConstruction: cfg.efConstruction, efSearch: cfg.efSearch, seed: deriveSeed(seed, 'hnsw') }, shardRows: shardRows ?? cfg.shardRows ?? DEFAULT_INDEX_CONFIG.shardRows });
    await index.addGroupedParallel(vectors!, Uint32Array.from(dataset.content.keys()), dataset.content.map((c) => c.language));
    return index;
  }, (i) => ({ items: i.size, unit: 'inserts', note: `M ${cfg.M}, efConstruction ${cfg.efConstruction}, shards of at most ${(shardRows ?? cfg.shardRows ?? DEFAULT_INDEX_CONFIG.shardRows) || 'any'} rows built side by side on worker threads; partitions ${i.keys().map((k) => `${k} ${i.shards(k).map((p) => p.size).join('+')}`).join(', ')}` }));
  vectors = undefined;
  await stage('save index', () => index.save(join(dir, 'index'), { modelId: meta.modelId, seed }), () => ({ items: index.size, unit: 'vectors' }));

  // Models saved before retrieval.fusion existed have no such key.
  const fusion = meta.config.retrieval.fusion === 'learned' ? await loadFusion(modelDir) : undefined;
  const retriever: Retriever = { model, meta, index, lexical, data, fusion };
  const topics = Uint32Array.from(dataset.topics.keys());
  const visible = { links: dataset.topics.map(() => new Uint32Array(0)), popularity: new Uint32Array(dataset.content.length) };
  let split = '';
  const candidates = await stage('retrieve', () => retrieve(retriever, topics, { visible, log: (line) => (split = line) }), () => ({ items: topics.length, unit: 'topics', note: split.replace(/^.*\((.*)\)$/, '$1') }));

  // Quality on the leaf topics (every topic is new to the model: it was trained on another sample).
  const leaves = topics.filter((t) => dataset.links[t].length > 0);
  const answers = new Map(Array.from(leaves, (t) => [dataset.topics[t].id, dataset.links[t]]));
  const fused = new Map(Array.from(leaves, (t) => [dataset.topics[t].id, candidates[t].rows]));
  const neural = new Map(Array.from(leaves, (t) => [dataset.topics[t].id, sourceList(candidates[t], 'neural').rows]));
  const quality = { topics: leaves.length, fused: recallAtK(fused, answers, [10, 50, 100]), neural: recallAtK(neural, answers, [10, 50]), meanFused: candidates.reduce((s, c) => s + c.rows.length, 0) / candidates.length };

  const table = await stage('table', () => retrievalTable(dataset, topics, candidates), (t) => ({ items: t.length, unit: 'rows' }));
  const exportMeta = { modelId: meta.modelId, seed, config: { ...meta.config, stage: 'retrieve' } };
  await stage('export parquet', () => writeRecommendations(join(dir, 'recommendations.parquet'), table, exportMeta), () => ({ items: table.length, unit: 'rows' }));
  await stage('export csv', () => writeRecommendations(join(dir, 'recommendations.csv'), table, exportMeta), () => ({ items: table.length, unit: 'rows' }));

  let rerank: object | undefined;
  if (rerankTopics !== 0) {
    // 'all' (-1): every topic, on one worker thread per core, then the final CSV; else a timed sample of leaf topics.
    const all = rerankTopics < 0;
    const chosen = all ? topics : Uint32Array.from(shuffleInPlace(Array.from(leaves), rngFor(seed, 'bench-scale/rerank')).slice(0, rerankTopics)).sort();
    const folder = await openModel(modelDir);
    const { reranker, rule, compete, stacker } = await loadReranker(folder, FEATURE_NAMES);
    try {
      const pairs = Array.from(chosen, (t) => Math.min(rerankCandidates || Infinity, candidates[t].rows.length)).reduce((s, n) => s + n, 0);
      let next = 0.1;
      const onProgress = (done: number, total: number) => {
        if (done / total < next) return;
        next += 0.1;
        process.stderr.write(`[${NAME}] rerank: ${done} of ${total} topics\n`);
      };
      const result = await stage(all ? 'rerank' : 'rerank sample', () => rerankTable(dataset, forest, linkContext(dataset, dataset.links), reranker, rule, chosen, Array.from(chosen, (t) => candidates[t]), candidateDepth(meta.config.retrieval), {
        dir: rerankerDir(folder), workers: all ? 0 : 1, maxCandidates: rerankCandidates, onProgress, compete, stacker,
      }), () => ({ items: chosen.length, unit: 'topics', note: `${pairs} pairs${rerankCandidates ? `, the first ${rerankCandidates} fused candidates per topic` : ''}${all ? `, ${cpus().length} worker threads` : ''}` }));
      const s = stages[stages.length - 1].seconds;
      if (all) await stage('export final csv', () => writeRecommendations(join(dir, 'final.csv'), result.table, { ...exportMeta, config: { ...meta.config, stage: 'full' } }), () => ({ items: result.table.length, unit: 'rows' }));
      const final = all ? evaluateSets(predictedSets(result.table), answers) : undefined;
      rerank = { topics: chosen.length, all, final, candidatesPerTopic: rerankCandidates || 'all', pairs, seconds: s, secondsPerTopic: s / chosen.length, pairsPerSecond: pairs / s, kept: result.table.length, projectedSecondsAllTopics: (s / chosen.length) * topics.length };
    } finally {
      reranker.dispose();
      stacker?.dispose();
    }
  }
  model.dispose();
  const files = Object.fromEntries(['topics.csv', 'content.csv', 'correlations.csv', 'recommendations.parquet', 'recommendations.csv'].map((f) => [f, mb(statSize(join(dir, f)))]));
  if (!keepData) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({
    kind: 'run', size, createdAt: new Date().toISOString(), backend: runtime.message, options, topics: dataset.topics.length, content: dataset.content.length, links: written.links,
    modelId: meta.modelId, stages, quality, rerank, filesMB: files, peakRssMB: peakMB(), loadAverage: { start: load0, end: loadavg() },
  }) + '\n');
}

function statSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

// --- child: index updates of a grown catalogue ---------------------------------

/**
 * `trellis update` against a full index build: the catalogue of `size` items
 * is encoded and indexed whole (the full build); then, for each fraction p,
 * a model folder whose index holds the catalogue without a seeded p-share of
 * its items (built beforehand, not timed) is updated to the whole catalogue
 * with `updateIndex` (timed: the catalogue diff, encoding the new items, the
 * index load, inserts and the save of the new generation).
 */
async function childUpdate(work: string, modelDir: string, size: number, seed: number, fractions: number[], keepData: boolean): Promise<void> {
  const stages: Stage[] = [];
  const stage = stageRecorder(stages);
  const load0 = loadavg();
  const dir = join(work, `data-${size}`);
  const options = shape(size, seed);
  if (!existsSync(join(dir, 'content.csv'))) await stage('generate', () => writeSyntheticDataset(dir, options), (s) => ({ items: s.content, unit: 'items' }));
  const { dataset, forest } = await stage('load', async () => {
    const dataset = await loadDataset(dir);
    return { dataset, forest: buildForest(dataset) };
  });
  const runtime = await initRuntime();
  const folder = await openModel(modelDir);
  const model = await loadTwoTower(folder);
  const meta = folder.meta;
  const tfidf = await loadLexical(folder);
  if (!tfidf || !folder.catalogue) throw new UsageError(`${NAME}: the model in ${modelDir} has no catalogue.json or TF-IDF weights; train it again (delete the folder).`);
  const cfg = meta.config.index;
  const newIndex = () => new PartitionedIndex(model.shape.encoder.dim, { kind: cfg.kind, hnsw: { m: cfg.M, efConstruction: cfg.efConstruction, efSearch: cfg.efSearch, seed: deriveSeed(seed, 'hnsw') }, shardRows: cfg.shardRows ?? DEFAULT_INDEX_CONFIG.shardRows });
  const inputs = await stage('inputs', () => contentInputs(dataset.content, tfidf, meta.config.encoder.maxFeatures, undefined, meta.kinds, meta.languages), () => ({ items: dataset.content.length, unit: 'texts' }));
  const vectors = await stage('encode', () => embedContentParallel(model, inputs), () => ({ items: dataset.content.length, unit: 'texts' }));
  const languages = dataset.content.map((c) => c.language);
  await stage('full index build', async () => {
    const index = newIndex();
    await index.addGroupedParallel(vectors, Uint32Array.from(dataset.content.keys()), languages);
    return index;
  }, (i) => ({ items: i.size, unit: 'inserts' }));
  const updates: Record<string, unknown>[] = [];
  for (const p of fractions) {
    const hidden = new Set(shuffleInPlace(Array.from(dataset.content.keys()), rngFor(seed, `bench-scale/update/${p}`)).slice(0, Math.round(p * dataset.content.length)));
    const rows = Array.from(dataset.content.keys()).filter((r) => !hidden.has(r));
    const base = buildDataset(dataset.topics, rows.map((r) => dataset.content[r]), new Map(), dataset.dir);
    // A model folder of the catalogue without the hidden items: the trained model's files, this index and catalogue.
    const copy = join(work, `update-${size}-${p}`);
    rmSync(copy, { recursive: true, force: true });
    mkdirSync(copy, { recursive: true });
    for (const file of readdirSync(modelDir)) if (/^(model\.json|weights\.|lexical\.|fusion\.json)/.test(file)) copyFileSync(join(modelDir, file), join(copy, file));
    await stage(`base index without ${(100 * p).toFixed(0)}% (not part of the update)`, async () => {
      const index = newIndex();
      await index.addGroupedParallel(gather(vectors, rows, model.shape.encoder.dim), Uint32Array.from(rows.keys()), rows.map((r) => languages[r]));
      saveIndex(copy, index, { modelId: meta.modelId, seed: meta.seed });
      await saveCatalogue(copy, trainedCatalogue(base));
    });
    const t0 = performance.now();
    const result = await updateIndex(await openModel(copy), dataset, forest, {});
    const seconds = (performance.now() - t0) / 1000;
    const memory = process.memoryUsage();
    stages.push({ name: `update +${(100 * p).toFixed(0)}% (${hidden.size} new items)`, seconds, items: hidden.size, unit: 'new items', rate: hidden.size / seconds, peakRssMB: peakMB(), rssMB: mb(memory.rss), heapMB: mb(memory.heapUsed), note: `encoding ${result.seconds.encode.toFixed(1)} s` });
    process.stderr.write(`[${NAME}] update +${p}: ${seconds.toFixed(1)} s (${result.seconds.encode.toFixed(1)} s encoding), changes ${JSON.stringify(result.changes.counts)}\n`);
    updates.push({ fraction: p, newItems: hidden.size, seconds, encodeSeconds: result.seconds.encode, changes: result.changes.counts });
    rmSync(copy, { recursive: true, force: true });
  }
  model.dispose();
  if (!keepData) rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ kind: 'update', size, createdAt: new Date().toISOString(), backend: runtime.message, content: dataset.content.length, topics: dataset.topics.length, stages, updates, peakRssMB: peakMB(), loadAverage: { start: load0, end: loadavg() } }) + '\n');
}

/** Rows `rows` of a row-major [*, dim] matrix. */
function gather(vectors: Float32Array, rows: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(vectors.subarray(r * dim, (r + 1) * dim), i * dim));
  return out;
}

// --- parent -------------------------------------------------------------------

function runChild(args: string[], heapMB: number): Promise<Record<string, unknown>> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMB}`, '--import', 'tsx', SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) done(JSON.parse(line));
      else fail(new Error(`${NAME}: child ${args.join(' ')} ended with ${signal ?? `exit code ${code}`}`));
    });
  });
}

const f1 = (n: number) => n.toFixed(1);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function tables(runs: Record<string, any>[]): string {
  const names = [...new Set(runs.flatMap((r) => r.stages.map((s: Stage) => s.name)))];
  const lines = ['| stage | ' + runs.map((r) => `${int(r.content)} items: s | rate | peak RSS MB`).join(' | ') + ' |', '|---|' + runs.map(() => '---:|---:|---:').join('|') + '|'];
  for (const name of names) {
    const cells = runs.map((r) => {
      const s = (r.stages as Stage[]).find((x) => x.name === name);
      return s ? `${f1(s.seconds)} | ${s.rate ? `${int(s.rate)} ${s.unit}/s` : ''} | ${int(s.peakRssMB)}` : ' | | ';
    });
    lines.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  lines.push(`| **all stages** | ${runs.map((r) => `**${f1((r.stages as Stage[]).reduce((s, x) => s + x.seconds, 0))}** | | **${int(r.peakRssMB)}**`).join(' | ')} |`);
  lines.push('', '| items | topics | links | fused recall@10 | @50 | @100 | neural recall@10 | @50 | fused per topic | rerank s/topic | rerank pairs/s |', '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    const q = r.quality;
    lines.push(`| ${int(r.content)} | ${int(r.topics)} | ${int(r.links)} | ${q.fused['recall@10'].toFixed(3)} | ${q.fused['recall@50'].toFixed(3)} | ${q.fused['recall@100'].toFixed(3)} | ${q.neural['recall@10'].toFixed(3)} | ${q.neural['recall@50'].toFixed(3)} | ${f1(q.meanFused)} | ${r.rerank ? `${r.rerank.secondsPerTopic.toFixed(4)} (${int(r.rerank.topics)} topics, ${r.rerank.candidatesPerTopic ?? 'all'} candidates each)` : ''} | ${r.rerank ? int(r.rerank.pairsPerSecond) : ''} |`);
  }
  return lines.join('\n');
}

await runScript(NAME, {
  sizes: { type: 'string', default: '10000,100000,1000000' },
  work: { type: 'string', default: 'work/scale' },
  model: { type: 'string' },
  'train-content': { type: 'string', default: '10000' },
  'train-epochs': { type: 'string', default: '4' },
  dim: { type: 'string', default: '128' },
  'rerank-topics': { type: 'string', default: '100' },
  'rerank-candidates': { type: 'string', default: '0' },
  fusion: { type: 'string', default: 'learned' },
  'shard-rows': { type: 'string' },
  'heap-mb': { type: 'string', default: '8192' },
  'keep-data': { type: 'boolean', default: false },
  report: { type: 'boolean', default: false },
  update: { type: 'string' },
  seed: { type: 'string', default: '42' },
  child: { type: 'string' },
  size: { type: 'string' },
}, async (v) => {
  const work = resolve(REPO, v.work as string);
  const modelDir = resolve(REPO, (v.model as string | undefined) ?? join(v.work as string, 'model'));
  const seed = Number(v.seed);
  const num = (key: string) => {
    const n = Number(v[key]);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${NAME}: --${key} must be a non-negative integer (got ${JSON.stringify(v[key])}).`);
    return n;
  };
  mkdirSync(work, { recursive: true });
  if (v.fusion !== 'learned' && v.fusion !== 'rrf') throw new UsageError(`${NAME}: --fusion must be learned or rrf (got ${JSON.stringify(v.fusion)}).`);
  if (v.child === 'train') return childTrain(work, modelDir, num('train-content'), num('dim'), num('train-epochs'), seed, v.fusion as string);
  const rerankTopics = () => (v['rerank-topics'] === 'all' ? -1 : num('rerank-topics'));
  if (v.child === 'run') return childRun(work, modelDir, num('size'), seed, rerankTopics(), num('rerank-candidates'), v['shard-rows'] === undefined ? undefined : num('shard-rows'), v['keep-data'] as boolean);
  const fractions = v.update === undefined ? [] : String(v.update).split(',').map(Number);
  if (fractions.some((p) => !(p > 0 && p < 1))) throw new UsageError(`${NAME}: --update must list fractions in (0, 1) (got ${JSON.stringify(v.update)}).`);
  if (v.child === 'update') return childUpdate(work, modelDir, num('size'), seed, fractions, v['keep-data'] as boolean);
  if (v.child !== undefined) throw new UsageError(`${NAME}: --child must be train, run or update (got ${JSON.stringify(v.child)}).`);

  const resultsFile = join(work, 'results.json');
  const previous: Record<string, any>[] = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : [];
  if (v.report) {
    // The tables of every size in results.json, without running anything.
    const runs = previous.filter((r) => r.kind === 'run').sort((a, b) => a.size - b.size);
    process.stdout.write(tables(runs) + '\n\n' + runs.map((r) => `${int(r.content)} items: ${r.createdAt}, load average ${r.loadAverage.start.map((x: number) => x.toFixed(2)).join(' ')} at the start, ${r.loadAverage.end.map((x: number) => x.toFixed(2)).join(' ')} at the end, commit ${r.machine.commit}`).join('\n') + '\n');
    return;
  }
  const sizes = (v.sizes as string).split(',').map((s) => Number(s.trim()));
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 1111) throw new UsageError(`${NAME}: --sizes must be integers of at least 1111 (got ${s}).`);
    const o = shape(s, seed);
    process.stderr.write(`[${NAME}] size ${s}: ${o.channels} channels, ${syntheticTopicCount(o.channels!, 10, 2)} topics\n`);
  }
  const heap = String(num('heap-mb'));
  const common = ['--work', work, '--model', modelDir, '--seed', String(seed)];
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, commit: execSync('git rev-parse --short HEAD', { cwd: REPO }).toString().trim() };
  let train = previous.find((r) => r.kind === 'train' && r.model === modelDir);
  if (existsSync(join(modelDir, 'model.json'))) {
    // Models saved before retrieval.fusion existed have no such key.
    const trained = (await readModelMeta(modelDir)).config.retrieval.fusion ?? 'rrf';
    if (trained !== v.fusion) throw new UsageError(`${NAME}: the model in ${modelDir} was trained with --fusion ${trained}, not ${v.fusion}.`, 'Pass another --work or --model to train a new one.');
  } else {
    process.stderr.write(`[${NAME}] training the model on a ${v['train-content']}-item sample into ${modelDir}\n`);
    train = { ...(await runChild(['--child', 'train', ...common, '--train-content', v['train-content'] as string, '--train-epochs', v['train-epochs'] as string, '--dim', v.dim as string, '--fusion', v.fusion as string], Number(heap))), model: modelDir, machine };
  }
  if (fractions.length) {
    // trellis update at each size instead of the pipeline run.
    for (const size of sizes) {
      const run: Record<string, any> = { ...(await runChild(['--child', 'update', ...common, '--size', String(size), '--update', fractions.join(','), ...(v['keep-data'] ? ['--keep-data'] : [])], Number(heap))), machine };
      const kept = previous.filter((r) => !(r.kind === 'update' && r.size === size));
      previous.splice(0, previous.length, ...kept, run);
      writeFileSync(resultsFile, JSON.stringify(previous, null, 1) + '\n');
      process.stdout.write(`${int(run.content)} items (${run.backend}):\n| stage | s | items/s | peak RSS MB |\n|---|---:|---:|---:|\n${(run.stages as Stage[]).map((x) => `| ${x.name} | ${f1(x.seconds)} | ${x.rate ? int(x.rate) : ''} | ${int(x.peakRssMB)} |`).join('\n')}\n\n`);
    }
    return;
  }
  const runs: Record<string, any>[] = [];
  for (const size of sizes) {
    process.stderr.write(`[${NAME}] size ${size}: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    const run = { ...(await runChild(['--child', 'run', ...common, '--size', String(size), '--rerank-topics', v['rerank-topics'] as string, '--rerank-candidates', v['rerank-candidates'] as string, ...(v['shard-rows'] === undefined ? [] : ['--shard-rows', v['shard-rows'] as string]), ...(v['keep-data'] ? ['--keep-data'] : [])], Number(heap))), machine };
    runs.push(run);
    const kept = previous.filter((r) => !(r.kind === 'run' && r.size === size) && !(r.kind === 'train' && r.model === modelDir));
    writeFileSync(resultsFile, JSON.stringify([...kept, ...(train ? [train] : []), ...runs], null, 1) + '\n');
  }
  if (train) process.stdout.write(`model: trained on ${train.sample.content} items / ${train.sample.topics} topics in ${f1(train.seconds.total)} s, ${Math.round(train.training.examplesPerSecond)} examples/s, ${train.training.epochsRun} epochs, peak RSS ${train.peakRssMB} MB\n\n`);
  process.stdout.write(tables(runs) + '\n');
});
