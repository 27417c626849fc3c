import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/tf.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { SparseEmbedding } from '../../src/models/sparse-embedding.ts';
import { localize } from '../../src/runtime/variables.ts';
import { segmentSum } from '../../src/runtime/ops.ts';

before(async () => {
  await initRuntime();
});

test('localize maps ids to one table of unique rows', () => {
  const { unique, local } = localize([Int32Array.of(5, 9, 5), Int32Array.of(9, 2)]);
  assert.deepEqual(Array.from(unique), [5, 9, 2]);
  assert.deepEqual(local.map((l) => Array.from(l)), [[0, 1, 0], [1, 2]]);
});

test('lazy Adam on the touched rows equals tfjs Adam on a dense table for those rows (within float32 rounding)', async () => {
  const rows = 6, dim = 3;
  const sparse = new SparseEmbedding('t', rows, dim, 7, 0.5);
  const dense = tf.variable(tf.tensor2d(sparse.table.slice(), [rows, dim]));
  const optimizer = tf.train.adam(0.1, 0.9, 0.999, 1e-7);
  const target = tf.tensor2d([1, -1, 0.5, 0.2, 0.3, -0.7], [2, dim]);
  const ids = Int32Array.of(4, 1);
  for (let step = 1; step <= 3; step++) {
    // Dense reference: loss = sum((E[ids] - target)^2), Adam over the whole table.
    optimizer.minimize(() => tf.sum(tf.square(tf.sub(tf.gather(dense, tf.tensor1d(ids, 'int32')), target))) as tf.Scalar, false, [dense]);
    // Sparse: gradient of the gathered rows only.
    const v = sparse.gatherVariable(ids);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.sub(v, target))) as tf.Scalar, [v]);
    sparse.applyAdam(ids, (await grads[v.name].data()) as Float32Array, 0.1, step);
    grads[v.name].dispose();
    v.dispose();
  }
  const expected = await dense.data();
  for (const r of [1, 4]) for (let j = 0; j < dim; j++) assert.ok(Math.abs(sparse.table[r * dim + j] - expected[r * dim + j]) < 1e-5);
  // Untouched rows keep their initial values in both.
  for (const r of [0, 2, 3, 5]) for (let j = 0; j < dim; j++) assert.ok(Math.abs(sparse.table[r * dim + j] - expected[r * dim + j]) < 1e-6);
  dense.dispose();
  target.dispose();
  optimizer.dispose();
});

test('segmentSum adds rows by segment, and its gradient gathers', () => {
  // x = [[1,2],[3,4],[5,6]], segments [1, 0, 1] -> [[3,4],[6,8]]; d(sum(out * w))/dx = w[segment]
  const [out, grad] = tf.tidy(() => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]);
    const w = tf.tensor2d([1, 10, 100, 1000], [2, 2]);
    const value = Array.from(segmentSum(x, Int32Array.of(1, 0, 1), 2).dataSync());
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(segmentSum(t as tf.Tensor2D, Int32Array.of(1, 0, 1), 2), w)))(x);
    return [value, Array.from(g.dataSync())];
  });
  assert.deepEqual(out, [3, 4, 6, 8]);
  assert.deepEqual(grad, [100, 1000, 1, 10, 100, 1000]);
});
