/**
 * TF-IDF features over word unigrams, word bigrams and character n-grams
 * (3-5, inside word boundaries as in scikit-learn's "char_wb"), hashed into a
 * fixed number of buckets (the hashing trick: no vocabulary to build or
 * store, constant memory at any corpus size). Term frequencies are sublinear
 * (1 + log tf), IDF is smoothed (log((1 + N) / (1 + df)) + 1), and each
 * feature family is L2-normalised on its own and weighted, so that short
 * titles are matched by their character n-grams and long texts by their words.
 */
import { isPowerOfTwo, resolveOptions, type ConfigSection } from '../options.ts';

export interface TfidfOptions {
  /** Hash buckets (a power of two). Default 2^21. */
  buckets?: number;
  /** Smallest and largest character n-gram. Default 3 and 5. */
  charMin?: number;
  charMax?: number;
  /** Weight of the word block (unigrams + bigrams) against the char block. Default 0.6. */
  wordWeight?: number;
  /** Characters of a document whose words are featurised. Default 1000. */
  maxChars?: number;
  /** Characters of a document whose character n-grams are featurised (the head: title, description). Default 240. */
  charChars?: number;
}

export const DEFAULT_TFIDF_OPTIONS: Readonly<Required<TfidfOptions>> = Object.freeze({
  buckets: 1 << 21,
  charMin: 3,
  charMax: 5,
  wordWeight: 0.6,
  maxChars: 1000,
  charChars: 240,
});

/** The lexical section of the run config: the TF-IDF features the lexical retriever and the encoder read. */
export const LEXICAL_SECTION: ConfigSection<Required<TfidfOptions>> = {
  name: 'lexical',
  defaults: DEFAULT_TFIDF_OPTIONS,
  check(c, need) {
    need(isPowerOfTwo(c.buckets), 'buckets', 'a power of two', c.buckets);
  },
};

/** Compressed sparse rows: row r is indices/values[indptr[r] .. indptr[r+1]). */
export interface SparseRows {
  rows: number;
  indptr: Uint32Array;
  indices: Uint32Array;
  values: Float32Array;
}

export interface TfidfModel {
  options: Required<TfidfOptions>;
  /** Smoothed IDF per bucket. [buckets] */
  idf: Float32Array;
  /** Documents the IDF was fitted on. */
  documents: number;
}

const WORD = /[\p{L}\p{N}]+/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashString(h: number, s: string, from = 0, to = s.length): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** Seed of the word-unigram hash (the bigram and char n-gram families use other seeds). */
const UNIGRAM_SEED = FNV_OFFSET ^ 0x77;

/**
 * The bucket `forEachFeature` gives the word unigram `word` (a lowercased
 * token from `wordTokens`) under `buckets` (a power of two). Folding the
 * result further, `wordBucket(w, B) & (V - 1)` equals `wordBucket(w, V)` for
 * any power of two V <= B, so tables indexed by smaller foldings of the
 * TF-IDF buckets line up row by row.
 */
export function wordBucket(word: string, buckets: number): number {
  return hashString(UNIGRAM_SEED, word) & (buckets - 1);
}

/** Lowercased word tokens of a text (letters and digits, Unicode-aware). */
export function wordTokens(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/**
 * Feature buckets of one document, with a family flag per feature: calls
 * `emit(bucket, isWord)` for every unigram, bigram and char n-gram occurrence.
 */
export function forEachFeature(text: string, options: Required<TfidfOptions>, emit: (bucket: number, isWord: boolean) => void): void {
  const mask = options.buckets - 1;
  const words = wordTokens(text.length > options.maxChars ? text.slice(0, options.maxChars) : text);
  let previous = 0;
  let chars = 0;
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    const h = hashString(UNIGRAM_SEED, word);
    emit(h & mask, true);
    if (w > 0) emit((Math.imul(previous ^ 0x9e3779b9, 31) ^ h) & mask, true);
    previous = h;
    chars += word.length + 1;
    if (chars > options.charChars) continue;
    const padded = `<${word}>`;
    for (let n = options.charMin; n <= options.charMax; n++) {
      if (padded.length < n) break;
      for (let i = 0; i + n <= padded.length; i++) emit(hashString(FNV_OFFSET ^ n, padded, i, i + n) & mask, false);
    }
  }
}

/** Raw sublinear term frequencies of one document, split by family. */
function termFrequencies(text: string, options: Required<TfidfOptions>): { words: Map<number, number>; chars: Map<number, number> } {
  const words = new Map<number, number>();
  const chars = new Map<number, number>();
  forEachFeature(text, options, (bucket, isWord) => {
    const m = isWord ? words : chars;
    m.set(bucket, (m.get(bucket) ?? 0) + 1);
  });
  return { words, chars };
}

/** Fits the IDF on a corpus. */
export function fitTfidf(documents: readonly string[], options: TfidfOptions = {}): TfidfModel {
  const resolved = resolveOptions('tfidf', DEFAULT_TFIDF_OPTIONS as Required<TfidfOptions>, options);
  const df = new Uint32Array(resolved.buckets);
  const seen = new Uint8Array(resolved.buckets);
  const touched: number[] = [];
  for (const doc of documents) {
    forEachFeature(doc, resolved, (bucket) => {
      if (!seen[bucket]) {
        seen[bucket] = 1;
        touched.push(bucket);
      }
    });
    for (const b of touched) {
      df[b]++;
      seen[b] = 0;
    }
    touched.length = 0;
  }
  const n = documents.length;
  const idf = new Float32Array(resolved.buckets);
  for (let b = 0; b < idf.length; b++) idf[b] = Math.log((1 + n) / (1 + df[b])) + 1;
  return { options: resolved, idf, documents: n };
}

/** TF-IDF rows of `documents` under a fitted model; every row has unit L2 norm (or is empty). */
export function transformTfidf(model: TfidfModel, documents: readonly string[]): SparseRows {
  const { idf, options } = model;
  const indptr = new Uint32Array(documents.length + 1);
  const rowIndices: Uint32Array[] = [];
  const rowValues: Float32Array[] = [];
  const blockWeights = [Math.sqrt(options.wordWeight), Math.sqrt(1 - options.wordWeight)];
  let total = 0;
  documents.forEach((doc, r) => {
    const { words, chars } = termFrequencies(doc, options);
    const merged = new Map<number, number>();
    [words, chars].forEach((block, k) => {
      if (blockWeights[k] === 0) return;
      let norm = 0;
      for (const [b, tf] of block) {
        const v = (1 + Math.log(tf)) * idf[b];
        block.set(b, v);
        norm += v * v;
      }
      if (norm === 0) return;
      const scale = blockWeights[k] / Math.sqrt(norm);
      for (const [b, v] of block) merged.set(b, (merged.get(b) ?? 0) + v * scale);
    });
    const indices = Uint32Array.from(merged.keys()).sort();
    const values = new Float32Array(indices.length);
    let norm = 0;
    for (const v of merged.values()) norm += v * v;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let i = 0; i < indices.length; i++) values[i] = merged.get(indices[i])! * inv;
    rowIndices.push(indices);
    rowValues.push(values);
    total += indices.length;
    indptr[r + 1] = total;
  });
  const indices = new Uint32Array(total);
  const values = new Float32Array(total);
  for (let r = 0; r < rowIndices.length; r++) {
    indices.set(rowIndices[r], indptr[r]);
    values.set(rowValues[r], indptr[r]);
  }
  return { rows: documents.length, indptr, indices, values };
}
