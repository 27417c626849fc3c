/**
 * Embedding-bag benchmark: forward + backward of a mean-pooled bag of hashed
 * feature ids, three layouts, on the chosen tfjs backend (default wasm).
 *
 *   node --import tsx scripts/bench-embedding-bag.ts --backend wasm
 *
 * csr     gather(table, ids) [N, D] -> unsortedSegmentSum by text [B, D] -> / lengths
 * padded  gather(table, ids [B, L]) [B, L, D] -> * mask -> sum over L -> / lengths
 * unique  csr on the rows the batch touches: gather(table, unique) [U, D] is the
 *         differentiable input, so the gradient is [U, D] instead of [V, D]
 *
 * Text lengths mimic trellis data: half titles (40-120 ids), half longer
 * texts (200-1024 ids).
 */
import { parseArgs } from 'node:util';
import { initRuntime } from '../src/models/runtime.ts';
import { tf } from '../src/models/tf.ts';
import { mulberry32 } from '../src/random.ts';
import { uniqueIds } from '../src/text/hashing.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    buckets: { type: 'string', default: String(2 ** 18) },
    dim: { type: 'string', default: '128' },
    batch: { type: 'string', default: '256' },
    reps: { type: 'string', default: '5' },
    seed: { type: 'string', default: '42' },
  },
  strict: true,
});

const info = await initRuntime(values.backend);
process.stderr.write(info.message + '\n');
const V = Number(values.buckets);
const D = Number(values.dim);
const B = Number(values.batch);
const reps = Number(values.reps);
const rng = mulberry32(Number(values.seed));

const lengths = Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 40 + Math.floor(rng() * 81) : 200 + Math.floor(rng() * 825)));
const nnz = lengths.reduce((a, b) => a + b, 0);
const L = Math.max(...lengths);
const ids = new Int32Array(nnz);
const segments = new Int32Array(nnz);
const padded = new Int32Array(B * L);
const mask = new Float32Array(B * L);
let p = 0;
lengths.forEach((len, t) => {
  for (let j = 0; j < len; j++, p++) {
    ids[p] = 1 + Math.floor(rng() * (V - 1));
    segments[p] = t;
    padded[t * L + j] = ids[p];
    mask[t * L + j] = 1;
  }
});
const { unique, local } = uniqueIds(new Uint32Array(ids.buffer), V);

const table = tf.variable(tf.randomNormal([V, D], 0, 0.05)); // [V, D]
const target = tf.randomNormal([B, D]); // [B, D]
const idsT = tf.tensor1d(ids, 'int32'); // [N]
const segT = tf.tensor1d(segments, 'int32'); // [N]
const lenT = tf.tensor2d(Float32Array.from(lengths), [B, 1]); // [B, 1]
const paddedT = tf.tensor2d(padded, [B, L], 'int32'); // [B, L]
const maskT = tf.tensor3d(mask, [B, L, 1]); // [B, L, 1]
const uniqueT = tf.tensor1d(Int32Array.from(unique), 'int32'); // [U]
const localT = tf.tensor1d(new Int32Array(local.buffer), 'int32'); // [N]

const loss = (bag: tf.Tensor) => tf.mean(tf.square(tf.sub(bag, target))) as tf.Scalar;
const variants: Record<string, () => void> = {
  csr: () => {
    const { grads } = tf.variableGrads(() => loss(tf.div(tf.unsortedSegmentSum(tf.gather(table, idsT), segT, B), lenT)), [table]);
    grads[table.name].dataSync(); // [V, D]
  },
  padded: () => {
    const { grads } = tf.variableGrads(() => {
      const rows = tf.reshape(tf.gather(table, tf.reshape(paddedT, [-1])), [B, L, D]); // [B, L, D]
      return loss(tf.div(tf.sum(tf.mul(rows, maskT), 1), lenT)); // [B, D]
    }, [table]);
    grads[table.name].dataSync(); // [V, D]
  },
  unique: () => {
    const rows = tf.gather(table, uniqueT); // [U, D]
    const grad = tf.grad((r: tf.Tensor) => loss(tf.div(tf.unsortedSegmentSum(tf.gather(r, localT), segT, B), lenT)))(rows); // [U, D]
    grad.dataSync();
  },
};

const lines = [
  `| layout | B | ids (N) | max len (L) | distinct (U) | V x D | ms / step |`,
  `|---|---|---|---|---|---|---|`,
];
for (const [name, step] of Object.entries(variants)) {
  tf.tidy(step); // warm-up
  const t = performance.now();
  for (let r = 0; r < reps; r++) tf.tidy(step);
  const ms = (performance.now() - t) / reps;
  lines.push(`| ${name} | ${B} | ${nnz} | ${L} | ${unique.length} | ${V} x ${D} | ${ms.toFixed(0)} |`);
}
process.stdout.write(`${info.message}\n\n${lines.join('\n')}\n`);
