import { test } from 'node:test';
import assert from 'node:assert/strict';
import { competeScores } from '../../src/rerank/compete.ts';
import { ConfigError, UsageError } from '../../src/errors.ts';
import { resolveRunConfig } from '../../src/config.ts';

const close = (a: ArrayLike<number>, b: number[]) => {
  assert.equal(a.length, b.length);
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) < 1e-6, `index ${i}: ${a[i]} vs ${v}`));
};

test('competition lowers an item for every topic but the one that wants it most', () => {
  // Item 7 is wanted by both topics (0.8 and 0.4), item 3 only by topic 0, item 9 only by topic 1.
  const probabilities = [Float32Array.of(0.8, 0.5), Float32Array.of(0.4, 0.6)];
  const rows = [Uint32Array.of(7, 3), Uint32Array.of(7, 9)];
  const [a, b] = competeScores(probabilities, rows, 1);
  close(a, [0.8, 0.5]);
  close(b, [0.4 * (0.4 / 0.8), 0.6]);
  const [, c] = competeScores(probabilities, rows, 2);
  close(c, [0.4 * (0.4 / 0.8) ** 2, 0.6]);
  // The loser's order flips: topic 1 now prefers item 9.
  assert.ok(b[1] > b[0]);
});

test('gamma 0 leaves the probabilities unchanged; zero probabilities stay zero', () => {
  const probabilities = [Float32Array.of(0.3, 0), Float32Array.of(0.9, 0)];
  const rows = [[1, 2], [1, 2]];
  const out = competeScores(probabilities, rows, 0);
  close(out[0], [0.3, 0]);
  close(out[1], [0.9, 0]);
  const competed = competeScores(probabilities, rows, 1);
  close(competed[0], [0.1, 0]);
  close(competed[1], [0.9, 0]);
});

test('bad gamma or mismatched rows are usage errors', () => {
  assert.throws(() => competeScores([Float32Array.of(0.5)], [[1]], -1), UsageError);
  assert.throws(() => competeScores([Float32Array.of(0.5)], [[1]], Number.NaN), UsageError);
  assert.throws(() => competeScores([Float32Array.of(0.5)], [], 1), /one row list per topic/);
  assert.throws(() => competeScores([Float32Array.of(0.5)], [[1, 2]], 1), /1 probabilities but 2 rows/);
});

test("rerank.compete defaults to 0 (off) and must be a number from 0 to 8 or 'auto'", () => {
  assert.equal(resolveRunConfig({}).rerank.compete, 0);
  assert.equal(resolveRunConfig({ rerank: { compete: 1.5 } }).rerank.compete, 1.5);
  assert.equal(resolveRunConfig({ rerank: { compete: 'auto' } }).rerank.compete, 'auto');
  const refused = (compete: unknown, message: RegExp) =>
    assert.throws(() => resolveRunConfig({ rerank: { compete } }), (e: unknown) => e instanceof ConfigError && message.test((e as Error).message));
  refused(-1, /rerank\.compete must be a number from 0 to 8 \(0 = off\)/);
  refused(9, /rerank\.compete must be a number from 0 to 8/);
  refused('on', /rerank\.compete must be a number from 0 to 8 \(0 = off\) or 'auto'/);
});

test('a NaN probability stays where it is and does not spread to other topics', () => {
  const out = competeScores([Float32Array.of(Number.NaN), Float32Array.of(0.4)], [[3], [3]], 1);
  assert.ok(Number.isNaN(out[0][0]));
  close(out[1], [0.4]);
});
