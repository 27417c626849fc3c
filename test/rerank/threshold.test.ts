import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ArtifactError, DataError } from '../../src/errors.ts';
import { mulberry32 } from '../../src/random.ts';
import {
  applyDecisionRule,
  evaluateRule,
  packCandidates,
  parseDecisionRule,
  searchDecisionRule,
  type DecisionRule,
  type ScoredCandidates,
} from '../../src/rerank/threshold.ts';

/**
 * Four topics (scores already sorted, best first; 1 = gold). F2 keeping the
 * top k with h gold of g is 5h / (4g + k).
 *
 *   A  .9(1) .6(1) .3(0) .1(0)   g = 3   k=1: 5/13  k=2: 10/14  k=3: 10/15  k=4: 10/16
 *   B  .8(0) .7(1) .2(0)         g = 2   k=1: 0     k=2: 5/10   k=3: 5/11   (one gold item was not retrieved)
 *   C  .4(1) .35(0)              g = 1   k=1: 1     k=2: 5/6
 *   D  .3(1) .28(1) .05(0)       g = 2   k=1: 5/9   k=2: 1      k=3: 10/11
 *
 * margin 0.5 keeps p >= maxP / 2: A .9 .6 (k=2), B .8 .7 (k=2), C .4 .35 (k=2), D .3 .28 (k=2):
 *   sum = 10/14 + 5/10 + 5/6 + 1 = 3.047619 (threshold above all scores; lowering it
 *   first adds A's .3 -> 10/15, a loss), mean 0.761905.
 * margin 0 (top only, the threshold does the rest), best threshold in (.2, .28]:
 *   A k=3 (.9 .6 .3), B k=2, C k=2, D k=2: 10/15 + 5/10 + 5/6 + 1 = 3.0, mean 0.75.
 *   (threshold in (.4, .6]: 10/14 + 5/10 + 1 + 5/9 = 2.769841.)
 * Caps 3 and 10 do not bind at the optimum (k = 2 everywhere): the tie goes to the larger cap.
 * So the rule is { threshold in (.9, 1] -> midpoint .95, margin .5, cap 10 }, F2 0.761905.
 */
const HAND = packCandidates([
  { scores: [0.9, 0.6, 0.3, 0.1], labels: [1, 1, 0, 0], goldCount: 3 },
  { scores: [0.8, 0.7, 0.2], labels: [0, 1, 0], goldCount: 2 },
  { scores: [0.4, 0.35], labels: [1, 0] },
  { scores: [0.3, 0.28, 0.05], labels: [1, 1, 0] },
]);

/** Mean F2 of the best rule by trying every threshold (each distinct score, and one above all) on the grid. */
function bruteForce(c: ScoredCandidates, margins: number[], caps: number[]): number {
  const thresholds = [...new Set(c.scores)].concat([2]);
  let best = -1;
  for (const cap of caps) for (const margin of margins) for (const threshold of thresholds) best = Math.max(best, bruteF2({ threshold, margin, cap }, c));
  return best;
}

/** Mean F2 straight from the definition, without applyDecisionRule. */
function bruteF2(rule: DecisionRule, c: ScoredCandidates): number {
  let sum = 0;
  let topics = 0;
  for (let t = 0; t < c.goldCounts.length; t++) {
    if (c.goldCounts[t] === 0) continue;
    topics++;
    const items = Array.from(c.scores.subarray(c.offsets[t], c.offsets[t + 1]), (p, j) => ({ p, gold: c.labels[c.offsets[t] + j] }));
    if (items.length === 0) continue;
    items.sort((x, y) => y.p - x.p);
    const maxP = items[0].p;
    const kept = items.filter((x, j) => j === 0 || x.p >= rule.threshold || x.p >= maxP * (1 - rule.margin)).slice(0, rule.cap);
    const hits = kept.filter((x) => x.gold).length;
    sum += (5 * hits) / (4 * c.goldCounts[t] + kept.length);
  }
  return sum / topics;
}

function randomCandidates(seed: number): ScoredCandidates {
  const rng = mulberry32(seed);
  const topics = 1 + Math.floor(rng() * 8);
  return packCandidates(
    Array.from({ length: topics }, () => {
      const n = Math.floor(rng() * 7);
      // Coarse scores so ties (within and across topics) are common.
      const scores = Array.from({ length: n }, () => Math.round(rng() * 10) / 10);
      const labels = scores.map((p) => (rng() < p ? 1 : 0));
      const positives = labels.reduce((a: number, b) => a + b, 0);
      return { scores, labels, goldCount: positives + Math.floor(rng() * 2) };
    }),
  );
}

describe('searchDecisionRule', () => {
  test('finds the optimum of the hand-made case', () => {
    const result = searchDecisionRule(HAND, { margins: [0, 0.5], caps: [3, 10] });
    assert.equal(result.rule.margin, 0.5);
    assert.equal(result.rule.cap, 10);
    assert.ok(result.rule.threshold > 0.9 && result.rule.threshold <= 1);
    assert.ok(Math.abs(result.rule.threshold - 0.95) < 1e-6);
    assert.ok(Math.abs(result.f2 - (10 / 14 + 5 / 10 + 5 / 6 + 1) / 4) < 1e-12);
    assert.equal(result.topics, 4);
    // Kept sets: the top two of every topic.
    assert.deepEqual([...applyDecisionRule(result.rule, [0.9, 0.6, 0.3, 0.1])], [0, 1]);
    assert.deepEqual([...applyDecisionRule(result.rule, [0.05, 0.3, 0.28])], [1, 2]);
  });

  test('with margin 0 only, the threshold lands in (.2, .28] for mean F2 0.75', () => {
    const result = searchDecisionRule(HAND, { margins: [0], caps: [10] });
    assert.ok(result.rule.threshold > 0.2 && result.rule.threshold <= 0.28, `threshold ${result.rule.threshold}`);
    assert.ok(Math.abs(result.f2 - 0.75) < 1e-12);
  });

  test('matches an exhaustive search over all thresholds on random small cases', () => {
    const margins = [0, 0.1, 0.25, 0.5, 1];
    const caps = [1, 2, 3, 10];
    for (let seed = 1; seed <= 300; seed++) {
      const c = randomCandidates(seed);
      if (!c.goldCounts.some((g) => g > 0)) continue;
      const result = searchDecisionRule(c, { margins, caps });
      const expected = bruteForce(c, margins, caps);
      assert.ok(Math.abs(result.f2 - expected) < 1e-9, `seed ${seed}: search ${result.f2}, brute force ${expected}`);
      // The returned rule really reaches the reported F2.
      assert.ok(Math.abs(bruteF2(result.rule, c) - result.f2) < 1e-9, `seed ${seed}: rule does not reach its F2`);
    }
  });

  test('topics without gold are left out; topics with gold but no candidates count as 0', () => {
    const c = packCandidates([
      { scores: [0.9], labels: [1] },
      { scores: [0.8, 0.1], labels: [0, 0] }, // no gold: not in the mean
      { scores: [], labels: [], goldCount: 2 }, // gold but nothing retrieved: scores 0
    ]);
    const result = searchDecisionRule(c);
    assert.equal(result.topics, 2);
    assert.ok(Math.abs(result.f2 - 0.5) < 1e-12);
  });

  test('the rule survives JSON', () => {
    const { rule } = searchDecisionRule(HAND);
    assert.deepEqual(parseDecisionRule(JSON.parse(JSON.stringify(rule))), rule);
    assert.equal(evaluateRule(rule, HAND).f2, searchDecisionRule(HAND).f2);
  });

  test('bad input is a DataError with the offending value', () => {
    assert.throws(() => searchDecisionRule(packCandidates([{ scores: [1.5], labels: [1] }])), {
      name: 'DataError',
      message: 'rerank/threshold: scores must be probabilities in [0, 1] (got 1.5 at candidate 0).',
    });
    assert.throws(() => searchDecisionRule(packCandidates([{ scores: [0.5, 0.4], labels: [1, 1], goldCount: 1 }])), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.message, "rerank/threshold: goldCounts[0] must be at least the topic's gold candidates, 2 (got 1).");
      return true;
    });
    assert.throws(() => searchDecisionRule(HAND, { caps: [0] }), { name: 'UsageError' });
    assert.throws(() => parseDecisionRule({ threshold: 0.5, margin: 2, cap: 3 }), ArtifactError);
  });
});

describe('applyDecisionRule', () => {
  test('keeps at least one item, at most cap, always a prefix of the sorted scores', () => {
    const rng = mulberry32(99);
    for (let trial = 0; trial < 500; trial++) {
      const n = Math.floor(rng() * 12);
      const scores = Float32Array.from({ length: n }, () => Math.round(rng() * 20) / 20);
      const rule: DecisionRule = { threshold: rng() * 1.1, margin: Math.round(rng() * 4) / 4, cap: 1 + Math.floor(rng() * 6) };
      const kept = applyDecisionRule(rule, scores);
      if (n === 0) {
        assert.equal(kept.length, 0);
        continue;
      }
      assert.ok(kept.length >= 1 && kept.length <= rule.cap);
      const maxP = Math.max(...scores);
      assert.equal(scores[kept[0]], maxP);
      for (let j = 1; j < kept.length; j++) {
        const p = scores[kept[j]];
        assert.ok(p <= scores[kept[j - 1]]);
        assert.ok(p >= rule.threshold || p >= maxP * (1 - rule.margin));
      }
      // Nothing left out beats what was kept, and a left-out item passing the rule was cut by the cap.
      const keptSet = new Set(kept);
      for (let i = 0; i < n; i++) {
        if (keptSet.has(i)) continue;
        assert.ok(scores[i] <= scores[kept[kept.length - 1]]);
        if (scores[i] >= rule.threshold || scores[i] >= maxP * (1 - rule.margin)) assert.equal(kept.length, rule.cap);
      }
    }
  });

  test('hand cases: the top item always, the cap always', () => {
    // Nothing passes threshold .99 and margin 0 keeps only the max (.7): the top one.
    assert.deepEqual([...applyDecisionRule({ threshold: 0.99, margin: 0, cap: 5 }, [0.2, 0.7, 0.5])], [1]);
    // Everything passes threshold 0; cap 2 keeps the best two, ties in index order.
    assert.deepEqual([...applyDecisionRule({ threshold: 0, margin: 0, cap: 2 }, [0.5, 0.9, 0.5, 0.1])], [1, 0]);
    // Margin .5 of max .8 keeps p >= .4.
    assert.deepEqual([...applyDecisionRule({ threshold: 1, margin: 0.5, cap: 9 }, [0.39, 0.8, 0.4])], [1, 2]);
  });
});
