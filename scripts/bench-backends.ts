/**
 * What the native TensorFlow backend buys: the same measurements on each tfjs
 * backend, each in its own child process, and the machine's float32 matmul
 * peak and sentence-transformers (PyTorch CPU) encoding the same texts, in
 * the same run, so the ratios compare like with like.
 *
 *   bash scripts/peer/setup-torch.sh        # once: PyTorch CPU + sentence-transformers in work/peer/torch-venv
 *   node --import tsx scripts/bench-backends.ts [--backends node,wasm] [--data data/khan] [--model models/pretrained/all-MiniLM-L6-v2] [--texts 512] [--threads 1,2] [--paired 9] [--quick]
 *
 * Per backend (and, for TensorFlow C, per --threads count through
 * TF_NUM_INTRAOP_THREADS; wasm is single-threaded per worker, so its two-thread
 * encoding runs on two worker threads):
 *   - matmul: 1024^3 float32, best of 5 after a warm-up, GFLOP/s;
 *   - two-tower training: pairs/s of the default config on the dataset's
 *     links (median of the steps after the first three), and the effective
 *     GFLOP/s from the model's dense FLOPs per pair (below);
 *   - cross-encoder: training and scoring pairs/s at the default size on
 *     (topic, content) pairs of the dataset's texts;
 *   - MiniLM: texts/s encoding --texts content texts of the dataset at
 *     max length 128 (their real lengths, not padded to the window), and
 *     GFLOP/s from the transformer's FLOPs per token; timed as
 *     scripts/peer/st_encode.py times sentence-transformers: the model
 *     loaded first (on worker threads, each pass's pool loads it), one
 *     untimed pass over all texts, then the median of 3 timed passes
 *     (--quick: 1).
 *     The first pass over a set of texts meets each batch shape for the
 *     first time, and TensorFlow C (oneDNN) sets up its kernels per shape.
 * FLOPs count multiply-adds as 2 and the backward pass as twice the forward:
 *   two-tower pair: 3 x [2 texts x (2 K D for the bag + 4 D H for the encoder
 *     block + 4 D H for the head) + 2 B D for its row of the logits]
 *     (K = features per text actually read, B = batch, D = H = 256);
 *   cross-encoder pair: L tokens x layers x (24 H^2 + 4 L H) forward (x3 to train);
 *   MiniLM text: tokens x 6 x (24 H^2 + 4 tokens H), H = 384.
 * Peers, in the same run: numpy's matmul (scripts/peer/numpy_matmul.py) and
 * sentence-transformers (scripts/peer/st_encode.py) on the same texts, same
 * max length, same thread count. Then paired rounds (--paired N, default 9;
 * 0 skips them): the native backend's MiniLM and sentence-transformers, each
 * in a process kept alive with its model loaded, time one pass each per round,
 * the order swapped every round (peer/paired.ts), so the ratio is read
 * within seconds and the machine's drifting speed cancels. Results:
 * work/bench/backends.json and markdown on stdout.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { evenlySpaced, runScript } from './script.ts';
import { LineServer, pairedRounds, summarize, type PairedRound } from './peer/paired.ts';
import {
  buildForest, buildLexicalIndex, buildTowerData, contentText, CrossEncoder, embedTexts, initRuntime, loadDataset, PretrainedEncoder,
  resolveRunConfig, splitTopics, topicText, trainTwoTower, UsageError,
} from '../src/index.ts';
import { tf, type PairSet } from '../src/internal.ts';

const NAME = 'bench-backends';
const REPO = fileURLToPath(new URL('..', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const OUT = join(REPO, 'work', 'bench');
const VENV_PYTHON = join(REPO, 'work', 'peer', 'torch-venv', 'bin', 'python');
const MAX_LENGTH = 128;

interface ChildResult {
  backend: string;
  message: string;
  threads: number;
  matmulGflops: number;
  twoTower: { pairsPerSecond: number; gflops: number; featuresPerText: number };
  crossEncoder: { trainPairsPerSecond: number; scorePairsPerSecond: number; tokensPerPair: number; trainGflops: number; scoreGflops: number };
  minilm?: { textsPerSecond: number; tokensPerText: number; gflops: number; workers: number };
  loadAverage: number[];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function matmulGflops(): number {
  const a = tf.randomNormal([1024, 1024], 0, 1, 'float32', 1);
  const b = tf.randomNormal([1024, 1024], 0, 1, 'float32', 2);
  const times: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    if (r > 0) times.push(performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * 1024 ** 3) / (Math.min(...times) / 1000) / 1e9;
}

/** Pairs/s of two-tower training steps (median after three), and the mean features a text's bag reads. */
async function twoTower(data: string, quick: boolean): Promise<ChildResult['twoTower']> {
  const dataset = await loadDataset(data);
  const forest = buildForest(dataset);
  const config = resolveRunConfig({ training: { epochs: 1 } });
  const lexical = buildLexicalIndex(dataset, config.lexical);
  const tower = buildTowerData(dataset, forest, lexical.model, config.encoder.maxFeatures, lexical.contentFeatures);
  const split = splitTopics(dataset, { fraction: 0.2, seed: 42 });
  const train = quick ? split.train.subarray(0, Math.min(200, split.train.length)) : split.train;
  const rates: number[] = [];
  let last = performance.now();
  const result = await trainTwoTower({
    data: tower, links: split.trainLinks, trainTopics: train, validationTopics: split.heldOut.subarray(0, 20),
    encoder: config.encoder, graphsage: config.graphsage, training: config.training, seed: 42,
    onStep: (_epoch, step) => {
      const now = performance.now();
      if (step > 3) rates.push((config.training.batchSize * 1000) / (now - last));
      last = now;
    },
  });
  result.model.dispose();
  const { indptr } = tower.topicFeatures;
  const k = (indptr[indptr.length - 1] / (indptr.length - 1) + tower.contentFeatures.indptr[tower.contentFeatures.rows] / tower.contentFeatures.rows) / 2;
  const { dim: D, hidden: H } = config.encoder;
  const flopsPerPair = 3 * (2 * (2 * k * D + 4 * D * H + 4 * D * H) + 2 * config.training.batchSize * D);
  const pairsPerSecond = median(rates);
  return { pairsPerSecond, gflops: (pairsPerSecond * flopsPerPair) / 1e9, featuresPerText: k };
}

/** Cross-encoder training and scoring pairs/s on pairs of the dataset's texts. */
async function crossEncoder(data: string, quick: boolean): Promise<ChildResult['crossEncoder']> {
  const dataset = await loadDataset(data);
  const forest = buildForest(dataset);
  const model = new CrossEncoder(8, {});
  try {
    const rng = (() => { let s = 7; return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31); })();
    const pairs = (n: number): PairSet => {
      const topics = Uint32Array.from({ length: n }, () => Math.floor(rng() * dataset.topics.length));
      const contents = Uint32Array.from({ length: n }, () => Math.floor(rng() * dataset.content.length));
      return {
        topics: model.tokenize(Array.from(topics, (t) => topicText(dataset, forest, t))),
        contents: model.tokenize(Array.from(contents, (c) => contentText(dataset.content[c]))),
        topicIndex: Uint32Array.from({ length: n }, (_, i) => i),
        contentIndex: Uint32Array.from({ length: n }, (_, i) => i),
        features: Float32Array.from({ length: n * 8 }, () => rng()),
        labels: Uint8Array.from({ length: n }, () => (rng() < 0.2 ? 1 : 0)),
      };
    };
    const o = model.options;
    const train = pairs(quick ? 384 : 1280);
    const rates: number[] = [];
    let last = performance.now();
    await model.train(train, { epochs: 1, batchSize: 64 }, {
      onStep: (step) => {
        const now = performance.now();
        if (step > 2) rates.push((64 * 1000) / (now - last));
        last = now;
      },
    });
    const score = pairs(quick ? 1024 : 4096);
    model.score(score);
    const times: number[] = [];
    for (let r = 0; r < (quick ? 1 : 3); r++) {
      const t0 = performance.now();
      model.score(score);
      times.push(performance.now() - t0);
    }
    let tokens = 0;
    for (let p = 0; p < score.topicIndex.length; p++) {
      const topic = Math.max(1, Math.min(score.topics.offsets[p + 1] - score.topics.offsets[p], o.maxTopicTokens));
      tokens += topic + Math.max(1, Math.min(score.contents.offsets[p + 1] - score.contents.offsets[p], o.maxLength - 3 - topic)) + 3;
    }
    const L = tokens / score.topicIndex.length;
    const forward = L * o.layers * (24 * o.hidden ** 2 + 4 * L * o.hidden);
    const trainRate = median(rates);
    const scoreRate = (score.topicIndex.length * 1000) / median(times);
    return { trainPairsPerSecond: trainRate, scorePairsPerSecond: scoreRate, tokensPerPair: L, trainGflops: (trainRate * 3 * forward) / 1e9, scoreGflops: (scoreRate * forward) / 1e9 };
  } finally {
    model.dispose();
  }
}

/** `count` content texts of the dataset spread evenly over it (cycled when there are fewer): its real mix of lengths. */
async function texts(data: string, count: number): Promise<string[]> {
  const dataset = await loadDataset(data);
  return evenlySpaced(dataset.content.map((c) => contentText(c)), count);
}

/**
 * One timed pass of trellis's MiniLM encoding over `list`, in seconds. On one
 * thread the encoder is loaded once, before any pass, as sentence-transformers'
 * model is (st_encode.py times encode() only); on worker threads each pass
 * starts its pool, whose workers load the model.
 */
async function minilmPass(model: string, list: string[], workers: number): Promise<{ pass: () => Promise<number>; close: () => void }> {
  const timed = async (run: () => unknown) => {
    const t0 = performance.now();
    await run();
    return (performance.now() - t0) / 1000;
  };
  if (workers > 1) return { pass: () => timed(() => embedTexts(model, list, { workers, encoder: { maxLength: MAX_LENGTH } })), close: () => {} };
  const encoder = await PretrainedEncoder.load(model, { maxLength: MAX_LENGTH });
  return { pass: () => timed(() => encoder.embed(list)), close: () => encoder.dispose() };
}

async function minilm(model: string, data: string, count: number, workers: number, repeats: number): Promise<ChildResult['minilm']> {
  const list = await texts(data, count);
  const probe = await PretrainedEncoder.load(model, { maxLength: MAX_LENGTH });
  const tokens = list.reduce((s, t) => s + probe.tokenizer.encode(t, MAX_LENGTH).length, 0) / list.length;
  const H = probe.dim;
  const layers = probe.files.bert.layers;
  probe.dispose();
  const { pass, close } = await minilmPass(model, list, workers);
  const seconds: number[] = [];
  try {
    await pass(); // warm-up: every batch shape once (and, with workers, their start)
    for (let i = 0; i < repeats; i++) seconds.push(await pass());
  } finally {
    close();
  }
  seconds.sort((a, b) => a - b);
  const textsPerSecond = list.length / seconds[Math.floor(repeats / 2)];
  const flopsPerText = tokens * layers * (24 * H * H + 4 * tokens * H);
  return { textsPerSecond, tokensPerText: tokens, gflops: (textsPerSecond * flopsPerText) / 1e9, workers };
}

async function child(values: Record<string, string | boolean | string[] | undefined>): Promise<void> {
  const backend = String(values.child);
  const threads = Number(values['child-threads']);
  const info = await initRuntime(backend);
  const quick = values.quick === true;
  const data = String(values.data);
  const model = resolve(String(values.model));
  const result: ChildResult = {
    backend: info.kind,
    message: info.message,
    threads,
    matmulGflops: matmulGflops(),
    twoTower: await twoTower(data, quick),
    crossEncoder: await crossEncoder(data, quick),
    loadAverage: loadavg(),
  };
  // wasm runs one thread per worker: its N-thread encoding is N workers. TensorFlow C threads itself.
  if (existsSync(join(model, 'model.safetensors'))) result.minilm = await minilm(model, data, Number(values.texts), info.tfBackend === 'tensorflow' ? 1 : threads, quick ? 1 : 3);
  process.stdout.write(JSON.stringify(result) + '\n');
}

/**
 * The MiniLM side of the paired rounds (peer/paired.ts), on the native
 * backend: one untimed pass, a ready line, then one timed pass per stdin line.
 */
async function serveMinilm(values: Record<string, string | boolean | string[] | undefined>): Promise<void> {
  await initRuntime(String(values['child-serve']));
  const list = await texts(String(values.data), Number(values.texts));
  const { pass } = await minilmPass(resolve(String(values.model)), list, 1);
  await pass();
  process.stdout.write(JSON.stringify({ ready: { texts: list.length } }) + '\n');
  for await (const _ of createInterface({ input: process.stdin })) {
    const seconds = await pass();
    process.stdout.write(JSON.stringify({ seconds, texts_per_second: list.length / seconds }) + '\n');
  }
}

/** MiniLM, native against sentence-transformers at `threads`, in paired rounds of one pass each. */
async function pairedMinilm(values: Record<string, string | boolean | string[] | undefined>, backend: string, threads: number, textsFile: string, rounds: number): Promise<PairedRound[]> {
  process.stderr.write(`[${NAME}] paired MiniLM rounds, ${backend} against sentence-transformers, ${threads} thread(s) ...\n`);
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_CPP_MIN_LOG_LEVEL: '2', OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const mine = await LineServer.start('trellis MiniLM', process.execPath, ['--import', 'tsx', SELF, '--child-serve', backend, '--data', String(values.data), '--model', String(values.model), '--texts', String(values.texts)], env, REPO);
  const theirs = await LineServer.start('st_encode.py', VENV_PYTHON, [join(REPO, 'scripts', 'peer', 'st_encode.py'), '--model', String(values.model), '--texts', textsFile, '--max-length', String(MAX_LENGTH), '--threads', String(threads), '--serve'], env, REPO);
  try {
    const rate = (server: LineServer) => async () => (await server.request<{ texts_per_second: number }>({})).texts_per_second;
    return await pairedRounds(rounds, rate(mine), rate(theirs), (r) => process.stderr.write(`[${NAME}] round ${r.round + 1}/${rounds}: trellis ${r.a.toFixed(1)} texts/s, sentence-transformers ${r.b.toFixed(1)}, ${r.ratio.toFixed(3)}x\n`));
  } finally {
    mine.close();
    theirs.close();
  }
}

function runChild(backend: string, threads: number, values: Record<string, string | boolean | string[] | undefined>): ChildResult {
  const args = ['--import', 'tsx', SELF, '--child', backend, '--child-threads', String(threads), '--data', String(values.data), '--model', String(values.model), '--texts', String(values.texts)];
  if (values.quick) args.push('--quick');
  const env = { ...process.env, TF_NUM_INTRAOP_THREADS: String(threads), TF_CPP_MIN_LOG_LEVEL: '2' };
  process.stderr.write(`[${NAME}] ${backend}, ${threads} thread(s) ...\n`);
  const r = spawnSync(process.execPath, args, { cwd: REPO, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new UsageError(`${NAME}: the ${backend} run failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
}

/** One JSON line from a peer script in the torch venv, or undefined (with a note) when the venv is absent. */
function peer(script: string, args: string[], threads: number): Record<string, number> | undefined {
  if (!existsSync(VENV_PYTHON)) return undefined;
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const r = spawnSync(VENV_PYTHON, [join(REPO, 'scripts', 'peer', script), ...args], { cwd: REPO, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new UsageError(`${NAME}: ${script} failed (exit ${r.status}): ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

await runScript(NAME, {
  backends: { type: 'string', default: 'node,wasm' },
  threads: { type: 'string', default: [1, availableParallelism()].filter((v, i, a) => a.indexOf(v) === i).join(',') },
  data: { type: 'string', default: 'data/khan' },
  model: { type: 'string', default: 'models/pretrained/all-MiniLM-L6-v2' },
  texts: { type: 'string', default: '512' },
  quick: { type: 'boolean', default: false },
  paired: { type: 'string', default: '9' },
  child: { type: 'string' },
  'child-serve': { type: 'string' },
  'child-threads': { type: 'string', default: '1' },
}, async (values) => {
  if (values.child) return child(values);
  if (values['child-serve']) return serveMinilm(values);
  const backends = String(values.backends).split(',');
  const threadCounts = String(values.threads).split(',').map(Number);
  const started = loadavg();
  const runs: ChildResult[] = [];
  for (const backend of backends) for (const threads of threadCounts) runs.push(runChild(backend, threads, values));
  // The peers on the same texts: write them once.
  mkdirSync(OUT, { recursive: true });
  const textsFile = join(OUT, 'backends-texts.json');
  writeFileSync(textsFile, JSON.stringify(await texts(String(values.data), Number(values.texts))));
  const peers = threadCounts.map((threads) => ({
    threads,
    numpy: peer('numpy_matmul.py', ['--threads', String(threads)], threads),
    st: existsSync(join(String(values.model), 'model.safetensors')) ? peer('st_encode.py', ['--model', String(values.model), '--texts', textsFile, '--max-length', String(MAX_LENGTH), '--threads', String(threads), '--repeat', values.quick ? '1' : '3'], threads) : undefined,
  }));
  // Paired rounds: the native backend's MiniLM and sentence-transformers alternating, one pass each per round.
  const native = backends.find((b) => b === 'node' || b === 'gpu');
  const pairedCount = values.quick ? Math.min(3, Number(values.paired)) : Number(values.paired);
  const paired: { threads: number; rounds: PairedRound[] }[] = [];
  if (native && pairedCount > 0 && existsSync(VENV_PYTHON) && existsSync(join(String(values.model), 'model.safetensors'))) {
    for (const threads of threadCounts) paired.push({ threads, rounds: await pairedMinilm(values, native, threads, textsFile, pairedCount) });
  }
  const record = { createdAt: new Date().toISOString(), loadAverage: { start: started, end: loadavg() }, runs, peers, paired };
  writeFileSync(join(OUT, 'backends.json'), JSON.stringify(record, null, 1));

  console.log(`load average ${started.map((l) => l.toFixed(2)).join(' ')} at the start, ${loadavg().map((l) => l.toFixed(2)).join(' ')} at the end; ${availableParallelism()} cores`);
  for (const r of runs) console.log(`- ${r.backend}, ${r.threads} thread(s): ${r.message}`);
  console.log('');
  console.log('| backend | threads | matmul GFLOP/s | two-tower train pairs/s (GFLOP/s) | cross-encoder train pairs/s | cross-encoder score pairs/s (GFLOP/s) | MiniLM texts/s (GFLOP/s) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(`| ${r.backend} | ${r.threads} | ${fmt(r.matmulGflops, 1)} | ${fmt(r.twoTower.pairsPerSecond)} (${fmt(r.twoTower.gflops, 1)}) | ${fmt(r.crossEncoder.trainPairsPerSecond)} | ${fmt(r.crossEncoder.scorePairsPerSecond)} (${fmt(r.crossEncoder.scoreGflops, 1)}) | ${r.minilm ? `${fmt(r.minilm.textsPerSecond, 1)} (${fmt(r.minilm.gflops, 1)})` : '-'} |`);
  }
  for (const p of peers) {
    const np = p.numpy as unknown as { gflops?: Record<string, number> } | undefined;
    console.log(`| numpy (peak) | ${p.threads} | ${fmt(np?.gflops?.['1024'], 1)} | | | | |`);
    if (p.st) console.log(`| sentence-transformers (torch ${p.st.torch}) | ${p.threads} | | | | | ${fmt(p.st.texts_per_second, 1)} |`);
  }
  console.log('');
  console.log('Ratios (same thread count, same run):');
  for (const threads of threadCounts) {
    const at = (kind: string) => runs.find((r) => r.backend === kind && r.threads === threads);
    const node = at('node') ?? at('gpu');
    const wasm = at('wasm');
    const st = peers.find((p) => p.threads === threads)?.st;
    const np = (peers.find((p) => p.threads === threads)?.numpy as unknown as { gflops?: Record<string, number> } | undefined)?.gflops?.['1024'];
    const parts: string[] = [];
    if (node && wasm) {
      parts.push(`native/wasm: matmul ${fmt(node.matmulGflops / wasm.matmulGflops, 2)}x, two-tower ${fmt(node.twoTower.pairsPerSecond / wasm.twoTower.pairsPerSecond, 2)}x, cross-encoder train ${fmt(node.crossEncoder.trainPairsPerSecond / wasm.crossEncoder.trainPairsPerSecond, 2)}x, score ${fmt(node.crossEncoder.scorePairsPerSecond / wasm.crossEncoder.scorePairsPerSecond, 2)}x`);
      if (node.minilm && wasm.minilm) parts.push(`MiniLM ${fmt(node.minilm.textsPerSecond / wasm.minilm.textsPerSecond, 2)}x`);
    }
    if (node?.minilm && st) parts.push(`MiniLM native/PyTorch ${fmt(node.minilm.textsPerSecond / st.texts_per_second, 2)}x`);
    if (node && np) parts.push(`tfjs-node matmul / numpy peak ${fmt(node.matmulGflops / np, 2)}x, MiniLM at ${fmt(((node.minilm?.gflops ?? NaN) / np) * 100)}% of the peak`);
    console.log(`- ${threads} thread(s): ${parts.join('; ') || 'nothing to compare'}`);
  }
  if (paired.length > 0) {
    console.log('');
    console.log(`MiniLM in paired rounds (${native} against sentence-transformers, one pass of each per round, order swapped every round):`);
    console.log('');
    console.log('| threads | trellis texts/s, median | sentence-transformers texts/s, median | ratio, median of rounds | ratio, min - max | rounds >= 1.0x |');
    console.log('|---:|---:|---:|---:|---:|---:|');
    for (const { threads, rounds } of paired) {
      const s = summarize(rounds, 1);
      console.log(`| ${threads} | ${fmt(s.aMedian, 1)} | ${fmt(s.bMedian, 1)} | **${fmt(s.ratioMedian, 2)}x** | ${fmt(s.ratioMin, 2)} - ${fmt(s.ratioMax, 2)} | ${s.atTarget} of ${s.rounds} |`);
    }
  }
});
