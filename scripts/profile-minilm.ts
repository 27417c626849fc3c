/**
 * Where a MiniLM layer's time goes on the current backend: the ops of one
 * encoder layer (all-MiniLM-L6-v2's sizes: hidden 384, 12 heads, FFN 1536)
 * timed one by one, at the shape of one encoding batch: texts of --length
 * tokens (default 27, Khan's average content length), as many as fit in each
 * of --tokens (default: the encoder's batchTokens, 1024, and the earlier
 * 8192). Weights are random: only the time is read.
 *
 *   TF_NUM_INTRAOP_THREADS=1 node --import tsx scripts/profile-minilm.ts [--backend node] [--tokens 1024,8192] [--length 27] [--repeats 10] [--data data/khan] [--model models/pretrained/all-MiniLM-L6-v2]
 *
 * Each row is the median of --repeats runs after two warm-up runs. The CPU
 * backends (TensorFlow C's eager mode, wasm) run an op synchronously, so the
 * op has finished when the call returns; nothing is read back (a readback
 * copies the whole result out and, for the elementwise ops, costs more than
 * the op). The "per layer" column counts each op as often as a layer runs it
 * (src/pretrained/bert.ts); their sum is close to, not exactly, a layer's
 * time. The last line per budget is the layer's time per token.
 *
 * Then, with the model folder (--model) and a dataset (--data), the padding
 * each budget costs: content texts tokenised, sorted by length and grouped
 * as the encoder groups them (lengthGroups), padded tokens against real ones, for 512
 * evenly spaced texts (what bench-backends.ts encodes) and for all of them.
 */
import { evenlySpaced, runScript } from './script.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contentText, initRuntime, loadDataset, UsageError } from '../src/index.ts';
import { DEFAULT_PRETRAINED_ENCODER_OPTIONS, lengthGroups, PretrainedEncoder } from '../src/pretrained/encoder.ts';
import { tf, type Tensor } from '../src/runtime/tf.ts';

const NAME = 'profile-minilm';
const H = 384;
const HEADS = 12;
const FFN = 1536;

await runScript(NAME, {
  backend: { type: 'string', default: 'node' },
  tokens: { type: 'string', default: `${DEFAULT_PRETRAINED_ENCODER_OPTIONS.batchTokens},8192` },
  length: { type: 'string', default: '27' },
  repeats: { type: 'string', default: '10' },
  data: { type: 'string', default: 'data/khan' },
  model: { type: 'string', default: 'models/pretrained/all-MiniLM-L6-v2' },
}, async (values) => {
  const budgets = String(values.tokens).split(',').map(Number);
  const [L, repeats] = [values.length, values.repeats].map(Number);
  if (![...budgets, L, repeats].every((v) => Number.isInteger(v) && v > 0)) throw new UsageError(`${NAME}: --tokens, --length and --repeats must be positive integers.`);
  const info = await initRuntime(String(values.backend));
  console.error(`[${NAME}] ${info.message}`);
  for (const budget of budgets) profile(Math.max(1, Math.floor(budget / L)), L, repeats, info.kind);
  if (existsSync(join(String(values.model), 'model.safetensors'))) await padding(String(values.data), String(values.model), budgets);
  else console.error(`[${NAME}] no model in ${values.model}: padding not measured (bash scripts/fetch-pretrained.sh)`);
});

/** Padded against real tokens when the texts are grouped as PretrainedEncoder groups them. */
async function padding(data: string, model: string, budgets: number[]): Promise<void> {
  const texts = (await loadDataset(data)).content.map((c) => contentText(c));
  const encoder = await PretrainedEncoder.load(model, { maxLength: DEFAULT_PRETRAINED_ENCODER_OPTIONS.maxLength });
  console.log(`\n| ${data} texts | tokens per batch | batches | padded / real tokens |`);
  console.log('|---|---:|---:|---:|');
  for (const count of [512, texts.length]) {
    const lengths = evenlySpaced(texts, count).map((text) => encoder.tokenizer.encode(text, DEFAULT_PRETRAINED_ENCODER_OPTIONS.maxLength).length);
    const real = lengths.reduce((s, n) => s + n, 0);
    for (const budget of budgets) {
      const groups = lengthGroups(lengths, budget);
      const padded = groups.reduce((s, group) => s + group.length * lengths[group[group.length - 1]], 0);
      const batches = groups.length;
      console.log(`| ${count} | ${budget} | ${batches} | ${(padded / real).toFixed(2)}x (${padded} / ${real}) |`);
    }
  }
  encoder.dispose();
}

function profile(B: number, L: number, repeats: number, backend: string): void {
  const N = B * L;
  const w = H / HEADS;
  const x = tf.randomNormal([N, H]);
  const inner = tf.randomNormal([N, FFN]);
  const [wHH, wHF, wFH] = [tf.randomNormal([H, H]), tf.randomNormal([H, FFN]), tf.randomNormal([FFN, H])];
  const [bH, bF] = [tf.randomNormal([H]), tf.randomNormal([FFN])];
  const q = tf.randomNormal([B * HEADS, L, w]);
  const k = tf.randomNormal([B * HEADS, L, w]);
  const scores = tf.randomNormal([B, HEADS, L, L]);
  const mask = tf.zeros([B, 1, 1, L]);
  const inputs = [x, inner, wHH, wHF, wFH, bH, bF, q, k, scores, mask];

  const rows: Array<{ op: string; perLayer: number; ms: number; flops: number }> = [];
  const time = (op: string, perLayer: number, flops: number, f: () => Tensor) => {
    const once = () => {
      const t0 = performance.now();
      tf.tidy(() => {
        f();
      });
      return performance.now() - t0;
    };
    once();
    once();
    const runs = Array.from({ length: repeats }, once).sort((a, b) => a - b);
    rows.push({ op, perLayer, ms: runs[Math.floor(repeats / 2)], flops });
  };
  time('matMul [N,384]x[384,384] (query, key, value, output)', 4, 2 * N * H * H, () => tf.matMul(x, wHH));
  time('matMul [N,384]x[384,1536] (FFN in)', 1, 2 * N * H * FFN, () => tf.matMul(x, wHF));
  time('matMul [N,1536]x[1536,384] (FFN out)', 1, 2 * N * H * FFN, () => tf.matMul(inner, wFH));
  time('bias add [N,384]', 5, 0, () => tf.add(x, bH));
  time('bias add [N,1536]', 1, 0, () => tf.add(inner, bF));
  time('GELU [N,1536] (erf form, 5 ops)', 1, 0, () => tf.mul(inner, tf.mul(tf.add(tf.erf(tf.mul(inner, Math.SQRT1_2)), 1), 0.5)));
  time('  of which erf', 0, 0, () => tf.erf(inner));
  time('heads split: reshape + transpose [N,384]', 3, 0, () => tf.transpose(tf.reshape(x, [B, L, HEADS, w]), [0, 2, 1, 3]));
  time('key transpose [B*12,L,32]', 1, 0, () => tf.transpose(k, [0, 2, 1]));
  time('attention scores q.k^T', 1, 2 * B * HEADS * L * L * w, () => tf.matMul(q, k, false, true));
  time('masked softmax (scale, mask, softmax)', 1, 0, () => tf.softmax(tf.add(tf.mul(scores, 1 / Math.sqrt(w)), mask), -1));
  time('attention . value', 1, 2 * B * HEADS * L * L * w, () => tf.matMul(tf.reshape(scores, [B * HEADS, L, L]), q));
  time('heads merge: transpose [B,12,L,32]', 1, 0, () => tf.transpose(tf.reshape(q, [B, HEADS, L, w]), [0, 2, 1, 3]));
  time('residual add [N,384]', 2, 0, () => tf.add(x, x));
  time('layer norm [N,384] (moments, rsqrt, 4 ops)', 2, 0, () => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-12))), bH), bH);
  });

  const total = rows.reduce((s, r) => s + r.ms * r.perLayer, 0);
  console.log(`\n| op (batch ${B} x ${L} tokens, ${backend}) | ms | GFLOP/s | x per layer | share of the layer |`);
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) {
    const gflops = r.flops ? (r.flops / r.ms / 1e6).toFixed(1) : '';
    const share = r.perLayer ? `${((100 * r.ms * r.perLayer) / total).toFixed(1)}%` : '';
    console.log(`| ${r.op} | ${r.ms.toFixed(2)} | ${gflops} | ${r.perLayer || ''} | ${share} |`);
  }
  const matmul = rows.filter((r) => r.op.startsWith('matMul')).reduce((s, r) => s + r.ms * r.perLayer, 0);
  console.log(`\nsum per layer ${total.toFixed(1)} ms (${((1000 * total) / N).toFixed(1)} us a token); dense matMuls ${((100 * matmul) / total).toFixed(1)}%`);
  for (const t of inputs) t.dispose();
}
