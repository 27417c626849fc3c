import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../../src/runtime/tf.ts';
import { assertTrainable, initRuntime, installSegmentSumKernel, resolveBackendChoice, runtimeInfo } from '../../src/runtime/backend.ts';
import { ConfigError, TrellisError } from '../../src/errors.ts';
import { mulberry32 } from '../../src/random.ts';
import { NATIVE, PARITY_BACKENDS, nativeSkip } from '../backends.ts';

/** Every kernel and gradient test runs on each backend: TensorFlow C when it loads, wasm and the plain-JS cpu one. */
const BACKENDS = [...PARITY_BACKENDS, 'cpu'] as const;

function randomArray(n: number, seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

test('the original cpu UnsortedSegmentSum is refused for training', async () => {
  // Before any install: plain tfjs cpu carries the per-segment loop.
  await tf.setBackend('cpu');
  assert.throws(() => assertTrainable(), (error: unknown) => {
    assert.ok(error instanceof TrellisError);
    assert.match(error.message, /^trellis\/runtime: the cpu backend's UnsortedSegmentSum kernel must be the ScatterNd-based one for training \(got tfjs's per-segment loop/);
    return true;
  });
  installSegmentSumKernel('cpu');
  assertTrainable();
});

test('auto picks a backend and reports it in one line: TensorFlow C wherever tfjs-node loads', async () => {
  const info = await initRuntime('auto');
  assert.ok(['gpu', 'node', 'wasm'].includes(info.kind), info.message);
  if (NATIVE) assert.ok(info.kind === 'node' || info.kind === 'gpu', info.message);
  assert.equal(info.choice, 'auto');
  assert.equal(info.versions.tfjs, tf.version.tfjs);
  if (info.tfBackend === 'tensorflow') {
    assert.match(info.versions.libtensorflow ?? '', /^\d+\.\d+/);
    assert.ok(info.opThreads >= 1);
  } else {
    assert.equal(info.opThreads, 1);
  }
  assert.equal(tf.getBackend(), info.tfBackend);
  assert.match(info.message, /^tfjs backend: (gpu|node|wasm) \(/);
  assert.ok(!info.message.includes('\n'));
  assert.equal(runtimeInfo(), info);
  assert.equal(await initRuntime('auto'), info, 'a second call returns the first result');
  assertTrainable();
});

test('node: TensorFlow C loads, reports libtensorflow and runs on every core by default', { skip: nativeSkip }, async () => {
  const info = await initRuntime('node');
  assert.equal(tf.getBackend(), 'tensorflow');
  assert.match(info.message, /^tfjs backend: node \(TensorFlow C on CPU, \d+ threads/);
  assert.match(info.versions.libtensorflow ?? '', /^2\.\d+\.\d+/);
});

test('an unknown backend choice is a ConfigError', () => {
  assert.throws(() => resolveBackendChoice('tpu'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'trellis/runtime: backend must be one of auto, gpu, node, wasm, cpu (got "tpu").');
    return true;
  });
});

for (const backend of BACKENDS) {
  test(`${backend}: unsortedSegmentSum on a hand-worked 3x3 case`, async () => {
    const info = await initRuntime(backend);
    assert.equal(tf.getBackend(), info.tfBackend);
    assert.equal(info.kind, backend);
    // rows 0 and 2 go to segment 1, row 1 to segment 0, segment 2 stays empty:
    // seg0 = [4,5,6]; seg1 = [1,2,3] + [7,8,9] = [8,10,12]; seg2 = [0,0,0].
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6], [7, 8, 9]]); // [3, 3]
    const ids = tf.tensor1d([1, 0, 1], 'int32'); // [3]
    const out = tf.unsortedSegmentSum(x, ids, 3); // [3, 3]
    assert.deepEqual(out.arraySync(), [[4, 5, 6], [8, 10, 12], [0, 0, 0]]);
    // Segment ids of rank 2: x [2, 2, 2], ids [2, 2] -> out [3, 2].
    // seg0 = [1,1] + [4,4] = [5,5]; seg2 = [2,2] + [3,3] = [5,5]; seg1 empty.
    const x3 = tf.tensor3d([[[1, 1], [2, 2]], [[3, 3], [4, 4]]]); // [2, 2, 2]
    const ids2 = tf.tensor2d([[0, 2], [2, 0]], [2, 2], 'int32'); // [2, 2]
    // The op's type says 1-D; the kernel follows TensorFlow and takes any rank.
    const out2 = tf.unsortedSegmentSum(x3, ids2 as unknown as tf.Tensor1D, 3); // [3, 2]
    assert.deepEqual(out2.arraySync(), [[5, 5], [0, 0], [5, 5]]);
    tf.dispose([x, ids, out, x3, ids2, out2]);
  });

  test(`${backend}: gradient of gather with duplicate indices matches the one-hot matmul`, async () => {
    await initRuntime(backend);
    assertTrainable();
    const vocab = 50;
    const dim = 16;
    // Duplicates on purpose, including an id used many times and ids never used.
    const idList = [3, 7, 3, 3, 0, 49, 7, 12, 3, 0, 25, 49, 49, 3, 8, 8];
    const tableData = randomArray(vocab * dim, 1);
    const weightData = randomArray(idList.length * dim, 2);
    const table = tf.tensor2d(tableData, [vocab, dim]); // [V, D]
    const ids = tf.tensor1d(idList, 'int32'); // [N]
    const weights = tf.tensor2d(weightData, [idList.length, dim]); // [N, D]
    // loss = sum(tanh(gather(table, ids)) * w); d/dtable[v] = sum_{i: ids[i]=v} w[i] * (1 - tanh^2(table[v])).
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.gather(t, ids)), weights));
    const grad = tf.grad(loss)(table); // [V, D]
    const oneHotLoss = (t: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(tf.oneHot(ids, vocab).toFloat(), t as tf.Tensor2D)), weights));
    const reference = tf.grad(oneHotLoss)(table); // [V, D]
    const got = grad.dataSync();
    const want = reference.dataSync();
    // And by hand, in float64.
    const byHand = new Float64Array(vocab * dim);
    idList.forEach((v, i) => {
      for (let d = 0; d < dim; d++) {
        const th = Math.tanh(tableData[v * dim + d]);
        byHand[v * dim + d] += weightData[i * dim + d] * (1 - th * th);
      }
    });
    for (let j = 0; j < got.length; j++) {
      assert.ok(Math.abs(got[j] - want[j]) <= 1e-5, `one-hot: element ${j}: ${got[j]} vs ${want[j]}`);
      assert.ok(Math.abs(got[j] - byHand[j]) <= 1e-5, `by hand: element ${j}: ${got[j]} vs ${byHand[j]}`);
    }
    tf.dispose([table, ids, weights, grad, reference]);
  });

  test(`${backend}: the gradient of unsortedSegmentSum is a gather of dy by segment`, async () => {
    await initRuntime(backend);
    // out = segsum(x, [2, 0, 2, 1]) with 3 segments; loss = sum(out * w), w = [[1, 2], [3, 4], [5, 6]].
    // d loss / d x[i] = w[seg[i]]: [[5, 6], [1, 2], [5, 6], [3, 4]].
    const x = tf.ones([4, 2]); // [4, 2]
    const ids = tf.tensor1d([2, 0, 2, 1], 'int32'); // [4]
    const w = tf.tensor2d([[1, 2], [3, 4], [5, 6]]); // [3, 2]
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.unsortedSegmentSum(t, ids, 3), w)))(x); // [4, 2]
    assert.deepEqual(grad.arraySync(), [[5, 6], [1, 2], [5, 6], [3, 4]]);
    tf.dispose([x, ids, w, grad]);
  });

  // TensorFlow C checks its own ids; the kernel installed on wasm and cpu must refuse an id out of range.
  if (backend !== 'node') test(`${backend}: a segment id out of range is an error, not a stray write`, async () => {
    await initRuntime(backend);
    const x = tf.ones([3, 2]); // [3, 2]
    const ids = tf.tensor1d([0, 5, 1], 'int32'); // [3]
    assert.throws(() => tf.unsortedSegmentSum(x, ids, 2), (error: unknown) => {
      assert.ok(error instanceof TrellisError);
      assert.equal(error.message, 'trellis/runtime: unsortedSegmentSum segment ids must be in [0, 2) (got 5 at position 1).');
      return true;
    });
    tf.dispose([x, ids]);
  });

  test(`${backend}: training an embedding table does not leak tensors`, async () => {
    await initRuntime(backend);
    const table = tf.variable(tf.randomNormal([100, 8], 0, 0.1, 'float32', 3)); // [V, D]
    const target = tf.randomNormal([4, 8], 0, 1, 'float32', 4); // [B, D]
    const ids = tf.tensor2d([[1, 2, 2], [5, 5, 5], [99, 0, 1], [7, 8, 9]], [4, 3], 'int32'); // [B, L]
    const optimizer = tf.train.adam(0.05);
    const step = () =>
      tf.tidy(() => {
        const cost = optimizer.minimize(() => {
          const bag = tf.mean(tf.gather(table, ids), 1); // [B, D]
          return tf.losses.meanSquaredError(target, bag) as tf.Scalar;
        }, true, [table]);
        return cost!.dataSync()[0];
      });
    try {
      const first = step();
      const before = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 20; i++) last = step();
      assert.equal(tf.memory().numTensors, before);
      assert.ok(last < first, `loss should fall: ${first} -> ${last}`);
    } finally {
      optimizer.dispose();
      tf.dispose([table, target, ids]);
    }
  });
}

test('wasm: row gathers match the reference, fall back for other axes, and reject bad indices', async () => {
  await initRuntime('wasm');
  // x [5, 3]: row r is [10r, 10r + 1, 10r + 2].
  const x = tf.tensor2d([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42], [5, 3]); // [5, 3]
  const rows = tf.gather(x, tf.tensor1d([4, 0, 4, 2], 'int32')); // [4, 3]
  assert.deepEqual(rows.arraySync(), [[40, 41, 42], [0, 1, 2], [40, 41, 42], [20, 21, 22]]);
  // Rank-2 indices and rank-3 x: [2, 2] indices into x3 [3, 2, 2] -> [2, 2, 2, 2].
  const x3 = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 2, 2], 'int32'); // [3, 2, 2]
  const nested = tf.gather(x3, tf.tensor2d([2, 0, 1, 1], [2, 2], 'int32')); // [2, 2, 2, 2]
  assert.equal(nested.dtype, 'int32');
  assert.deepEqual(nested.arraySync(), [[[[9, 10], [11, 12]], [[1, 2], [3, 4]]], [[[5, 6], [7, 8]], [[5, 6], [7, 8]]]]);
  // axis 1 goes to the original kernel: columns 2 and 0.
  assert.deepEqual(tf.gather(x, tf.tensor1d([2, 0], 'int32'), 1).arraySync(), [[2, 0], [12, 10], [22, 20], [32, 30], [42, 40]]);
  assert.deepEqual(tf.gather(x, tf.tensor1d([], 'int32')).shape, [0, 3]);
  const before = tf.memory().numTensors;
  assert.throws(() => tf.gather(x, tf.tensor1d([1, 7], 'int32')), /GatherV2: the index value 7 is not in \[0, 4\]/);
  assert.equal(tf.memory().numTensors, before + 1, 'only the indices tensor remains');
  tf.dispose([x, rows, x3, nested]);
});

test('wasm: a large row gather (growing the heap) equals the cpu result', async () => {
  const rows = 3000;
  const width = 256;
  const tableData = randomArray(rows * width, 9);
  const idList = Int32Array.from({ length: 40_000 }, (_, i) => (i * 7919) % rows); // 40 MB of output
  // (tf.tidy must not return the typed array: it would walk its 10M elements looking for tensors.)
  const gatherOn = async (backend: 'cpu' | 'wasm') => {
    await initRuntime(backend);
    const [table, ids] = [tf.tensor2d(tableData, [rows, width]), tf.tensor1d(idList, 'int32')];
    const out = tf.gather(table, ids); // [40000, 256]
    try {
      return out.dataSync();
    } finally {
      tf.dispose([table, ids, out]);
    }
  };
  const want = await gatherOn('cpu');
  const got = await gatherOn('wasm');
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i += 997) assert.equal(got[i], want[i]);
  assert.deepEqual(got.subarray(got.length - width), want.subarray(want.length - width));
});
