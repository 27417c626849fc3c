import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../../src/runtime/tf.ts';
import { initRuntime } from '../../../src/runtime/backend.ts';
import { inBatchLogits, inBatchSoftmaxLoss } from '../../../src/models/losses/in-batch-softmax.ts';

before(async () => {
  await initRuntime();
});

const close = (a: number, b: number, eps = 1e-5) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

// Two queries, three candidates (column i < 2 is query i's positive, column 2 an extra negative).
//   q0 = [1, 0], q1 = [0, 1];  c0 = [1, 0], c1 = [0.6, 0.8], c2 = [0, 1]
//   dot products: q0: [1, 0.6, 0],  q1: [0, 0.8, 1]
const q = () => tf.tensor2d([1, 0, 0, 1], [2, 2]);
const c = () => tf.tensor2d([1, 0, 0.6, 0.8, 0, 1], [3, 2]);

test('in-batch softmax loss equals the hand-computed value', () => {
  // temperature 0.5: logits q0 = [2, 1.2, 0], q1 = [0, 1.6, 2]
  // loss0 = -log(e^2 / (e^2 + e^1.2 + e^0)) = 0.4986..., loss1 = -log(e^1.6 / (e^0 + e^1.6 + e^2)) = 1.0394...
  const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
  const expected = ((lse([2, 1.2, 0]) - 2) + (lse([0, 1.6, 2]) - 1.6)) / 2;
  const loss = tf.tidy(() => inBatchSoftmaxLoss({ queries: q(), candidates: c(), temperature: 0.5 }).dataSync()[0]);
  close(loss, expected);
});

test('logQ shifts every logit by exactly -log p of its column', () => {
  const p = [0.5, 0.25, 0.125];
  const [plain, corrected] = tf.tidy(() => [
    Array.from(inBatchLogits({ queries: q(), candidates: c(), temperature: 0.5 }).dataSync()),
    Array.from(inBatchLogits({ queries: q(), candidates: c(), temperature: 0.5, logQ: Float32Array.from(p, Math.log) }).dataSync()),
  ]);
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) close(corrected[i * 3 + j], plain[i * 3 + j] - Math.log(p[j]));
});

test('masking removes an accidental positive from the negatives', () => {
  // If c2 is also a true link of q1, q1's loss must ignore it: -log(e^1.6 / (e^0 + e^1.6)).
  const hits = Uint8Array.from([0, 0, 0, 0, 0, 1]);
  const logits = tf.tidy(() => Array.from(inBatchLogits({ queries: q(), candidates: c(), temperature: 0.5, accidentalHits: hits }).dataSync()));
  assert.ok(logits[5] < -1e8);
  const loss = tf.tidy(() => inBatchSoftmaxLoss({ queries: q(), candidates: c(), temperature: 0.5, accidentalHits: hits }).dataSync()[0]);
  const loss0 = Math.log(Math.exp(2) + Math.exp(1.2) + 1) - 2;
  const loss1 = Math.log(1 + Math.exp(1.6)) - 1.6;
  close(loss, (loss0 + loss1) / 2);
});
