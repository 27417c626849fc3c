import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PARITY_BACKENDS } from '../backends.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { drain, mapInWorkers, splitRange, WorkerPool } from '../../src/runtime/workers.ts';
import { ConfigError, TrellisError } from '../../src/errors.ts';

const TASKS = new URL('../fixtures/workers/tasks.ts', import.meta.url);

test('splitRange covers [0, n) in near-equal parts', () => {
  assert.deepEqual(splitRange(10, 3), [[0, 3], [3, 6], [6, 10]]);
  assert.deepEqual(splitRange(2, 4), [[0, 1], [1, 2]]);
  assert.deepEqual(splitRange(0, 2), []);
  assert.throws(() => splitRange(5, 0), ConfigError);
});

test('mapInWorkers returns results in input order, using every worker', async () => {
  // Chunk k holds k+1 copies of k: sum of squares = (k+1) * k^2.
  const chunks = Array.from({ length: 12 }, (_, k) => new Float64Array(k + 1).fill(k));
  const results = await mapInWorkers<Float64Array, { sum: number; threadId: number }>(TASKS, 'sumSquares', chunks, { size: 2 });
  assert.deepEqual(results.map((r) => r.sum), chunks.map((_, k) => (k + 1) * k * k));
  assert.equal(new Set(results.map((r) => r.threadId)).size, 2);
});

test('async tasks and transferred typed arrays come back intact and in order', async () => {
  const pool = new WorkerPool({ size: 2, transferResults: true });
  try {
    const ranges = splitRange(1000, 7);
    const parts = await pool.map<[number, number], Float32Array>(TASKS, 'doubled', ranges);
    const joined = Float32Array.from(parts.flatMap((p) => [...p]));
    assert.equal(joined.length, 1000);
    joined.forEach((v, i) => assert.equal(v, i * 2));
  } finally {
    await pool.close();
  }
});

test('a task error keeps its class and message; the pool keeps working', async () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    await assert.rejects(pool.run(TASKS, 'failWithConfigError', 'x'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, 'fixture: x must be valid (got nothing).');
      assert.equal(error.hint, 'Try again.');
      return true;
    });
    await assert.rejects(pool.run(TASKS, 'noSuchExport'), /must export a function named noSuchExport \(got undefined\)/);
    const ok = await pool.run<{ sum: number }>(TASKS, 'sumSquares', new Float64Array([3, 4]));
    assert.equal(ok.sum, 25);
  } finally {
    await pool.close();
  }
});

test('a crashed worker rejects its task and is replaced', async () => {
  const pool = new WorkerPool({ size: 1 });
  try {
    await assert.rejects(pool.run(TASKS, 'crash'), (error: unknown) => {
      assert.ok(error instanceof TrellisError);
      assert.match(error.message, /^trellis\/models\/workers: worker running crash from .*tasks\.ts stopped \(exit code 3\)\.$/);
      return true;
    });
    const ok = await pool.run<{ sum: number }>(TASKS, 'sumSquares', new Float64Array([1, 2]));
    assert.equal(ok.sum, 5);
  } finally {
    await pool.close();
  }
});

test('each worker sets up its own wasm backend', async () => {
  const results = await mapInWorkers<number, { backend: string; trace: number }>(TASKS, 'wasmMatmul', [8, 16, 32, 64], { size: 2 });
  assert.deepEqual(results, [8, 16, 32, 64].map((n) => ({ backend: 'wasm', trace: 2 * n })));
});

for (const backend of PARITY_BACKENDS) {
  test(`workers set up the backend their pool's thread chose (${backend})`, async () => {
    await initRuntime(backend);
    const results = await mapInWorkers<undefined, { kind: string; product: number }>(TASKS, 'defaultBackend', [undefined, undefined], { size: 2 });
    assert.deepEqual(results, [{ kind: backend, product: 11 }, { kind: backend, product: 11 }]);
  });
}

test('a relative module path is a ConfigError', async () => {
  const pool = new WorkerPool({ size: 1 });
  await assert.rejects(pool.run('./tasks.ts', 'sumSquares'), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.message, 'trellis/models/workers: module must be a URL or an absolute path (got "./tasks.ts").');
    return true;
  });
});

test('run moves transferred inputs, relays progress in order, and drain runs at most N tasks at once', async () => {
  const pool = new WorkerPool({ size: 2 });
  try {
    const input = Float64Array.of(1, 2, 3);
    const seen: unknown[] = [];
    const sum = await pool.run<number>(TASKS, 'countUp', input, { transfer: [input.buffer as ArrayBuffer], onProgress: (v) => seen.push(v) });
    assert.equal(sum, 6);
    assert.deepEqual(seen, [1, 2, 3]);
    assert.equal(input.length, 0); // moved to the worker, not copied
    let running = 0;
    let most = 0;
    const sums: number[] = [];
    await drain([1, 2, 3, 4, 5], 2, async (k, i) => {
      most = Math.max(most, ++running);
      sums[i] = await pool.run<number>(TASKS, 'countUp', new Float64Array(k).fill(k));
      running--;
    });
    assert.equal(most, 2);
    assert.deepEqual(sums, [1, 4, 9, 16, 25]);
  } finally {
    await pool.close();
  }
});
