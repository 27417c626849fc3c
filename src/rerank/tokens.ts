/**
 * Word-level hashed tokens for the cross-encoder, and the pair input it reads.
 *
 * A word's token id is its TF-IDF word-unigram bucket (`wordBucket` in
 * src/text/tfidf.ts) folded to the reranker vocabulary V (a power of two) by
 * `bucket & (V - 1)`, shifted by 4 so that ids 0..3 stay free for the special
 * tokens. The embedding table therefore has V + 4 rows, and row 4 + b holds
 * exactly the words of TF-IDF buckets b, b + V, b + 2V, ... which is what lets
 * `tokenEmbeddingsFromEncoder` copy rows from the text encoder's table.
 *
 * A pair is laid out as in BERT's sentence-pair input (Devlin et al. 2019),
 * which Nogueira & Cho (2019) use for passage re-ranking:
 *
 *   [CLS] topic tokens [SEP] content tokens [SEP]     segment 0 ... 0 | 1 ... 1
 *
 * with the topic cut to `maxTopicTokens` and the content filling the rest of
 * `maxLength`. An empty text becomes a single [UNK] so each segment has a token.
 *
 * Topics and content items recur across many pairs, so texts are tokenised
 * once (`tokenizeTexts`) and pairs name them by index (`PairSet`).
 */
import { wordBucket } from '../text/tfidf.ts';
import { DataError, UsageError } from '../errors.ts';

const SCOPE = 'trellis/rerank/tokens';

export const PAD_ID = 0;
export const CLS_ID = 1;
export const SEP_ID = 2;
export const UNK_ID = 3;
/** Ids below this are special tokens; a word with bucket b has id b + RESERVED_IDS. */
export const RESERVED_IDS = 4;

/** Texts tokenised once, CSR-packed: text i is `ids[offsets[i] .. offsets[i + 1])`. */
export interface TokenizedTexts {
  /** The vocabulary size V the ids were folded to (ids are < V + RESERVED_IDS). */
  vocabSize: number;
  /** [T + 1], offsets[0] = 0, non-decreasing. */
  offsets: Uint32Array;
  /** Token ids, no special tokens. [offsets[T]] */
  ids: Int32Array;
}

/**
 * The cross-encoder's input: N (topic, content) pairs that index into
 * tokenised topic and content texts, with F side features per pair.
 */
export interface PairSet {
  /** Tokenised topic texts (e.g. every topic of a dataset, by topic index). */
  topics: TokenizedTexts;
  /** Tokenised content texts (e.g. every content item, by content index). */
  contents: TokenizedTexts;
  /** Pair p reads topic `topicIndex[p]`. [N] */
  topicIndex: Uint32Array;
  /** Pair p reads content `contentIndex[p]`. [N] */
  contentIndex: Uint32Array;
  /** Side features, row-major, F per pair (unstandardised; the model standardises). [N * F] */
  features: Float32Array;
  /** 1 when the content belongs to the topic, else 0; needed for training. [N] */
  labels?: Uint8Array;
}

/** Token ids of the first `maxTokens` words of `text` (no special tokens). */
export function tokenIds(text: string, vocabSize: number, maxTokens: number): Int32Array {
  const out: number[] = [];
  // wordTokens' pattern, stopped early: only the head of a long text is kept.
  const words = /[\p{L}\p{N}]+/gu;
  const lower = text.toLowerCase();
  for (let m = words.exec(lower); m !== null && out.length < maxTokens; m = words.exec(lower)) {
    out.push(wordBucket(m[0], vocabSize) + RESERVED_IDS);
  }
  return Int32Array.from(out);
}

/** Tokenises each text once, keeping at most `maxTokens` words of each. */
export function tokenizeTexts(texts: readonly string[], vocabSize: number, maxTokens: number): TokenizedTexts {
  checkVocabSize(vocabSize);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new UsageError(`${SCOPE}: maxTokens must be a positive integer (got ${maxTokens}).`);
  }
  const parts = texts.map((text) => tokenIds(text, vocabSize, maxTokens));
  const offsets = new Uint32Array(texts.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i] + parts[i].length;
  const ids = new Int32Array(offsets[texts.length]);
  for (let i = 0; i < parts.length; i++) ids.set(parts[i], offsets[i]);
  return { vocabSize, offsets, ids };
}

export function checkVocabSize(vocabSize: number): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 2 || vocabSize > 1 << 30 || (vocabSize & (vocabSize - 1)) !== 0) {
    throw new UsageError(`${SCOPE}: vocabSize must be a power of two in [2, 2^30] (got ${vocabSize}).`);
  }
}

/**
 * Checks a pair set at the model's entry: matching lengths, indices in
 * range, the model's vocabulary, finite features, 0/1 labels. O(N * F).
 */
export function checkPairSet(scope: string, pairs: PairSet, vocabSize: number, featureCount: number, needLabels: boolean): void {
  const n = pairs.topicIndex.length;
  const fail = (what: string, got: string): never => {
    throw new DataError(`${scope}: ${what} (got ${got}).`);
  };
  if (pairs.contentIndex.length !== n) fail(`contentIndex must have one entry per pair like topicIndex (${n})`, `${pairs.contentIndex.length}`);
  if (pairs.features.length !== n * featureCount) fail(`features must hold ${featureCount} values per pair (${n * featureCount} in all)`, `${pairs.features.length}`);
  for (const [name, texts] of [['topics', pairs.topics], ['contents', pairs.contents]] as const) {
    if (texts.vocabSize !== vocabSize) {
      throw new DataError(`${scope}: ${name} must be tokenised with the model's vocabSize ${vocabSize} (got ${texts.vocabSize}).`, {
        hint: 'Tokenise with model.tokenize(texts).',
      });
    }
  }
  // Out-of-range ids would make gatherNd / scatterNd read or write outside their tensors on wasm.
  for (const [name, texts] of [['topics', pairs.topics], ['contents', pairs.contents]] as const) {
    const limit = vocabSize + RESERVED_IDS;
    if (texts.offsets.length < 1 || texts.offsets[0] !== 0 || texts.offsets[texts.offsets.length - 1] !== texts.ids.length) {
      fail(`${name}.offsets must run from 0 to ${name}.ids.length = ${texts.ids.length}`, `${texts.offsets[0]} .. ${texts.offsets[texts.offsets.length - 1]}`);
    }
    for (let i = 0; i < texts.ids.length; i++) {
      if (!(texts.ids[i] >= RESERVED_IDS && texts.ids[i] < limit)) fail(`${name}.ids must be word ids in [${RESERVED_IDS}, ${limit})`, `${texts.ids[i]} at ${i}`);
    }
  }
  const topicCount = pairs.topics.offsets.length - 1;
  const contentCount = pairs.contents.offsets.length - 1;
  for (let p = 0; p < n; p++) {
    if (pairs.topicIndex[p] >= topicCount) fail(`topicIndex must be below the ${topicCount} topic texts`, `${pairs.topicIndex[p]} at pair ${p}`);
    if (pairs.contentIndex[p] >= contentCount) fail(`contentIndex must be below the ${contentCount} content texts`, `${pairs.contentIndex[p]} at pair ${p}`);
  }
  for (let i = 0; i < pairs.features.length; i++) {
    if (!Number.isFinite(pairs.features[i])) fail('features must be finite', `${pairs.features[i]} at pair ${Math.floor(i / featureCount)}`);
  }
  if (needLabels) {
    if (!pairs.labels) fail('labels must be given for training', 'none');
    const labels = pairs.labels!;
    if (labels.length !== n) fail(`labels must have one entry per pair (${n})`, `${labels.length}`);
    for (let p = 0; p < n; p++) if (labels[p] > 1) fail('labels must be 0 or 1', `${labels[p]} at pair ${p}`);
  }
}

/** Checks an encoded batch built by hand: sizes, token ids below V + 4, segments 0 or 1. O(B * L). */
export function checkBatch(scope: string, batch: EncodedBatch, vocabSize: number, maxLength: number): void {
  const cells = batch.size * batch.length;
  if (!(batch.length >= 1 && batch.length <= maxLength) || batch.ids.length !== cells || batch.segments.length !== cells || batch.mask.length !== cells) {
    throw new DataError(`${scope}: a batch must hold size x length ids, segments and mask values with length in [1, ${maxLength}] (got size ${batch.size}, length ${batch.length}, ${batch.ids.length} ids).`);
  }
  const limit = vocabSize + RESERVED_IDS;
  for (let i = 0; i < cells; i++) {
    if (!(batch.ids[i] >= 0 && batch.ids[i] < limit)) throw new DataError(`${scope}: batch ids must be in [0, ${limit}) (got ${batch.ids[i]} at ${i}).`);
    if (batch.segments[i] !== 0 && batch.segments[i] !== 1) throw new DataError(`${scope}: batch segments must be 0 or 1 (got ${batch.segments[i]} at ${i}).`);
  }
}

/** A padded batch of pair sequences, ready for tensors. L is the longest pair in the batch. */
export interface EncodedBatch {
  /** Pairs in the batch. */
  size: number;
  /** Padded length of every row. */
  length: number;
  /** Token ids, PAD_ID after each row's end. [B * L] */
  ids: Int32Array;
  /** Segment ids: 0 for [CLS] topic [SEP], 1 for content [SEP] and padding. [B * L] */
  segments: Int32Array;
  /** Additive attention mask: 0 on tokens, -1e9 on padding. [B * L] */
  mask: Float32Array;
}

/** Length of pair (topic t, content c) after truncation. */
function pairLength(tLen: number, cLen: number, maxLength: number, maxTopicTokens: number): { topic: number; content: number } {
  const topic = Math.max(1, Math.min(tLen, maxTopicTokens));
  const content = Math.max(1, Math.min(cLen, maxLength - 3 - topic));
  return { topic, content };
}

/** Sequence length (with the three special tokens) of each pair; used to sort pairs for scoring. */
export function pairLengths(pairs: PairSet, rows: ArrayLike<number>, maxLength: number, maxTopicTokens: number): Uint32Array {
  const out = new Uint32Array(rows.length);
  const to = pairs.topics.offsets;
  const co = pairs.contents.offsets;
  for (let i = 0; i < rows.length; i++) {
    const p = rows[i];
    const t = pairs.topicIndex[p];
    const c = pairs.contentIndex[p];
    const len = pairLength(to[t + 1] - to[t], co[c + 1] - co[c], maxLength, maxTopicTokens);
    out[i] = len.topic + len.content + 3;
  }
  return out;
}

/**
 * Lays out pairs `rows` of `pairs` as `[CLS] topic [SEP] content [SEP]`,
 * padded to the longest of them. `maxTopicTokens` must leave room for one
 * content token (`maxTopicTokens <= maxLength - 4`), which the model checks.
 */
export function encodePairs(pairs: PairSet, rows: ArrayLike<number>, maxLength: number, maxTopicTokens: number): EncodedBatch {
  const size = rows.length;
  const lengths = pairLengths(pairs, rows, maxLength, maxTopicTokens);
  let length = 1;
  for (let i = 0; i < size; i++) length = Math.max(length, lengths[i]);
  const ids = new Int32Array(size * length);
  const segments = new Int32Array(size * length).fill(1);
  const mask = new Float32Array(size * length).fill(-1e9);
  const { topics, contents } = pairs;
  for (let i = 0; i < size; i++) {
    const p = rows[i];
    const t = pairs.topicIndex[p];
    const c = pairs.contentIndex[p];
    const tFrom = topics.offsets[t];
    const cFrom = contents.offsets[c];
    const len = pairLength(topics.offsets[t + 1] - tFrom, contents.offsets[c + 1] - cFrom, maxLength, maxTopicTokens);
    const row = i * length;
    let k = row;
    ids[k++] = CLS_ID;
    if (topics.offsets[t + 1] === tFrom) ids[k++] = UNK_ID;
    else for (let j = 0; j < len.topic; j++) ids[k++] = topics.ids[tFrom + j];
    ids[k++] = SEP_ID;
    segments.fill(0, row, k);
    if (contents.offsets[c + 1] === cFrom) ids[k++] = UNK_ID;
    else for (let j = 0; j < len.content; j++) ids[k++] = contents.ids[cFrom + j];
    ids[k++] = SEP_ID;
    mask.fill(0, row, k);
  }
  return { size, length, ids, segments, mask };
}
