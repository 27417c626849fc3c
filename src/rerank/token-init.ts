/**
 * Token embeddings for the cross-encoder taken from the text encoder's table.
 *
 * Both tables are indexed by the TF-IDF word-unigram bucket folded to their
 * own size (a power of two): the encoder's row r holds the words with
 * `bucket & (rows - 1) = r`, the reranker's id `RESERVED_IDS + b` the words
 * with `bucket & (V - 1) = b`. For each reranker bucket b:
 *
 *   rows <= V: row `b & (rows - 1)` holds every word of b (and more); copy it.
 *   rows >  V: b's words are spread over the rows/V rows r with r & (V - 1) = b.
 *              Given the corpus' words, take the mean of the rows those words
 *              use (exact when one word owns the bucket); otherwise, or for a
 *              bucket none of them uses, the mean of all rows/V rows, the
 *              single vector closest (in squared error) to all of them.
 *
 * When the encoder's width differs from the reranker's hidden size, rows are
 * multiplied by a fixed random projection P [cols, hidden] with N(0, 1/hidden)
 * entries, seeded from the model seed: it keeps norms and inner products in
 * expectation (Johnson-Lindenstrauss), where truncating would drop dimensions
 * and zero-padding would leave the new ones unused by attention at the start.
 */
import { UsageError } from '../errors.ts';
import { fillNormal, rngFor } from '../random.ts';
import { wordBucket } from '../text/tfidf.ts';
import { checkVocabSize } from './tokens.ts';

const SCOPE = 'trellis/rerank/token-init';

/**
 * Reranker rows for buckets 0..V-1 from an encoder table [rows, cols]:
 * returns [V, hidden], row b for token id `RESERVED_IDS + b`. `words`
 * (lowercased tokens, as `wordTokens` gives them) only matter when rows > V.
 */
export function tokenEmbeddingsFromEncoder(
  table: Float32Array,
  rows: number,
  cols: number,
  vocabSize: number,
  hidden: number,
  seed: number,
  words?: Iterable<string>,
): Float32Array {
  checkVocabSize(vocabSize);
  if (!Number.isInteger(rows) || rows < 1 || (rows & (rows - 1)) !== 0) {
    throw new UsageError(`${SCOPE}: the encoder table's rows must be a power of two, its folding of the TF-IDF buckets (got ${rows}).`);
  }
  if (!Number.isInteger(cols) || cols < 1 || table.length !== rows * cols) {
    throw new UsageError(`${SCOPE}: the encoder table must hold rows x cols = ${rows} x ${cols} values (got ${table.length}).`);
  }
  const folded = new Float32Array(vocabSize * cols); // [V, cols]
  if (rows <= vocabSize) {
    for (let b = 0; b < vocabSize; b++) {
      const r = b & (rows - 1);
      folded.set(table.subarray(r * cols, (r + 1) * cols), b * cols);
    }
  } else {
    // The encoder rows the listed words use, by reranker bucket.
    const used = new Map<number, Set<number>>();
    for (const word of words ?? []) {
      const r = wordBucket(word, rows);
      const b = r & (vocabSize - 1);
      let set = used.get(b);
      if (!set) used.set(b, (set = new Set()));
      set.add(r);
    }
    const sums = new Float64Array(cols);
    for (let b = 0; b < vocabSize; b++) {
      sums.fill(0);
      const known = used.get(b);
      const sources = known ? [...known] : Array.from({ length: rows / vocabSize }, (_, k) => b + k * vocabSize);
      for (const r of sources) for (let j = 0; j < cols; j++) sums[j] += table[r * cols + j];
      for (let j = 0; j < cols; j++) folded[b * cols + j] = sums[j] / sources.length;
    }
  }
  if (cols === hidden) return folded;
  const projection = encoderProjection(cols, hidden, seed); // [cols, hidden]
  const out = new Float32Array(vocabSize * hidden); // [V, hidden]
  const acc = new Float64Array(hidden);
  for (let b = 0; b < vocabSize; b++) {
    acc.fill(0);
    for (let i = 0; i < cols; i++) {
      const x = folded[b * cols + i];
      if (x === 0) continue;
      for (let j = 0; j < hidden; j++) acc[j] += x * projection[i * hidden + j];
    }
    for (let j = 0; j < hidden; j++) out[b * hidden + j] = acc[j];
  }
  return out;
}

/** The fixed projection [cols, hidden] used when widths differ: N(0, 1/hidden) entries. */
export function encoderProjection(cols: number, hidden: number, seed: number): Float32Array {
  const out = new Float32Array(cols * hidden);
  fillNormal(out, rngFor(seed, 'rerank/token-init/projection'), 0, 1 / Math.sqrt(hidden));
  return out;
}
