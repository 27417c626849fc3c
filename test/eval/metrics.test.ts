import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scoreTopic, f2Score, evaluateSets, recallAtK, bestTopK } from '../../src/index.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('F2 of one topic, worked by hand', () => {
  // predicted {1,2,3,4}, gold {1,2,5}: P = 2/4, R = 2/3,
  // F2 = 5PR / (4P + R) = 5 * 0.5 * 0.6667 / (2 + 0.6667) = 1.6667 / 2.6667 = 0.625
  const s = scoreTopic([1, 2, 3, 4], [1, 2, 5]);
  close(s.precision, 0.5);
  close(s.recall, 2 / 3);
  close(s.f2, 0.625);
  close(f2Score(1, 1), 1);
  close(f2Score(0, 0), 0);
});

test('mean over answer topics; a topic with no prediction scores 0; extra predicted topics are ignored', () => {
  const answers = new Map([['a', [1, 2, 5]], ['b', [7]], ['c', [9]]]);
  const predictions = new Map([['a', [1, 2, 3, 4]], ['b', [7]], ['z', [1]]]);
  // a: 0.625, b: 1, c: 0 (no prediction) -> mean 0.541666...
  const m = evaluateSets(predictions, answers);
  close(m.f2, (0.625 + 1 + 0) / 3);
  close(m.precision, (0.5 + 1) / 3);
  close(m.recall, (2 / 3 + 1) / 3);
  assert.equal(m.topics, 3);
  assert.equal(m.topicsWithoutPrediction, 1);
});

test('duplicated predictions count once', () => {
  close(scoreTopic([1, 1, 1], [1]).f2, 1);
});

test('recall@K of ranked lists', () => {
  const answers = new Map([['a', [1, 2]], ['b', [3]]]);
  const ranked = new Map([['a', [9, 1, 8, 2]], ['b', [4, 5]]]);
  // a: @1 = 0, @2 = 1/2, @4 = 1; b: 0 everywhere
  const r = recallAtK(ranked, answers, [1, 2, 4]);
  close(r['recall@1'], 0);
  close(r['recall@2'], 0.25);
  close(r['recall@4'], 0.5);
});

test('bestTopK picks the cut with the highest mean F2', () => {
  const answers = new Map([['a', [1, 2, 3]]]);
  const ranked = new Map([['a', [1, 2, 3, 4, 5]]]);
  const best = bestTopK(ranked, answers, 5);
  assert.equal(best.k, 3);
  close(best.f2, 1);
});
