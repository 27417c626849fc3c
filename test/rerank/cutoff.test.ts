import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCutoff, keepCount, parseCutoff, searchCutoff, type ExpectedF2Cutoff } from '../../src/rerank/cutoff.ts';
import { packCandidates } from '../../src/rerank/threshold.ts';
import { ArtifactError } from '../../src/errors.ts';

const plain: ExpectedF2Cutoff = { kind: 'expected-f2', a: 1, b: 0, gamma: 1, delta: 0 };

test('keepCount maximises 5 S_k / (4 G + k), worked by hand', () => {
  // q = p = [0.9, 0.8, 0.1], G = 1.8: k=1: 4.5 / 8.2 = 0.549; k=2: 8.5 / 9.2 = 0.924; k=3: 9 / 10.2 = 0.882 -> 2.
  assert.equal(keepCount(plain, [0.9, 0.8, 0.1], 0), 2);
  // More expected gold than the candidates hold (gamma 3: G = 5.4) makes keeping all worth it:
  // k=2: 8.5 / 23.6 = 0.360; k=3: 9 / 24.6 = 0.366 -> 3.
  assert.equal(keepCount({ ...plain, gamma: 3 }, [0.9, 0.8, 0.1], 0), 3);
  // A shifted calibration (b = -4) makes every item unlikely: still at least one.
  assert.equal(keepCount({ ...plain, b: -4 }, [0.3, 0.2], 0), 1);
  assert.equal(keepCount(plain, [], 0), 0);
  // applyCutoff sorts first and returns candidate indices.
  assert.deepEqual(Array.from(applyCutoff(plain, [0.1, 0.9, 0.8], 0)), [1, 2]);
});

test('searchCutoff calibrates the probabilities so that each topic keeps its own count', () => {
  // Topic A holds one gold item and four unlikely ones; topic B five gold items of middling probability.
  const a = { scores: [0.95, 0.2, 0.2, 0.2, 0.2], labels: [1, 0, 0, 0, 0] };
  const b = { scores: [0.6, 0.6, 0.6, 0.6, 0.6, 0.1], labels: [1, 1, 1, 1, 1, 0] };
  const packed = packCandidates([a, b, a, b]);
  const cut = searchCutoff(packed, [0, 0, 0, 0]);
  assert.equal(cut.topics, 4);
  // Keeping 1 of A and 5 of B is perfect, and some calibration of the grid reaches it
  // (e.g. 2 logit(p) - 1: q(0.2) = 0.02, q(0.95) = 0.99, q(0.6) = 0.45).
  assert.equal(cut.f2, 1);
  assert.equal(applyCutoff(cut.cutoff, a.scores, 0).length, 1);
  assert.equal(applyCutoff(cut.cutoff, b.scores, 0).length, 5);
  // Uncalibrated, A's four 0.2s would add up to almost one more expected item and be kept.
  assert.ok(applyCutoff(plain, a.scores, 0).length > 1);
  assert.deepEqual(parseCutoff(JSON.parse(JSON.stringify(cut.cutoff))), cut.cutoff);
  assert.throws(() => parseCutoff({ kind: 'expected-f2', a: 1, b: 0, gamma: -1, delta: 0 }), ArtifactError);
  // The siblings' prior: with delta > 0, a topic whose siblings hold many items keeps more.
  const prior = { ...plain, delta: 0.5 };
  assert.ok(keepCount(prior, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 10) >= keepCount(prior, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 0));
});
