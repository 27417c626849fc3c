/**
 * Hashed word and character n-gram features for the from-scratch text
 * encoder, after fastText (Bojanowski et al., "Enriching Word Vectors with
 * Subword Information", TACL 2017) with the hashing trick for everything
 * (Weinberger et al., "Feature Hashing for Large Scale Multitask Learning",
 * ICML 2009): no vocabulary to build, store or version, and any language or
 * misspelling still lands on trained rows through its n-grams.
 *
 * A text becomes words (NFKC, lower case, maximal runs of letters, marks and
 * digits; marks so that Devanagari or Thai words stay whole); each word gives
 * its own feature plus the character n-grams (n = minN..maxN, code points) of
 * `<word>`, so "cat" gives "<ca", "cat", "at>", "<cat", "cat>", "<cat>". Every
 * feature is MurmurHash3 (x86, 32-bit) of its UTF-8 bytes, words and n-grams
 * under different seeds, mapped into buckets 1..buckets-1. Bucket 0 is
 * EMPTY_BUCKET: the single feature of a text with no words, so every text has
 * at least one id and a mean over its ids is always defined.
 *
 * The embedding bag (mean of a text's rows) wants the CSR form of a batch:
 * `ids` of all texts back to back, `offsets`, and `segments` (the text of
 * each id). On tfjs-wasm, gather(table, ids) -> unsortedSegmentSum over
 * segments -> divide by lengths does work proportional to the real number of
 * ids; the padded [B, L] form with a mask pays for the longest text in every
 * row, and feature counts vary 10x between a title and a description.
 * Measured (scripts/bench-embedding-bag.ts, wasm, B = 256, 88k ids, L = 1021,
 * 2^18 x 128 table, forward + backward): csr 202 ms, padded 550 ms, and csr
 * on the batch's distinct rows (`uniqueIds`, a [U, D] gradient instead of
 * [V, D]) 106 ms. These rely on the row-gather kernel and segment-sum
 * gradient that src/models/runtime.ts installs for wasm.
 *
 * Buckets default to 2^18 = 262,144: fastText uses 2M, but trellis's corpora
 * are ~10^5 short texts and the table (buckets x dim floats) is trained on
 * wasm; at dim 128 it is 134 MB. Fewer buckets means more collisions, which
 * the n-gram redundancy absorbs well down to 2^16.
 */
import { resolveOptions } from '../options.ts';
import { ConfigError } from '../errors.ts';
import { deriveSeed } from '../random.ts';

const SCOPE = 'trellis/text/hashing';

/** The id of the one feature of a text without words. */
export const EMPTY_BUCKET = 0;

export interface HashingOptions {
  /** Rows of the embedding table; ids fall in [1, buckets), 0 is EMPTY_BUCKET. Default 262144 (2^18). */
  buckets?: number;
  /** Shortest character n-gram, in code points including the < > markers. Default 3. */
  minN?: number;
  /** Longest character n-gram. Default 5. */
  maxN?: number;
  /** Words per text that give features; later words are ignored. Default 64. */
  maxWords?: number;
  /** Cap on features per text (a long unspaced run, e.g. Chinese, gives many n-grams). Default 1024. */
  maxFeatures?: number;
  /** Add each whole word as a feature. Default true. */
  words?: boolean;
  /** Hash seed. Default 0. */
  seed?: number;
}

export const DEFAULT_HASHING_OPTIONS: Readonly<Required<HashingOptions>> = Object.freeze({
  buckets: 2 ** 18,
  minN: 3,
  maxN: 5,
  maxWords: 64,
  maxFeatures: 1024,
  words: true,
  seed: 0,
});

/** A batch of texts in CSR form. */
export interface FeatureBatch {
  /** Number of texts. */
  rows: number;
  /** Bucket ids of every text, text after text. [nnz] */
  ids: Uint32Array;
  /** Text t's ids are ids[offsets[t] .. offsets[t + 1]). [rows + 1] */
  offsets: Uint32Array;
  /** The text each id belongs to: the segment ids of a segment sum. [nnz] */
  segments: Uint32Array;
}

/** Resolved options plus the derived seeds; make once with `hashingConfig`. */
export interface HashingConfig extends Readonly<Required<HashingOptions>> {
  readonly wordSeed: number;
  readonly ngramSeed: number;
}

/** Checks and resolves options once, for the featurize calls that follow. */
export function hashingConfig(options?: HashingOptions): HashingConfig {
  const o = resolveOptions(SCOPE, DEFAULT_HASHING_OPTIONS, options);
  if (!Number.isInteger(o.buckets) || o.buckets < 2 || o.buckets > 2 ** 31) {
    throw new ConfigError(`${SCOPE}: buckets must be an integer in [2, 2^31] (got ${o.buckets}).`);
  }
  if (!Number.isInteger(o.minN) || !Number.isInteger(o.maxN) || o.minN < 1 || o.maxN < o.minN) {
    throw new ConfigError(`${SCOPE}: minN and maxN must be integers with 1 <= minN <= maxN (got ${o.minN} and ${o.maxN}).`);
  }
  for (const key of ['maxWords', 'maxFeatures'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new ConfigError(`${SCOPE}: ${key} must be a positive integer (got ${o[key]}).`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new ConfigError(`${SCOPE}: seed must be a non-negative integer (got ${o.seed}).`);
  return Object.freeze({ ...o, wordSeed: deriveSeed(o.seed, 'word'), ngramSeed: deriveSeed(o.seed, 'ngram') });
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** The words of a text: NFKC, lower case, runs of letters, marks and digits. */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The character n-grams of `<word>`, by n then position (for inspection and tests). */
export function charNgrams(word: string, minN = DEFAULT_HASHING_OPTIONS.minN, maxN = DEFAULT_HASHING_OPTIONS.maxN): string[] {
  const chars = ['<', ...word, '>'];
  const out: string[] = [];
  for (let n = minN; n <= maxN; n++) {
    for (let i = 0; i + n <= chars.length; i++) out.push(chars.slice(i, i + n).join(''));
  }
  return out;
}

/**
 * MurmurHash3 x86 32-bit (Austin Appleby) of bytes[start, end) with `seed`,
 * as an unsigned integer.
 */
export function murmur3(bytes: Uint8Array, seed: number, start = 0, end = bytes.length): number {
  const length = end - start;
  let h = seed | 0;
  let i = start;
  const blocksEnd = start + (length & ~3);
  for (; i < blocksEnd; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[i + 2] << 16;
    if (rest >= 2) k ^= bytes[i + 1] << 8;
    k ^= bytes[i];
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** murmur3 of a string's UTF-8 bytes. */
export function hashString(text: string, seed: number): number {
  return murmur3(encoder.encode(text), seed);
}

/** The bucket of a 32-bit hash: 1 + hash mod (buckets - 1), never EMPTY_BUCKET. */
export function bucketOf(hash: number, buckets: number): number {
  return 1 + (hash % (buckets - 1));
}

/** The bucket ids of one text, in order: per word, its word id then its n-grams by n and position. */
export function featurize(text: string, config: HashingConfig | HashingOptions = DEFAULT_CONFIG): Uint32Array {
  const c = isConfig(config) ? config : hashingConfig(config);
  const scratch = new Scratch(c.maxFeatures);
  const n = featurizeInto(text, c, scratch, scratch.ids, 0);
  return scratch.ids.slice(0, n);
}

/** The CSR features of many texts (see FeatureBatch). */
export function featurizeBatch(texts: readonly string[], config: HashingConfig | HashingOptions = DEFAULT_CONFIG): FeatureBatch {
  const c = isConfig(config) ? config : hashingConfig(config);
  const scratch = new Scratch(c.maxFeatures);
  const offsets = new Uint32Array(texts.length + 1);
  let ids = new Uint32Array(Math.max(16, texts.length * 64));
  let nnz = 0;
  for (let t = 0; t < texts.length; t++) {
    if (ids.length - nnz < c.maxFeatures) {
      const grown = new Uint32Array(Math.max(ids.length * 2, nnz + c.maxFeatures));
      grown.set(ids.subarray(0, nnz));
      ids = grown;
    }
    nnz += featurizeInto(texts[t], c, scratch, ids, nnz);
    offsets[t + 1] = nnz;
  }
  const segments = new Uint32Array(nnz);
  for (let t = 0; t < texts.length; t++) segments.fill(t, offsets[t], offsets[t + 1]);
  return { rows: texts.length, ids: ids.slice(0, nnz), offsets, segments };
}

/**
 * The distinct ids of `ids` (in first-seen order) and each id's position
 * among them: ids[i] === unique[local[i]]. Lets a trainer gather only the
 * table rows a batch touches, [U, D] instead of a dense [buckets, D] gradient.
 */
export function uniqueIds(ids: Uint32Array, buckets: number): { unique: Uint32Array; local: Uint32Array } {
  const slot = new Int32Array(buckets).fill(-1);
  const unique = new Uint32Array(ids.length);
  const local = new Uint32Array(ids.length);
  let count = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    let s = slot[id];
    if (s < 0) {
      s = count++;
      slot[id] = s;
      unique[s] = id;
    }
    local[i] = s;
  }
  return { unique: unique.slice(0, count), local };
}

// --- internals ---------------------------------------------------------------

const encoder = new TextEncoder();
const DEFAULT_CONFIG = hashingConfig();
const LT = 0x3c; // '<'
const GT = 0x3e; // '>'

function isConfig(value: HashingConfig | HashingOptions): value is HashingConfig {
  return Object.isFrozen(value) && 'wordSeed' in value;
}

/** Reused buffers: the UTF-8 bytes of `<word>` and where each code point starts. */
class Scratch {
  bytes = new Uint8Array(256);
  starts = new Uint32Array(257);
  readonly ids: Uint32Array;
  constructor(maxFeatures: number) {
    this.ids = new Uint32Array(maxFeatures);
  }
  fit(byteLength: number): void {
    if (this.bytes.length >= byteLength) return;
    this.bytes = new Uint8Array(byteLength * 2);
    this.starts = new Uint32Array(byteLength * 2 + 1);
  }
}

/** Writes the text's ids into out[at, ...) and returns how many (at most maxFeatures). */
function featurizeInto(text: string, c: HashingConfig, s: Scratch, out: Uint32Array, at: number): number {
  const list = words(text);
  const limit = at + c.maxFeatures;
  let p = at;
  const wordCount = Math.min(list.length, c.maxWords);
  for (let w = 0; w < wordCount && p < limit; w++) {
    const word = list[w];
    s.fit(word.length * 3 + 2);
    const { bytes, starts } = s;
    bytes[0] = LT;
    const { written } = encoder.encodeInto(word, bytes.subarray(1));
    const end = written + 1;
    bytes[end] = GT;
    const byteLength = end + 1;
    if (c.words) out[p++] = bucketOf(murmur3(bytes, c.wordSeed, 1, end), c.buckets);
    // Code point starts: every byte that is not a UTF-8 continuation byte.
    let cps = 0;
    for (let b = 0; b < byteLength; b++) if ((bytes[b] & 0xc0) !== 0x80) starts[cps++] = b;
    starts[cps] = byteLength;
    for (let n = c.minN; n <= c.maxN; n++) {
      for (let i = 0; i + n <= cps && p < limit; i++) out[p++] = bucketOf(murmur3(bytes, c.ngramSeed, starts[i], starts[i + n]), c.buckets);
    }
  }
  if (p === at) out[p++] = EMPTY_BUCKET;
  return p - at;
}
