/**
 * Seeded randomness for every stage: one `seed` in the run config, sub-seeds
 * derived from it by label (`deriveSeed(seed, 'shuffle')`,
 * `deriveSeed(seed, 'hnsw')`, ...), so adding a new consumer of randomness
 * never shifts the numbers another one sees.
 *
 * The generator is mulberry32 (Tommy Ettinger, 2017): 32 bits of state, one
 * multiply-xorshift round per draw, period 2^32. Plenty for shuffling,
 * sampling and weight init; not for cryptography.
 */

/** A source of uniform floats in [0, 1). */
export type Rng = () => number;

/** mulberry32 seeded with the low 32 bits of `seed`. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A 32-bit sub-seed for `label` under `seed`: FNV-1a over the label's UTF-16
 * code units, mixed with the seed through murmur3's finaliser so that nearby
 * seeds and similar labels land far apart.
 */
export function deriveSeed(seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A generator for `label` under the run seed: `mulberry32(deriveSeed(seed, label))`. */
export function rngFor(seed: number, label: string): Rng {
  return mulberry32(deriveSeed(seed, label));
}

/** An integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Fills `out` with standard normal draws (Box-Muller, both outputs used). */
export function fillNormal<T extends Float32Array | Float64Array>(out: T, rng: Rng, mean = 0, std = 1): T {
  for (let i = 0; i < out.length; i += 2) {
    // 1 - u keeps the log argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const theta = 2 * Math.PI * rng();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
}

/** Fisher-Yates shuffle in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, rng: Rng): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}
