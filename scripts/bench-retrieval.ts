/**
 * Retrieval benchmark: for one dataset and a list of named config variants,
 * trains and scores each variant on the same 25% topic holdout (seed 42), in
 * its own child process so that peak RSS is per run.
 *
 *   node --import tsx scripts/bench-retrieval.ts --data data/khan [--variants full,sage-off,...] [--jobs 1|2] [--override JSON] [--backend auto]
 *
 * Each child loads the dataset, holds out the topics, trains (`runTraining`,
 * model in work/bench/<dataset>-<variant>[-<hash of --override>]), recommends
 * for the held-out topics (stage 'full' when the variant reranks, else
 * 'retrieve'), scores every stage (`scoreStages`), then times the content
 * index on its own: the held-out topics' embeddings searched in the saved
 * HNSW index at efSearch 128, and HNSW recall@10 against an exact brute-force
 * index over the same content embeddings and partitions. It prints one JSON
 * line. The parent writes the lines to work/bench/<dataset>.json (replacing
 * earlier results of the same variant and --override) and prints markdown
 * tables to stdout. Progress goes to stderr and to a .log file next to each
 * model folder.
 *
 * --override is merged over every variant's overrides (e.g. a cap on epochs for
 * a large dataset); it is recorded with each result and shown in the tables.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runScript } from './script.ts';
import { buildForest, embedContent, embedTopics, evaluateRanked, HnswIndex, initRuntime, loadContentIndex, loadDataset, loadRetriever, PartitionedIndex, rankedById, resolveRunConfig, rngFor, runHoldout, searchRecall, splitTopics, UsageError, type FusedCandidates, type SearchResult, type StageScores } from '../src/index.ts';
import { languageRoute, rerankedLists, sourceList, type RankedScores } from '../src/internal.ts';

const NAME = 'bench-retrieval';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const OUT = join(REPO, 'work', 'bench');
const HOLDOUT = { fraction: 0.25, seed: 42 } as const;
const EF_SEARCH = 128;

/** What one child process reports. */
interface RunResult {
  dataset: string;
  variant: string;
  /** The variant's overrides with --override merged over them, and --override alone. */
  overrides: object;
  extra: object;
  createdAt: string;
  backend: string;
  heldOutTopics: number;
  stage: 'full' | 'retrieve';
  /** The resolved settings the variants differ in. */
  settings: { aggregator: string; logQ: string; hardNegatives: string; epochs: number; rerank: boolean; rerankEpochs: number };
  scores: StageScores;
  /** Precision and recall at each ranked stage's best top-k cut (the k of scores.*.bestTopK); absent in older results. */
  bestCuts?: Record<string, BestCut>;
  training: { epochsRun: number; bestEpoch: number; bestRecall: number; initialRecall: number; examplesPerSecond: number; history: { epoch: number; loss: number; validationRecall: number; seconds: number; pairs: number }[] };
  seconds: { load: number; train: { features: number; training: number; index: number; rerank: number; total: number }; recommend: { retrieve: number; rerank: number }; wall: number };
  cpuSeconds: { train: number; total: number };
  ann: { efSearch: number; k: number; queries: number; embedSeconds: number; hnswQueriesPerSecond: number; bruteForceQueriesPerSecond: number; hnswRecallAt10: number; partitions: { key: string; kind: string; count: number }[] };
  /** Peak resident set in MB: after recommending, and at the end (the ANN check embeds all content once more). */
  peakRssMB: { trainRecommend: number; end: number };
  loadAverage: { start: number[]; end: number[] };
}

interface BestCut {
  k: number;
  f2: number;
  precision: number;
  recall: number;
}

interface RunFailure {
  dataset: string;
  variant: string;
  overrides: object;
  extra: object;
  createdAt: string;
  error: string;
  exitCode: number | null;
}

type Entry = RunResult | RunFailure;

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `b` merged over `a`, recursively for plain objects. */
function deepMerge(a: object, b: object): object {
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isPlain(prev) && isPlain(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

/**
 * The named variants: config overrides merged over the defaults. Each one pins
 * the switches it is compared on (GraphSAGE mean, streaming logQ, no hard
 * negatives, unless it varies one of them), so a change of a default does not
 * change what a variant measures.
 */
const MINILM = { kind: 'pretrained', model: join(REPO, 'models', 'pretrained', 'all-MiniLM-L6-v2'), workers: 1 };
const REFERENCE = { graphsage: { aggregator: 'mean' }, training: { logQ: 'streaming', hardNegatives: 'none' } };
const retrievalOnly = (change: object) => deepMerge(deepMerge(REFERENCE, change), { rerank: { enabled: false } });
const VARIANTS: Record<string, object> = {
  full: deepMerge(REFERENCE, { rerank: { enabled: true } }),
  'sage-off': retrievalOnly({ graphsage: { aggregator: 'off' } }),
  'sage-mean': retrievalOnly({}),
  'sage-pool': retrievalOnly({ graphsage: { aggregator: 'pool' } }),
  'logq-off': retrievalOnly({ training: { logQ: 'off' } }),
  'logq-exact': retrievalOnly({ training: { logQ: 'exact' } }),
  'hardneg-lexical': retrievalOnly({ training: { hardNegatives: 'lexical' } }),
  // The shipped defaults (GraphSAGE off, reranker on), and the same with pretrained MiniLM features
  // (bash scripts/fetch-pretrained.sh), without and with cross-fitted reranker training.
  default: {},
  minilm: { encoder: MINILM },
  'minilm-cross-fit': { encoder: MINILM, rerank: { crossFit: 4 } },
  'minilm-sage-mean': { encoder: MINILM, graphsage: { aggregator: 'mean' }, rerank: { enabled: false } },
  // Plus up to 50 neural candidates from unplaced content (no visible link yet), found within the neural top 200.
  unplaced: { retrieval: { unplacedTopK: 50, unplacedDepth: 200 } },
  'minilm-unplaced': { encoder: MINILM, rerank: { crossFit: 4 }, retrieval: { unplacedTopK: 50, unplacedDepth: 200 } },
  // Plus a third candidate list: the top 50 by MiniLM's own sentence cosine (and its unplaced extension).
  'minilm-sentence': { encoder: MINILM, rerank: { crossFit: 4 }, retrieval: { unplacedTopK: 50, unplacedDepth: 200, sentenceTopK: 50 } },
};

function parseJsonObject(flag: string, text: string): object {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${NAME}: --${flag} must be a JSON object (got ${JSON.stringify(text)}: ${(error as Error).message}).`);
  }
  if (!isPlain(value)) throw new UsageError(`${NAME}: --${flag} must be a JSON object (got ${JSON.stringify(text)}).`);
  return value;
}

/** <dataset>-<variant>, plus a hash of --override when there is one (a capped run keeps its own folder). */
function runName(dataset: string, variant: string, extra: object): string {
  const tag = Object.keys(extra).length === 0 ? '' : `-${createHash('sha256').update(JSON.stringify(extra)).digest('hex').slice(0, 8)}`;
  return `${dataset}-${variant}${tag}`;
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;
const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
const maxRssMB = () => process.resourceUsage().maxRSS / 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Runs `f` until at least `minSeconds` have passed (and at least `minReps` times); returns calls per second. */
function rate(f: () => unknown, minSeconds = 2, minReps = 3): number {
  f(); // warm-up
  let reps = 0;
  const t0 = performance.now();
  while (reps < minReps || seconds(t0) < minSeconds) {
    f();
    reps++;
  }
  return reps / seconds(t0);
}

/** Each ranked stage's best fixed top-k cut with its precision and recall (scoreStages keeps only the F2). */
function bestCuts(ids: string[], answers: Map<string, Uint32Array>, candidates: FusedCandidates[], probabilities?: Float32Array[]): Record<string, BestCut> {
  const lists: Record<string, { rows: Uint32Array }[]> = {
    neural: candidates.map((c) => sourceList(c, 'neural')),
    lexical: candidates.map((c) => sourceList(c, 'lexical')),
    fused: candidates,
  };
  if (probabilities) lists.reranked = rerankedLists(candidates, probabilities);
  const out: Record<string, BestCut> = {};
  for (const [stage, ranked] of Object.entries(lists)) {
    const { k, f2, precision, recall } = evaluateRanked(rankedById(ids, ranked), answers, [10], []).best;
    out[stage] = { k, f2, precision, recall };
  }
  return out;
}

/** One variant, start to finish, in this process. */
async function runChild(dir: string, variant: string, extra: object, backend: string | undefined): Promise<RunResult> {
  const wall0 = performance.now();
  const overrides = deepMerge(VARIANTS[variant], extra);
  const loadStart = loadavg();
  const config = resolveRunConfig(overrides, `${NAME}/${variant}`);
  const name = basename(resolve(dir));
  const modelDir = join(OUT, runName(name, variant, extra));
  // A benchmark starts from nothing: no checkpoint to resume from.
  rmSync(modelDir, { recursive: true, force: true });

  const t0 = performance.now();
  const dataset = await loadDataset(dir);
  const forest = buildForest(dataset);
  const split = splitTopics(dataset, HOLDOUT);
  const loadSeconds = seconds(t0);
  log(`${variant}: ${dataset.topics.length} topics, ${dataset.content.length} content; holding out ${split.heldOut.length} topics (seed ${HOLDOUT.seed})`);

  const runtime = await initRuntime(backend);
  log(`${variant}: ${runtime.message}`);
  const cpu0 = cpuNow();
  let cpuTrain = 0;
  // The pipeline's own evaluation: train without the held-out topics' links, recommend for them, score every stage.
  const { trained, folder, result, ids, answers, scores } = await runHoldout({
    dataset, forest, config, seed: HOLDOUT.seed, modelDir, split, splitSpec: { fraction: HOLDOUT.fraction, by: 'topic' }, backend: runtime.kind,
    log: (line) => log(`${variant}: ${line}`),
    onEpoch: (r, epochs) => log(`${variant}: epoch ${r.epoch + 1}/${epochs}: loss ${r.loss.toFixed(4)}, validation recall@${config.training.recallK} ${r.validationRecall.toFixed(4)}${r.best ? ' (best)' : ''} (${r.seconds.toFixed(1)} s, ${r.pairs} pairs)`),
    onTrained: () => (cpuTrain = cpuNow() - cpu0),
  });
  const stage = result.rule ? 'full' : 'retrieve';
  const cuts = bestCuts(ids, answers, result.candidates, result.scores);
  const rssRecommend = maxRssMB();

  // The content index alone: the saved HNSW index at efSearch 128 against exact search over the same vectors.
  const retriever = await loadRetriever(folder, dataset, forest);
  let ann: RunResult['ann'];
  try {
    const { model, meta, data } = retriever;
    const hnsw = loadContentIndex(folder, { efSearch: EF_SEARCH });
    const te = performance.now();
    // The links the model could see (all but the held-out topics'), which a hetero aggregator reads.
    const queries = embedTopics(model, data, split.heldOut, config.graphsage.fanouts, rngFor(meta.seed, 'recommend/sample'), split.trainLinks);
    const embedSeconds = seconds(te);
    // The routing of neuralSearch: a topic searches its own language's partition.
    const keys = hnsw.keys();
    const routes = Array.from(split.heldOut, (t) => languageRoute(dataset.topics[t].language, keys));
    const exact = new PartitionedIndex(meta.shape.encoder.dim, { kind: 'brute-force' });
    exact.addGrouped(embedContent(model, data), Uint32Array.from(dataset.content.keys()), dataset.content.map((c) => c.language));
    const k = config.retrieval.topK;
    let approx: SearchResult[] = [];
    let truth: SearchResult[] = [];
    const hnswRate = rate(() => (approx = hnsw.searchBatch(queries, 10, routes)));
    const exactRate = rate(() => (truth = exact.searchBatch(queries, 10, routes)), 2, 1);
    const hnswRateK = rate(() => hnsw.searchBatch(queries, k, routes));
    ann = {
      efSearch: EF_SEARCH,
      k,
      queries: split.heldOut.length,
      embedSeconds,
      hnswQueriesPerSecond: hnswRateK * split.heldOut.length,
      bruteForceQueriesPerSecond: exactRate * split.heldOut.length,
      hnswRecallAt10: searchRecall(approx, truth, 10),
      partitions: keys.map((key) => {
        const part = hnsw.partition(key)!;
        return { key, kind: part instanceof HnswIndex ? 'hnsw' : 'brute-force', count: part.size };
      }),
    };
    log(`${variant}: ANN: HNSW ${ann.hnswQueriesPerSecond.toFixed(0)} queries/s at k=${k} (${(hnswRate * split.heldOut.length).toFixed(0)} at k=10), brute force ${ann.bruteForceQueriesPerSecond.toFixed(0)} queries/s, HNSW recall@10 ${ann.hnswRecallAt10.toFixed(4)}`);
  } finally {
    retriever.model.dispose();
  }

  const meta = trained.meta.training;
  return {
    dataset: name,
    variant,
    overrides,
    extra,
    createdAt: new Date().toISOString(),
    backend: runtime.message,
    heldOutTopics: split.heldOut.length,
    stage,
    settings: { aggregator: config.graphsage.aggregator, logQ: config.training.logQ, hardNegatives: config.training.hardNegatives, epochs: config.training.epochs, rerank: config.rerank.enabled, rerankEpochs: config.rerank.epochs },
    scores,
    bestCuts: cuts,
    training: {
      epochsRun: meta.history.length,
      bestEpoch: meta.bestEpoch,
      bestRecall: meta.bestRecall,
      initialRecall: meta.initialRecall,
      examplesPerSecond: meta.examplesPerSecond,
      history: meta.history.map((h) => ({ epoch: h.epoch, loss: h.loss, validationRecall: h.validationRecall, seconds: h.seconds, pairs: h.pairs })),
    },
    seconds: { load: loadSeconds, train: trained.seconds, recommend: result.seconds, wall: seconds(wall0) },
    cpuSeconds: { train: cpuTrain, total: cpuNow() },
    ann,
    peakRssMB: { trainRecommend: rssRecommend, end: maxRssMB() },
    loadAverage: { start: loadStart, end: loadavg() },
  };
}

/** Runs one variant in a child process; resolves with its result or its failure. */
function spawnRun(dir: string, variant: string, extra: object, backend: string | undefined): Promise<Entry> {
  const name = basename(resolve(dir));
  const logFile = join(OUT, `${runName(name, variant, extra)}.log`);
  const args = ['--import', 'tsx', SELF, '--child', '--data', dir, '--variants', variant, '--override', JSON.stringify(extra)];
  if (backend) args.push('--backend', backend);
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    const file = createWriteStream(logFile);
    let stdout = '';
    let tail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      file.write(chunk);
      process.stderr.write(chunk);
      tail = (tail + chunk).slice(-4000);
    });
    const fail = (error: string, exitCode: number | null) => done({ dataset: name, variant, overrides: deepMerge(VARIANTS[variant], extra), extra, createdAt: new Date().toISOString(), error, exitCode });
    child.on('error', (error) => fail(error.message, null));
    child.on('close', (code, signal) => {
      file.end();
      const line = stdout.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code === 0 && line) done(JSON.parse(line) as RunResult);
      else fail(`exit ${code ?? signal}; last output:\n${tail.trim()}`, code);
    });
  });
}

const f4 = (x: number) => x.toFixed(4);
const f1 = (x: number) => x.toFixed(1);
const f0 = (x: number) => x.toFixed(0);
const isResult = (e: Entry): e is RunResult => !('error' in e);

/** The --override of a run (e.g. an epoch cap), for the tables. */
function extra(e: Entry): string {
  return Object.keys(e.extra).length === 0 ? '' : ` (+ ${JSON.stringify(e.extra)})`;
}

function rankedRow(label: string, s: RankedScores, cut?: BestCut): string {
  const pr = cut ? `${f4(cut.precision)} | ${f4(cut.recall)}` : ' | ';
  return `| ${label} | ${f4(s['recall@10'])} | ${f4(s['recall@50'])} | ${f4(s['recall@100'])} | ${f4(s.f2AtBestTopK)} | ${pr} | ${s.bestTopK} |`;
}

function markdown(dataset: string, entries: Entry[]): string {
  const results = entries.filter(isResult);
  const lines: string[] = [];
  const first = results[0];
  lines.push(`### ${dataset}: held-out topics ${first ? first.heldOutTopics : '?'} (25% of topics with content, seed 42)`, '');
  lines.push('| stage | recall@10 | recall@50 | recall@100 | F2 at best top-k | P at best k | R at best k | best k |', '|---|---:|---:|---:|---:|---:|---:|---:|');
  if (first) {
    const withCuts = results.find((r) => r.bestCuts) ?? first;
    lines.push(rankedRow('lexical baseline (TF-IDF)', withCuts.scores.lexical, withCuts.bestCuts?.lexical));
    const same = results.every((r) => JSON.stringify(r.scores.lexical) === JSON.stringify(first.scores.lexical));
    if (!same) lines.push('| (lexical scores differ between runs: see the JSON) | | | | | | | |');
  }
  for (const r of results) {
    lines.push(rankedRow(`${r.variant}${extra(r)}: neural`, r.scores.neural, r.bestCuts?.neural));
    lines.push(rankedRow(`${r.variant}${extra(r)}: fused`, r.scores.fused, r.bestCuts?.fused));
    if (r.scores.reranked) {
      const rr = r.scores.reranked;
      lines.push(rankedRow(`${r.variant}${extra(r)}: reranked order`, rr, r.bestCuts?.reranked));
      lines.push(`| ${r.variant}${extra(r)}: final (decision rule) | | | | ${f4(rr.f2)} | ${f4(rr.precision)} | ${f4(rr.recall)} | rule |`);
    }
  }
  lines.push('');
  lines.push(
    '| variant | epochs run (best) | examples/s | two-tower train s | features s | index build s | reranker train s | recommend s (retrieve + rerank) | CPU s (train) | wall s | ANN queries/s (HNSW, ef 128, k 50) | brute-force queries/s | HNSW recall@10 | peak RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    const s = r.seconds;
    lines.push(
      `| ${r.variant}${extra(r)} | ${r.training.epochsRun} (${r.training.bestEpoch + 1}) | ${f0(r.training.examplesPerSecond)} | ${f1(s.train.training)} | ${f1(s.train.features)} | ${f1(s.train.index)} | ${f1(s.train.rerank)} | ${f1(s.recommend.retrieve)} + ${f1(s.recommend.rerank)} | ${f0(r.cpuSeconds.train)} | ${f0(s.wall)} | ${f0(r.ann.hnswQueriesPerSecond)} | ${f0(r.ann.bruteForceQueriesPerSecond)} | ${f4(r.ann.hnswRecallAt10)} | ${f0(r.peakRssMB.trainRecommend)} |`,
    );
  }
  for (const e of entries) if (!isResult(e)) lines.push('', `**${e.variant} failed** (exit ${e.exitCode}):`, '', '```', e.error, '```');
  return lines.join('\n') + '\n';
}

await runScript(
  NAME,
  {
    data: { type: 'string' },
    variants: { type: 'string' },
    jobs: { type: 'string' },
    override: { type: 'string' },
    backend: { type: 'string' },
    child: { type: 'boolean' },
  },
  async (values) => {
    const dir = values.data as string | undefined;
    if (!dir) throw new UsageError(`${NAME}: --data DIR is required (a LECR folder, e.g. data/khan).`);
    if (!existsSync(join(dir, 'topics.csv'))) throw new UsageError(`${NAME}: --data must be a LECR folder with topics.csv (got ${JSON.stringify(dir)}).`, 'For Debian: npx tsx scripts/prepare-debian.ts');
    const variants = ((values.variants as string | undefined) ?? Object.keys(VARIANTS).join(',')).split(',').filter(Boolean);
    for (const v of variants) {
      if (!(v in VARIANTS)) throw new UsageError(`${NAME}: --variants must name known variants: ${Object.keys(VARIANTS).join(', ')} (got ${JSON.stringify(v)}).`);
    }
    const override = values.override === undefined ? {} : parseJsonObject('override', values.override as string);
    const backend = values.backend as string | undefined;
    mkdirSync(OUT, { recursive: true });

    if (values.child) {
      const result = await runChild(dir, variants[0], override, backend);
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }

    const jobs = Number((values.jobs as string | undefined) ?? '1');
    if (!(jobs === 1 || jobs === 2)) throw new UsageError(`${NAME}: --jobs must be 1 or 2 (got ${JSON.stringify(values.jobs)}).`);
    const name = basename(resolve(dir));
    log(`${NAME}: ${name}, variants ${variants.join(', ')}, ${jobs} at a time; ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    const queue = variants.slice();
    const entries: Entry[] = [];
    await Promise.all(
      Array.from({ length: Math.min(jobs, queue.length) }, async () => {
        for (let v = queue.shift(); v !== undefined; v = queue.shift()) entries.push(await spawnRun(dir, v, override, backend));
      }),
    );
    entries.sort((a, b) => variants.indexOf(a.variant) - variants.indexOf(b.variant));

    const file = join(OUT, `${name}.json`);
    const earlier: Entry[] = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Entry[]) : [];
    // A run replaces an earlier one of the same variant and --override; others stay.
    const sameRun = (e: Entry, f: Entry) => e.variant === f.variant && JSON.stringify(e.extra ?? {}) === JSON.stringify(f.extra);
    const kept = earlier.filter((e) => !entries.some((f) => sameRun(e, f)));
    const order = (e: Entry) => Object.keys(VARIANTS).indexOf(e.variant) + (Object.keys(e.extra ?? {}).length ? 0.5 : 0);
    const all = [...kept, ...entries].sort((a, b) => order(a) - order(b));
    writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
    log(`${NAME}: wrote ${file}`);
    process.stdout.write(markdown(name, all));
    if (entries.some((e) => !isResult(e))) process.exitCode = 1;
  },
);
