/**
 * Item frequency estimators for the logQ correction of in-batch softmax:
 * logits s(x, y) are corrected to s(x, y) - log p(y), where p(y) is how often
 * the batch sampler serves item y (Yi et al., "Sampling-Bias-Corrected Neural
 * Modeling for Large Corpus Item Recommendations", RecSys 2019).
 *
 * Two estimators behind one interface:
 *
 * - `StreamingFrequencyEstimator`: the paper's streaming estimator
 *   (Algorithm 2). Hashed arrays A (the last step a bucket was hit) and B (the
 *   estimated gap between hits, in steps). On the batch of global step t, for
 *   each item y, with b = h(y):
 *
 *       B[b] <- (1 - alpha) * B[b] + alpha * (t - A[b])
 *       A[b] <- t
 *       p(y) =  1 / B[b]
 *
 *   What it estimates: the probability that y appears in a batch at least
 *   once, q(y) = 1 / E[steps between consecutive batches containing y]. With
 *   batches of n draws at per-draw probability pi(y), q(y) = 1 - (1 - pi(y))^n,
 *   about n * pi(y) for tail items, saturating at 1 for head items.
 *
 *   Choices the paper leaves open, made here:
 *   - Repeats within a step are one hit: a bucket is updated at most once per
 *     step, since a gap of 0 is not a gap between batches and would drag B
 *     towards 0. Calling `update` twice with the same step continues the
 *     same batch.
 *   - Initialisation of B: on a bucket's first hit at step t, B = t - (t0 - 1),
 *     where t0 is the first step the estimator was given (A starts as if the
 *     bucket had been hit just before the stream began). For a stationary
 *     stream the wait for the first hit is itself a geometric draw with the
 *     same mean as every later gap (memorylessness), so the start carries no
 *     bias toward any frequency, unlike a constant prior.
 *   - Items never seen (no hit in any of their buckets) get `minProbability`,
 *     and every estimate is clamped to at least `minProbability`. Call
 *     `update` with a batch before asking for its probabilities, so every
 *     queried item has been seen.
 *   - Hashing: murmur3's 32-bit finaliser of the id xor a per-function seed,
 *     masked to `buckets` (a power of two). With `hashes` > 1 this is the
 *     paper's multiple-hashing variant: every hash function keeps its own A
 *     and B, and the estimate takes the largest gap, p = 1 / max_i B_i[h_i(y)],
 *     because a collision only ever adds hits and so only shortens gaps.
 *
 * - `ExactFrequencyEstimator`: p(y) = count(y) / total from the training
 *   links, fixed at construction (`update` does nothing), floored at
 *   `minProbability`. When batches draw links uniformly this is exactly the
 *   per-draw probability pi(y); it differs from the streaming estimate by the
 *   factor n (a constant, which the softmax ignores) and by the saturation of
 *   head items (which it does not).
 */
import { ConfigError, DataError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { deriveSeed } from '../random.ts';

/** p(y) for the logQ correction, fed with the batches the model sees. */
export interface FrequencyEstimator {
  /** Records the items of the batch served at global step `step`. ids: [B] */
  update(ids: Uint32Array, step: number): void;
  /** Estimated sampling probability of each item. ids: [B] -> [B] */
  probability(ids: Uint32Array): Float32Array;
}

export interface StreamingFrequencyOptions {
  /** Hash buckets per hash function, a power of two. Default 2^20 (16 MiB of state per hash function). */
  buckets?: number;
  /** Hash functions; above 1 the estimate takes the largest gap over them. Default 1 (Algorithm 2 as printed). */
  hashes?: number;
  /** Learning rate alpha of the gap's moving average, in (0, 1]. Default 0.01. */
  learningRate?: number;
  /** Floor of every estimate, and the estimate of items never seen, in (0, 1]. Default 1e-6. */
  minProbability?: number;
  /** Seed of the hash functions. Default 0. */
  seed?: number;
}

export const DEFAULT_STREAMING_FREQUENCY_OPTIONS: Readonly<Required<StreamingFrequencyOptions>> = Object.freeze({
  buckets: 1 << 20,
  hashes: 1,
  learningRate: 0.01,
  minProbability: 1e-6,
  seed: 0,
});

export interface ExactFrequencyOptions {
  /** Floor of every probability (items with no count get it), in (0, 1]. Default 1e-6. */
  minProbability?: number;
}

export const DEFAULT_EXACT_FREQUENCY_OPTIONS: Readonly<Required<ExactFrequencyOptions>> = Object.freeze({
  minProbability: 1e-6,
});

const SCOPE = 'trellis/frequency-estimator';

function checkMinProbability(value: number): void {
  if (!(value > 0 && value <= 1)) throw new ConfigError(`${SCOPE}: minProbability must be in (0, 1] (got ${value}).`);
}

/** murmur3's fmix32 of `x ^ seed`: a bijection on 32-bit words with full avalanche. */
function hash32(x: number, seed: number): number {
  let h = (x ^ seed) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Yi et al.'s streaming estimator (Algorithm 2, optionally with multiple hashings); see the file header. */
export class StreamingFrequencyEstimator implements FrequencyEstimator {
  readonly options: Readonly<Required<StreamingFrequencyOptions>>;
  /** Last step each bucket was hit, NaN before its first hit. [hashes * buckets] */
  private readonly lastHit: Float64Array;
  /** Moving average of the gap between hits, in steps. [hashes * buckets] */
  private readonly gap: Float64Array;
  private readonly seeds: Uint32Array;
  private readonly mask: number;
  private firstStep = NaN;
  private lastStep = NaN;

  constructor(options?: StreamingFrequencyOptions) {
    const opts = resolveOptions(SCOPE, DEFAULT_STREAMING_FREQUENCY_OPTIONS, options);
    const { buckets, hashes, learningRate, minProbability, seed } = opts;
    if (!(Number.isInteger(buckets) && buckets >= 1 && buckets <= 2 ** 30 && (buckets & (buckets - 1)) === 0)) {
      throw new ConfigError(`${SCOPE}: buckets must be a power of two from 1 to 2^30 (got ${buckets}).`);
    }
    if (!(Number.isInteger(hashes) && hashes >= 1 && hashes <= 16)) throw new ConfigError(`${SCOPE}: hashes must be an integer from 1 to 16 (got ${hashes}).`);
    if (!(learningRate > 0 && learningRate <= 1)) throw new ConfigError(`${SCOPE}: learningRate must be in (0, 1] (got ${learningRate}).`);
    checkMinProbability(minProbability);
    if (!Number.isInteger(seed)) throw new ConfigError(`${SCOPE}: seed must be an integer (got ${seed}).`);
    this.options = Object.freeze(opts);
    this.mask = buckets - 1;
    this.lastHit = new Float64Array(hashes * buckets).fill(NaN);
    this.gap = new Float64Array(hashes * buckets);
    this.seeds = Uint32Array.from({ length: hashes }, (_, i) => deriveSeed(seed, `frequency-hash-${i}`));
  }

  /** Records the batch of global step `step` (a non-negative integer, never below the previous one). ids: [B] */
  update(ids: Uint32Array, step: number): void {
    if (!(Number.isSafeInteger(step) && step >= 0)) throw new DataError(`${SCOPE}: step must be a non-negative integer (got ${step}).`);
    if (step < this.lastStep) {
      throw new DataError(`${SCOPE}: step must not go back (got ${step} after ${this.lastStep}).`, { hint: 'Pass the global training step, counted across epochs.' });
    }
    if (Number.isNaN(this.firstStep)) this.firstStep = step;
    this.lastStep = step;
    const alpha = this.options.learningRate;
    const before = this.firstStep - 1;
    const { lastHit, gap, seeds, mask } = this;
    const buckets = mask + 1;
    for (let i = 0; i < ids.length; i++) {
      for (let k = 0; k < seeds.length; k++) {
        const b = k * buckets + (hash32(ids[i], seeds[k]) & mask);
        const last = lastHit[b];
        if (last === step) continue;
        gap[b] = Number.isNaN(last) ? step - before : (1 - alpha) * gap[b] + alpha * (step - last);
        lastHit[b] = step;
      }
    }
  }

  /** 1 / (largest gap over the hash functions), at least minProbability; minProbability for items never seen. ids: [B] -> [B] */
  probability(ids: Uint32Array): Float32Array {
    const { lastHit, gap, seeds, mask } = this;
    const buckets = mask + 1;
    const floor = this.options.minProbability;
    const out = new Float32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      let widest = 0;
      for (let k = 0; k < seeds.length; k++) {
        const b = k * buckets + (hash32(ids[i], seeds[k]) & mask);
        // Every hit updates all hash functions, so one unseen bucket means the item was never seen.
        if (Number.isNaN(lastHit[b])) {
          widest = Infinity;
          break;
        }
        if (gap[b] > widest) widest = gap[b];
      }
      out[i] = Math.max(floor, 1 / widest);
    }
    return out;
  }
}

/** p(y) = count(y) / total, fixed at construction; see the file header. */
export class ExactFrequencyEstimator implements FrequencyEstimator {
  readonly options: Readonly<Required<ExactFrequencyOptions>>;
  /** Number of items (valid ids are 0 .. size-1). */
  readonly size: number;
  /** Probability of every item, floored. [size] */
  private readonly probabilities: Float32Array;

  /** @param counts how often each item occurs among the training links (non-negative, summing above 0). [numItems] */
  constructor(counts: Uint32Array | Float64Array | Float32Array, options?: ExactFrequencyOptions) {
    const opts = resolveOptions(SCOPE, DEFAULT_EXACT_FREQUENCY_OPTIONS, options);
    checkMinProbability(opts.minProbability);
    let total = 0;
    for (let y = 0; y < counts.length; y++) {
      const c = counts[y];
      if (!(c >= 0 && Number.isFinite(c))) throw new DataError(`${SCOPE}: counts must be finite and non-negative (got ${c} for item ${y}).`);
      total += c;
    }
    if (!(total > 0)) throw new DataError(`${SCOPE}: counts must sum to more than 0 (got ${total} over ${counts.length} items).`, { hint: 'Count the content rows of the training links.' });
    this.options = Object.freeze(opts);
    this.size = counts.length;
    this.probabilities = new Float32Array(counts.length);
    for (let y = 0; y < counts.length; y++) this.probabilities[y] = Math.max(opts.minProbability, counts[y] / total);
  }

  /** Counts `ids` (e.g. the content rows of every training link) over `numItems` items and builds the estimator. ids: [L] */
  static fromIds(ids: Uint32Array, numItems: number, options?: ExactFrequencyOptions): ExactFrequencyEstimator {
    if (!(Number.isInteger(numItems) && numItems >= 0)) throw new DataError(`${SCOPE}: numItems must be a non-negative integer (got ${numItems}).`);
    const counts = new Uint32Array(numItems);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= numItems) throw new DataError(`${SCOPE}: ids must be item rows below ${numItems} (got ${ids[i]} at position ${i}).`);
      counts[ids[i]]++;
    }
    return new ExactFrequencyEstimator(counts, options);
  }

  /** Does nothing: the counts are fixed by the training links. */
  update(_ids: Uint32Array, _step: number): void {}

  /** count(y) / total, at least minProbability. ids: [B] -> [B] */
  probability(ids: Uint32Array): Float32Array {
    const out = new Float32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] >= this.size) throw new DataError(`${SCOPE}: ids must be item rows below ${this.size} (got ${ids[i]} at position ${i}).`);
      out[i] = this.probabilities[ids[i]];
    }
    return out;
  }
}
