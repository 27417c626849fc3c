import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/tf.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { Adam, adamRows, biasCorrections, DEFAULT_ADAM } from '../../src/runtime/adam.ts';
import { PARITY_BACKENDS } from '../backends.ts';


const close = (a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tolerance, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

for (const backend of PARITY_BACKENDS) test(`one step by hand: Adam, then with decoupled decay, then with a clipped gradient (${backend})`, async () => {
  await initRuntime(backend);
  // w = 1, g = 0.5, lr = 0.1: m = 0.05, v = 0.00025; m / (1 - 0.9) = 0.5, v / (1 - 0.999) = 0.25,
  // so the step is 0.5 / (0.5 + 1e-7) ~= 1 and w = 1 - 0.1 = 0.9.
  // With decay 0.01 on a decayed variable: w = 1 - 0.1 (1 + 0.01 * 1) = 0.899.
  for (const [decay, expected] of [[0, 0.9], [0.01, 0.899]] as const) {
    const w = tf.variable(tf.scalar(1));
    const adam = new Adam([{ variable: w, decayed: true, byRows: false }], { weightDecay: decay });
    tf.tidy(() => adam.apply([tf.scalar(0.5)], 0.1));
    close([w.dataSync()[0]], [expected], 1e-6, `decay ${decay}`);
    adam.dispose();
    w.dispose();
  }
  // g = [3, 4] has norm 5; clipped to norm 1 it is [0.6, 0.8], so m = 0.1 g = [0.06, 0.08].
  const w = tf.variable(tf.tensor1d([0, 0]));
  const adam = new Adam([w], { clipNorm: 1 });
  tf.tidy(() => adam.apply([tf.tensor1d([3, 4])], 0.1));
  const [m] = adam.state(() => 'w').filter((a) => a.name === 'w/adam_m');
  close(m.values, [0.06, 0.08], 1e-7, 'clipped first moment');
  adam.dispose();
  w.dispose();
});

for (const backend of PARITY_BACKENDS) test(`the same rule three ways: dense variables, row updates of a variable, a CPU table; and against tf.train.adam (${backend})`, async () => {
  await initRuntime(backend);
  const rows = 6, dim = 3, lr = 0.05;
  const init = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i + 1));
  const target = Float32Array.from({ length: 2 * dim }, (_, i) => Math.cos(i));
  const ids = Int32Array.of(4, 1);
  const dense = tf.variable(tf.tensor2d(init, [rows, dim]));
  const byRows = tf.variable(tf.tensor2d(init, [rows, dim]));
  const reference = tf.variable(tf.tensor2d(init, [rows, dim]));
  const towersLike = tf.variable(tf.tensor2d(init, [rows, dim]));
  const cpu = { table: init.slice(), m: new Float32Array(rows * dim), v: new Float32Array(rows * dim), dim };
  const adamDense = new Adam([dense]);
  const adamRowsVar = new Adam([{ variable: byRows, decayed: false, byRows: true }]);
  const adamFloat32 = new Adam([towersLike], { float32Corrections: true });
  const tfAdam = tf.train.adam(lr, DEFAULT_ADAM.beta1, DEFAULT_ADAM.beta2, DEFAULT_ADAM.epsilon);
  const loss = (table: tf.Tensor2D) => tf.sum(tf.square(tf.sub(tf.gather(table, tf.tensor1d(ids, 'int32')), tf.tensor2d(target, [2, dim])))) as tf.Scalar;
  for (let step = 1; step <= 5; step++) {
    tf.tidy(() => {
      const g = tf.grad((t: tf.Tensor) => loss(t as tf.Tensor2D))(dense); // [rows, dim], zero off the used rows
      adamDense.apply([g], lr);
      adamFloat32.apply([tf.grad((t: tf.Tensor) => loss(t as tf.Tensor2D))(towersLike)], lr);
      const rowGrad = tf.gather(tf.grad((t: tf.Tensor) => loss(t as tf.Tensor2D))(byRows), tf.tensor1d(ids, 'int32')) as tf.Tensor2D; // [2, dim]
      adamRowsVar.apply([{ rows: ids, grad: rowGrad }], lr);
      const gCpu = tf.gather(tf.grad((t: tf.Tensor) => loss(t as tf.Tensor2D))(tf.tensor2d(cpu.table, [rows, dim])), tf.tensor1d(ids, 'int32'));
      adamRows(cpu, ids, gCpu.dataSync() as Float32Array, lr, step);
    });
    tfAdam.minimize(() => loss(reference), false, [reference]);
  }
  const d = dense.dataSync();
  close(byRows.dataSync(), d, 1e-6, 'rows vs dense');
  // The CPU table's efficient form moves epsilon (see the next test): the same rule within 1e-5 here.
  close(cpu.table, d, 1e-5, 'cpu table vs dense');
  // tf.train.adam accumulates b^t in float32: the same rule within float32 rounding.
  close(reference.dataSync(), d, 1e-5, 'tf.train.adam vs dense');
  // With float32 corrections (the towers' setting), bit for bit what tf.train.adam computes.
  assert.deepEqual(Array.from(towersLike.dataSync()), Array.from(reference.dataSync()), 'float32 corrections vs tf.train.adam');
  // Untouched rows keep their values (and, updated by rows, their moments stay zero).
  for (const r of [0, 2, 3, 5]) close(byRows.dataSync().slice(r * dim, (r + 1) * dim), init.slice(r * dim, (r + 1) * dim), 0, `row ${r}`);
  for (const x of [adamDense, adamRowsVar, adamFloat32, tfAdam]) x.dispose();
  tf.dispose([dense, byRows, reference, towersLike]);
});

test('a CPU table steps in the efficient form (epsilon hat), with decoupled decay', () => {
  // w = 1, g = 1e-6, lr = 0.1, step 1: m = 1e-7, v = 1e-15. The efficient form moves w by
  // lr sqrt(1 - 0.999) / (1 - 0.9) * m / (sqrt(v) + 1e-7) = 0.0316228 * 0.759747 = 0.024025;
  // Algorithm 1 (the dense form) would move it by 0.1 * 1e-6 / (1e-6 + 1e-7) = 0.0909.
  for (const [decay, expected] of [[0, 0.9759747], [0.01, 0.9749747]] as const) {
    const cpu = { table: Float32Array.of(1), m: new Float32Array(1), v: new Float32Array(1), dim: 1 };
    adamRows(cpu, Int32Array.of(0), Float32Array.of(1e-6), 0.1, 1, { ...DEFAULT_ADAM, weightDecay: decay });
    close(cpu.table, [expected], 1e-6, `decay ${decay}`);
  }
});

test('state and load restore the moments and the step; a variable without a gradient is left alone', async () => {
  await initRuntime();
  const a = tf.variable(tf.tensor1d([1, 2]));
  const b = tf.variable(tf.tensor1d([3]));
  const adam = new Adam([a, b]);
  tf.tidy(() => adam.apply([tf.tensor1d([0.5, -0.5]), undefined], 0.1));
  assert.deepEqual(Array.from(b.dataSync()), [3]);
  const saved = adam.state((v) => (v === a ? 'a' : 'b'));
  assert.deepEqual(saved.map((s) => s.name), ['adam/step', 'a/adam_m', 'a/adam_v', 'b/adam_m', 'b/adam_v']);
  const again = new Adam([a, b]);
  again.load(saved, (v) => (v === a ? 'a' : 'b'));
  assert.equal(again.steps, 1);
  assert.deepEqual(again.state((v) => (v === a ? 'a' : 'b')).map((s) => Array.from(s.values)), saved.map((s) => Array.from(s.values)));
  assert.deepEqual(biasCorrections(DEFAULT_ADAM, 2), [1 - 0.81, 1 - 0.999 ** 2]);
  adam.dispose();
  again.dispose();
  tf.dispose([a, b]);
});
