import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamingFrequencyEstimator, ExactFrequencyEstimator, DEFAULT_STREAMING_FREQUENCY_OPTIONS, rngFor,
  ConfigError, DataError, type FrequencyEstimator, type Rng,
} from '../../src/index.ts';

const close = (actual: ArrayLike<number>, expected: number[], eps = 1e-6) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `[${i}] ${actual[i]} != ${expected[i]}`);
};

/** Zipf(s) over items 0..n-1 (item r has weight 1 / (r + 1)^s): per-draw probabilities and a sampler. */
function zipf(n: number, s: number): { pi: Float64Array; draw: (rng: Rng) => number } {
  const pi = Float64Array.from({ length: n }, (_, r) => 1 / (r + 1) ** s);
  const total = pi.reduce((a, b) => a + b, 0);
  for (let r = 0; r < n; r++) pi[r] /= total;
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) cdf[r] = acc += pi[r];
  const draw = (rng: Rng) => {
    const u = rng() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] <= u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return { pi, draw };
}

/**
 * Feeds `steps` batches of `batch` Zipf draws (with replacement) to the
 * estimators. Returns the per-draw probabilities pi, what the streaming
 * estimator targets, q = P(item in a batch) = 1 - (1 - pi)^batch, and every draw.
 */
function stream(estimators: FrequencyEstimator[], n: number, batch: number, steps: number, seed: number) {
  const { pi, draw } = zipf(n, 1);
  const rng = rngFor(seed, 'zipf');
  const drawn = new Uint32Array(batch * steps);
  for (let t = 0; t < steps; t++) {
    const ids = drawn.subarray(t * batch, (t + 1) * batch);
    for (let i = 0; i < batch; i++) ids[i] = draw(rng);
    for (const e of estimators) e.update(ids, t);
  }
  return { pi, q: Float64Array.from(pi, (p) => 1 - (1 - p) ** batch), drawn };
}

test('exact counts: p = count / total with a floor', () => {
  // ids 0, 1, 1, 2, 2, 2 over 4 items: counts [1, 2, 3, 0], total 6
  // p = [1/6, 2/6, 3/6, floor 0.01]
  const exact = ExactFrequencyEstimator.fromIds(Uint32Array.of(0, 1, 1, 2, 2, 2), 4, { minProbability: 0.01 });
  close(exact.probability(Uint32Array.of(0, 1, 2, 3, 2)), [1 / 6, 2 / 6, 3 / 6, 0.01, 3 / 6]);
  exact.update(Uint32Array.of(3, 3, 3), 0); // fixed by the training links: no change
  close(exact.probability(Uint32Array.of(3)), [0.01]);

  // Weighted counts work the same: [2, 0.5, 1.5] / 4
  const weighted = new ExactFrequencyEstimator(Float64Array.of(2, 0.5, 1.5));
  close(weighted.probability(Uint32Array.of(2, 1, 0)), [0.375, 0.125, 0.5]);
});

test('streaming: Algorithm 2 step by step', () => {
  // alpha = 0.5, first step 0 (so A starts at -1 for every bucket).
  // item 7 at steps 0, 2, 3, 6:
  //   step 0: first hit, B = 0 - (-1) = 1
  //   step 2: B = 0.5 * 1    + 0.5 * (2 - 0) = 1.5
  //   step 3: B = 0.5 * 1.5  + 0.5 * (3 - 2) = 1.25
  //   step 6: B = 0.5 * 1.25 + 0.5 * (6 - 3) = 2.125   -> p = 1 / 2.125
  // item 9 first at step 3: B = 3 - (-1) = 4 -> p = 0.25; repeats within a step are one hit.
  // item 5 never seen: p = minProbability.
  const est = new StreamingFrequencyEstimator({ buckets: 1 << 16, learningRate: 0.5, minProbability: 1e-3 });
  est.update(Uint32Array.of(7), 0);
  close(est.probability(Uint32Array.of(7)), [1]);
  est.update(Uint32Array.of(7, 7, 7), 2);
  close(est.probability(Uint32Array.of(7)), [1 / 1.5]);
  est.update(Uint32Array.of(7, 9, 9), 3);
  est.update(Uint32Array.of(9), 3); // the same step continues the same batch
  close(est.probability(Uint32Array.of(7, 9)), [1 / 1.25, 0.25]);
  est.update(Uint32Array.of(7), 6);
  close(est.probability(Uint32Array.of(7, 9, 5)), [1 / 2.125, 0.25, 1e-3]);
});

test('streaming: converges to the per-batch probability on a Zipf stream', () => {
  // 1000 items, Zipf(1), batches of 128 for 3000 steps. The 30 head items have
  // q from 1 (item 0: pi = 0.134) down to 0.35 (item 29: pi = 0.0033); at
  // alpha = 0.01 the moving average's relative sd is about
  // sqrt(alpha / 2) * sqrt(1 - q) <= 6%.
  const est = new StreamingFrequencyEstimator({ buckets: 1 << 16 });
  const { pi, q, drawn } = stream([est], 1000, 128, 3000, 1);
  const head = Uint32Array.from({ length: 30 }, (_, r) => r);
  const p = est.probability(head);
  let sum = 0;
  for (const r of head) {
    const rel = Math.abs(p[r] - q[r]) / q[r];
    assert.ok(rel < 0.2, `item ${r}: estimate ${p[r].toFixed(4)} vs ${q[r].toFixed(4)}`);
    sum += rel;
  }
  assert.ok(sum / head.length < 0.06, `mean relative error ${(sum / head.length).toFixed(3)}`);
  // Saturated head: item 0 is in every batch, so every gap is 1.
  assert.equal(p[0], 1);
  // Every estimate is a probability.
  for (const v of est.probability(Uint32Array.from({ length: 1000 }, (_, r) => r))) assert.ok(v >= 1e-6 && v <= 1);

  // Exact counts over the same draws estimate the per-draw probability pi
  // (384,000 draws: item 29 is drawn ~1,270 times, relative sd ~3%).
  const exact = ExactFrequencyEstimator.fromIds(drawn, 1000);
  const pe = exact.probability(head);
  for (const r of head) assert.ok(Math.abs(pe[r] - pi[r]) / pi[r] < 0.1, `item ${r}: exact ${pe[r]} vs ${pi[r]}`);
});

test('streaming: more hash functions undo collisions', () => {
  // 256 buckets for 1000 items: about 4 items per bucket, so a single hash
  // overestimates (a bucket is hit when any of its items is). The largest gap
  // over 4 hash functions is much closer to the truth.
  const one = new StreamingFrequencyEstimator({ buckets: 256, hashes: 1 });
  const four = new StreamingFrequencyEstimator({ buckets: 256, hashes: 4 });
  const alone = new StreamingFrequencyEstimator({ buckets: 1 << 16 });
  const { q } = stream([one, four, alone], 1000, 128, 2000, 2);
  const items = Uint32Array.from({ length: 200 }, (_, r) => r);
  const error = (e: StreamingFrequencyEstimator) => {
    const p = e.probability(items);
    let s = 0;
    for (const r of items) s += Math.abs(Math.log(p[r] / q[r]));
    return s / items.length;
  };
  const [e1, e4, e0] = [error(one), error(four), error(alone)];
  assert.ok(e4 < e1 / 2, `4 hashes ${e4.toFixed(3)} vs 1 hash ${e1.toFixed(3)}`);
  assert.ok(e0 < e4, `no collisions ${e0.toFixed(3)} vs 4 hashes ${e4.toFixed(3)}`);
  // Collisions only add hits: a hashed estimate is never far below the collision-free one.
  const p1 = one.probability(items);
  const p0 = alone.probability(items);
  for (const r of items) assert.ok(p1[r] >= p0[r] * 0.8, `item ${r}: ${p1[r]} < ${p0[r]}`);
});

test('options and errors', () => {
  assert.equal(DEFAULT_STREAMING_FREQUENCY_OPTIONS.buckets, 1 << 20);
  assert.ok(Object.isFrozen(DEFAULT_STREAMING_FREQUENCY_OPTIONS));
  assert.throws(() => new StreamingFrequencyEstimator({ buckets: 1000 }),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/frequency-estimator: buckets must be a power of two from 1 to 2^30 (got 1000).');
  assert.throws(() => new StreamingFrequencyEstimator({ learningRate: 0 }),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/frequency-estimator: learningRate must be in (0, 1] (got 0).');
  assert.throws(() => new StreamingFrequencyEstimator({ alpha: 0.1 } as never),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/frequency-estimator: unknown key "alpha".');
  const est = new StreamingFrequencyEstimator({ buckets: 16 });
  est.update(Uint32Array.of(1), 5);
  assert.throws(() => est.update(Uint32Array.of(1), 4),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/frequency-estimator: step must not go back (got 4 after 5).');
  assert.throws(() => est.update(Uint32Array.of(1), 6.5),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/frequency-estimator: step must be a non-negative integer (got 6.5).');
  assert.throws(() => ExactFrequencyEstimator.fromIds(Uint32Array.of(0, 4), 4),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/frequency-estimator: ids must be item rows below 4 (got 4 at position 1).');
  assert.throws(() => new ExactFrequencyEstimator(new Uint32Array(3)),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/frequency-estimator: counts must sum to more than 0 (got 0 over 3 items).');
  assert.throws(() => new ExactFrequencyEstimator(Uint32Array.of(1), { minProbability: 0 }),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/frequency-estimator: minProbability must be in (0, 1] (got 0).');
  assert.throws(() => ExactFrequencyEstimator.fromIds(Uint32Array.of(0), 1).probability(Uint32Array.of(1)),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/frequency-estimator: ids must be item rows below 1 (got 1 at position 0).');
});
