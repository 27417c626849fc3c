import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyCutoff, keepCount, parseCutoff, searchCutoff, type ExpectedF2Cutoff, type TopicPrior } from '../../src/rerank/cutoff.ts';
import { packCandidates } from '../../src/rerank/threshold.ts';
import { ArtifactError } from '../../src/errors.ts';

const plain: ExpectedF2Cutoff = { kind: 'expected-f2', a: 1, b: 0, gamma: 1, delta: 0 };
/** A topic without siblings at the root's level: the priors say nothing. */
const none: TopicPrior = { siblingItems: 0, siblings: 0, depth: 0 };
const withSiblingItems = (siblingItems: number): TopicPrior => ({ ...none, siblingItems });

test('keepCount maximises 5 S_k / (4 G + k), worked by hand', () => {
  // q = p = [0.9, 0.8, 0.1], G = 1.8: k=1: 4.5 / 8.2 = 0.549; k=2: 8.5 / 9.2 = 0.924; k=3: 9 / 10.2 = 0.882 -> 2.
  assert.equal(keepCount(plain, [0.9, 0.8, 0.1], none), 2);
  // More expected gold than the candidates hold (gamma 3: G = 5.4) makes keeping all worth it:
  // k=2: 8.5 / 23.6 = 0.360; k=3: 9 / 24.6 = 0.366 -> 3.
  assert.equal(keepCount({ ...plain, gamma: 3 }, [0.9, 0.8, 0.1], none), 3);
  // A shifted calibration (b = -4) makes every item unlikely: still at least one.
  assert.equal(keepCount({ ...plain, b: -4 }, [0.3, 0.2], none), 1);
  assert.equal(keepCount(plain, [], none), 0);
  // applyCutoff sorts first and returns candidate indices.
  assert.deepEqual(Array.from(applyCutoff(plain, [0.1, 0.9, 0.8], none)), [1, 2]);
});

test('searchCutoff calibrates the probabilities so that each topic keeps its own count', () => {
  // Topic A holds one gold item and four unlikely ones; topic B five gold items of middling probability.
  const a = { scores: [0.95, 0.2, 0.2, 0.2, 0.2], labels: [1, 0, 0, 0, 0] };
  const b = { scores: [0.6, 0.6, 0.6, 0.6, 0.6, 0.1], labels: [1, 1, 1, 1, 1, 0] };
  const packed = packCandidates([a, b, a, b]);
  const cut = searchCutoff(packed, [none, none, none, none]);
  assert.equal(cut.topics, 4);
  // Keeping 1 of A and 5 of B is perfect, and some calibration of the grid reaches it
  // (e.g. 2 logit(p) - 1: q(0.2) = 0.02, q(0.95) = 0.99, q(0.6) = 0.45).
  assert.equal(cut.f2, 1);
  assert.equal(applyCutoff(cut.cutoff, a.scores, none).length, 1);
  assert.equal(applyCutoff(cut.cutoff, b.scores, none).length, 5);
  // Uncalibrated, A's four 0.2s would add up to almost one more expected item and be kept.
  assert.ok(applyCutoff(plain, a.scores, none).length > 1);
  assert.deepEqual(parseCutoff(JSON.parse(JSON.stringify(cut.cutoff))), cut.cutoff);
  assert.throws(() => parseCutoff({ kind: 'expected-f2', a: 1, b: 0, gamma: -1, delta: 0 }), ArtifactError);
  // The siblings' prior: with delta > 0, a topic whose siblings hold many items keeps more.
  const prior = { ...plain, delta: 0.5 };
  assert.ok(keepCount(prior, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], withSiblingItems(10)) >= keepCount(prior, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], none));
});

test('a learned count tells topics apart that the scores do not', () => {
  // Every topic's candidates score alike; shallow topics (depth 1) hold two gold items, deep ones (depth 3) six.
  const scores = [0.95, 0.95, 0.5, 0.5, 0.5, 0.5, 0.05, 0.05];
  const topic = (gold: number) => ({ scores, labels: scores.map((_, j) => (j < gold ? 1 : 0)) });
  const lists = Array.from({ length: 20 }, (_, i) => topic(i % 2 ? 6 : 2));
  const priors = lists.map((_, i) => ({ ...none, depth: i % 2 ? 3 : 1 }));
  const packed = packCandidates(lists);
  const fixed = searchCutoff(packed, priors);
  const learned = searchCutoff(packed, priors, { learnCount: true });
  assert.equal(fixed.cutoff.count, undefined);
  assert.ok(learned.cutoff.count, 'the learned search keeps a count model');
  // Without the count every topic keeps the same number, which fits neither kind; with it each kind keeps its own.
  assert.deepEqual(learned.withoutCount, fixed);
  assert.ok(fixed.f2 < 0.95, `one count for all: F2 ${fixed.f2}`);
  assert.ok(learned.f2 > fixed.f2 + 0.05, `learned F2 ${learned.f2} against ${fixed.f2}`);
  assert.ok(applyCutoff(learned.cutoff, scores, priors[1]).length > applyCutoff(learned.cutoff, scores, priors[0]).length);
  // The count model survives JSON, and a model of other features is refused.
  const back = parseCutoff(JSON.parse(JSON.stringify(learned.cutoff)));
  assert.deepEqual(back, learned.cutoff);
  assert.equal(keepCount(back, scores, priors[1]), keepCount(learned.cutoff, scores, priors[1]));
  const other = { ...learned.cutoff, count: { ...learned.cutoff.count!, features: ['log_calibrated_sum'] } };
  assert.throws(() => parseCutoff(JSON.parse(JSON.stringify(other))), /count model this version cannot read/);
});
