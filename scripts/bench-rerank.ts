/**
 * Cross-encoder throughput: training pairs/s and scoring pairs/s at the
 * default model size (or any size given by flags), on synthetic text.
 *
 *   node --import tsx scripts/bench-rerank.ts [--backend auto] [--train-pairs 1280] [--score-pairs 4096] [--batch 64] [--repeat 3]
 *
 * Two text mixes: "full", where every pair fills maxLength (96 tokens: the
 * worst case), and "mixed", with topic texts of 5-40 words and content texts
 * of 5-150 words (roughly LECR's spread from title-only items to long
 * descriptions). Training skips its first two steps (warm-up) and reports the
 * median step; scoring reports the median of --repeat calls. Wall time and
 * process CPU time are both given: on a shared machine the CPU figure is the
 * steadier one.
 *
 * --kernels adds the kernel timings behind src/rerank/ops.ts: each slow form
 * tfjs's default gradients use next to the form ops.ts uses, at the shapes of
 * one default training step (B = 64, L = 96, H = 64, 4 heads).
 */
import { loadavg } from 'node:os';
import { runScript } from './script.ts';
import { CrossEncoder, DEFAULT_CROSS_ENCODER_OPTIONS, initRuntime, mulberry32, UsageError, type Rng } from '../src/index.ts';
import { batchMatMul, tf, type PairSet } from '../src/internal.ts';

const FEATURES = 8;

function positive(name: string, value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`bench-rerank: --${name} must be a positive integer (got ${JSON.stringify(value)}).`);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Milliseconds of wall time and of process CPU time (user + system). */
function clock(): { wall: number; cpu: number } {
  const { user, system } = process.cpuUsage();
  return { wall: performance.now(), cpu: (user + system) / 1000 };
}

function text(rng: Rng, words: number): string {
  // A 20,000-word vocabulary with a Zipf-like skew, so buckets repeat as in real text.
  return Array.from({ length: words }, () => `w${Math.floor(20000 * rng() ** 2)}`).join(' ');
}

function pairSet(model: CrossEncoder, n: number, mix: 'full' | 'mixed', seed: number): PairSet {
  const rng = mulberry32(seed);
  const topics = 300;
  const contents = 3000;
  const between = (lo: number, hi: number) => lo + Math.floor(rng() * (hi - lo + 1));
  const topicTexts = Array.from({ length: topics }, () => text(rng, mix === 'full' ? 60 : between(5, 40)));
  const contentTexts = Array.from({ length: contents }, () => text(rng, mix === 'full' ? 200 : between(5, 150)));
  return {
    topics: model.tokenize(topicTexts),
    contents: model.tokenize(contentTexts),
    topicIndex: Uint32Array.from({ length: n }, () => Math.floor(rng() * topics)),
    contentIndex: Uint32Array.from({ length: n }, () => Math.floor(rng() * contents)),
    features: Float32Array.from({ length: n * FEATURES }, () => rng()),
    labels: Uint8Array.from({ length: n }, () => (rng() < 0.2 ? 1 : 0)),
  };
}

/** CPU ms of `f` (median of `repeat` runs after one warm-up), all tensors disposed. */
function cpuMs(repeat: number, f: () => tf.Tensor | tf.Tensor[]): number {
  tf.dispose(f());
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const start = clock().cpu;
    const out = tf.tidy(f);
    for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    times.push(clock().cpu - start);
    tf.dispose(out);
  }
  return median(times);
}

function kernelTable(repeat: number): void {
  const rng = mulberry32(4);
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1), shape);
  const x = rand([6144, 64]) as tf.Tensor2D; // [B*L, H]
  const w = rand([64, 128]) as tf.Tensor2D; // [H, F]
  const dy = rand([6144, 128]) as tf.Tensor2D; // [B*L, F]
  const table = rand([(1 << 15) + 4, 64]) as tf.Tensor2D; // [V + 4, H]
  const ids = Int32Array.from({ length: 6144 }, () => Math.floor(rng() * (1 << 15)));
  const q = rand([256, 96, 16]) as tf.Tensor3D; // [B*heads, L, dH]
  const kT = rand([256, 16, 96]) as tf.Tensor3D; // [B*heads, dH, L]
  const p = rand([256, 96, 96]) as tf.Tensor3D; // [B*heads, L, L]
  const v = rand([256, 96, 16]) as tf.Tensor3D; // [B*heads, L, dH]
  const rows: [string, string, number, string, number][] = [
    ['dense dW = x^T dy', 'matMul(x, dy, transposeA)', cpuMs(repeat, () => tf.matMul(x, dy, true, false)), 'matMul(transpose(x), dy)', cpuMs(repeat, () => tf.matMul(tf.transpose(x), dy))],
    ['dense dx = dy W^T', 'matMul(dy, W, transposeB)', cpuMs(repeat, () => tf.matMul(dy, w, false, true)), 'matMul(dy, transpose(W))', cpuMs(repeat, () => tf.matMul(dy, tf.transpose(w)))],
    ['bias gradient', 'sum(dy, 0)', cpuMs(repeat, () => tf.sum(dy, 0)), 'matMul(ones[1, N], dy)', cpuMs(repeat, () => tf.matMul(tf.ones([1, 6144]), dy))],
    ['embedding lookup', 'gather(table, ids)', cpuMs(repeat, () => tf.gather(table, tf.tensor1d(ids, 'int32'))), 'gatherND(table, ids[:, None])', cpuMs(repeat, () => tf.gatherND(table, tf.tensor2d(ids, [ids.length, 1], 'int32')))],
    ['attention scores Q K^T', 'matMul (batched, 256 x [96,16][16,96])', cpuMs(repeat, () => tf.matMul(q, kT)), 'batchMatMul (one 2-D matMul per entry)', cpuMs(repeat, () => batchMatMul(q, kT))],
    ['attention context P V', 'matMul (batched, 256 x [96,96][96,16])', cpuMs(repeat, () => tf.matMul(p, v)), 'batchMatMul (one 2-D matMul per entry)', cpuMs(repeat, () => batchMatMul(p, v))],
    ['256 entries as tensors', 'unstack(q)', cpuMs(repeat, () => tf.unstack(q)), 'gatherND(q, [e]) x 256', cpuMs(repeat, () => Array.from({ length: 256 }, (_, e) => tf.gatherND(q, tf.tensor1d([e], 'int32'))))],
  ];
  tf.dispose([x, w, dy, table, q, kT, p, v]);
  console.log('| step | tfjs default | cpu ms | ops.ts | cpu ms |');
  console.log('|---|---|---:|---|---:|');
  for (const [what, slow, slowMs, fast, fastMs] of rows) console.log(`| ${what} | ${slow} | ${slowMs.toFixed(1)} | ${fast} | ${fastMs.toFixed(1)} |`);
  console.log('');
}

await runScript(
  'bench-rerank',
  {
    backend: { type: 'string', default: 'auto' },
    'train-pairs': { type: 'string', default: '1280' },
    'score-pairs': { type: 'string', default: '4096' },
    batch: { type: 'string', default: '64' },
    repeat: { type: 'string', default: '3' },
    kernels: { type: 'boolean', default: false },
  },
  async (values) => {
    const trainPairs = positive('train-pairs', values['train-pairs']);
    const scorePairs = positive('score-pairs', values['score-pairs']);
    const batchSize = positive('batch', values.batch);
    const repeat = positive('repeat', values.repeat);
    const info = await initRuntime(String(values.backend));
    const load = loadavg()[0];
    const o = DEFAULT_CROSS_ENCODER_OPTIONS;
    console.log(info.message);
    console.log(
      `model: vocab 2^${Math.log2(o.vocabSize)}, maxLength ${o.maxLength}, hidden ${o.hidden}, ${o.heads} heads, ${o.layers} layers, ffn ${o.ffn}, ${FEATURES} side features; batch ${batchSize}; load average ${load.toFixed(1)}`,
    );
    console.log('');
    if (values.kernels) kernelTable(Math.max(repeat, 7));
    console.log('| text mix | mean tokens/pair | train pairs/s (wall) | train pairs/s (cpu) | score pairs/s (wall) | score pairs/s (cpu) |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const mix of ['full', 'mixed'] as const) {
      const model = new CrossEncoder(FEATURES, {});
      try {
        const train = pairSet(model, trainPairs, mix, 1);
        const steps: { wall: number; cpu: number; pairs: number }[] = [];
        let last = clock();
        let seen = 0;
        await model.train(train, { epochs: 1, batchSize }, {
          onStep: (step) => {
            const now = clock();
            const pairs = Math.min(batchSize, trainPairs - seen);
            seen += pairs;
            if (step > 2) steps.push({ wall: now.wall - last.wall, cpu: now.cpu - last.cpu, pairs });
            last = now;
          },
        });
        if (steps.length === 0) throw new UsageError(`bench-rerank: --train-pairs must allow more than two steps (got ${trainPairs}).`);
        const trainWall = median(steps.map((s) => (s.pairs * 1000) / s.wall));
        const trainCpu = median(steps.map((s) => (s.pairs * 1000) / s.cpu));

        const score = pairSet(model, scorePairs, mix, 2);
        const walls: number[] = [];
        const cpus: number[] = [];
        model.score(score); // warm-up
        for (let r = 0; r < repeat; r++) {
          const start = clock();
          model.score(score);
          const end = clock();
          walls.push(end.wall - start.wall);
          cpus.push(end.cpu - start.cpu);
        }
        let tokens = 0;
        for (let p = 0; p < scorePairs; p++) {
          const t = score.topicIndex[p];
          const c = score.contentIndex[p];
          const topic = Math.max(1, Math.min(score.topics.offsets[t + 1] - score.topics.offsets[t], o.maxTopicTokens));
          const content = Math.max(1, Math.min(score.contents.offsets[c + 1] - score.contents.offsets[c], o.maxLength - 3 - topic));
          tokens += topic + content + 3;
        }
        const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
        console.log(
          `| ${mix} | ${(tokens / scorePairs).toFixed(1)} | ${fmt(trainWall)} | ${fmt(trainCpu)} | ${fmt((scorePairs * 1000) / median(walls))} | ${fmt((scorePairs * 1000) / median(cpus))} |`,
        );
      } finally {
        model.dispose();
      }
    }
  },
);
