import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { recallCurve, thresholdCurve, makeRunId, freeRunId, escapeHtml } from '../../src/report/index.ts';
import type { FusedCandidates } from '../../src/index.ts';
import { tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

/** Fused candidates with only the rows set (the curves read rows and the probabilities). */
function fused(rows: number[]): FusedCandidates {
  const n = rows.length;
  return { rows: Uint32Array.from(rows), fused: new Float32Array(n), neural: new Float32Array(n), lexical: new Float32Array(n), neuralRank: new Int32Array(n), lexicalRank: new Int32Array(n) };
}

test('recallCurve: mean recall@K for every K, topics without answers left out', () => {
  // Topic a: gold {1, 2}, list [1, 5, 2] -> recall@1 1/2, @2 1/2, @3 1.
  // Topic b: gold {7}, list [8, 7]       -> recall@1 0,   @2 1,   @3 1 (the list ran out, recall stays).
  // Topic c: no answers: ignored.
  const answers = new Map([['a', Uint32Array.from([1, 2])], ['b', Uint32Array.from([7])], ['c', new Uint32Array(0)]]);
  const curve = recallCurve(['a', 'b', 'c'], [fused([1, 5, 2]), fused([8, 7]), fused([3])], answers, 3);
  assert.deepEqual(curve, [0.25, 0.75, 1]);
});

test('thresholdCurve: mean F2 of the candidates kept by a threshold, and with at least the top one', () => {
  // Topic a: p = [0.9 gold, 0.6 miss, 0.2 gold], 2 gold items (both retrieved).
  //   t = 0.5: keep 2, hits 1: P 1/2, R 1/2 -> F2 0.5.   t = 0.95: keep none -> 0; at least one: P 1, R 1/2 -> F2 5/9.
  // Topic b: p = [0.4 gold], 2 gold items (one not retrieved).
  //   t = 0.5: keep none -> 0; at least one: P 1, R 1/2 -> 5/9.  t = 0.95: the same.
  const answers = new Map([['a', Uint32Array.from([10, 12])], ['b', Uint32Array.from([20, 99])]]);
  const candidates = [fused([10, 11, 12]), fused([20])];
  const probabilities = [Float32Array.from([0.9, 0.6, 0.2]), Float32Array.from([0.4])];
  const curve = thresholdCurve(['a', 'b'], candidates, probabilities, answers, [0.5, 0.95]);
  const f2 = (p: number, r: number) => (5 * p * r) / (4 * p + r);
  assert.ok(Math.abs(curve.f2[0] - (0.5 + 0) / 2) < 1e-9);
  assert.ok(Math.abs(curve.f2AtLeastOne[0] - (0.5 + f2(1, 0.5)) / 2) < 1e-9);
  assert.equal(curve.f2[1], 0);
  assert.ok(Math.abs(curve.f2AtLeastOne[1] - f2(1, 0.5)) < 1e-9);
});

test('run ids: time stamp and command; a taken id gets a suffix', () => {
  const id = makeRunId('graph push', new Date(2026, 10, 23, 19, 15, 0));
  assert.equal(id, '20261123-191500-graph-push');
  assert.equal(freeRunId(tmp, id), id);
  mkdirSync(join(tmp, id));
  assert.equal(freeRunId(tmp, id), `${id}-2`);
  mkdirSync(join(tmp, `${id}-2`));
  assert.equal(freeRunId(tmp, id), `${id}-3`);
});

test('escapeHtml escapes markup and quotes', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
});
