/**
 * A pretrained sentence encoder from a local Hugging Face model directory:
 * tokenizer + BERT + pooling, embedding texts in length-sorted batches (each
 * padded only to its own longest text) of about `batchTokens` tokens.
 *
 * `id` names the exact model (a SHA-256 over config.json, the tokenizer file
 * and the weights); `cacheKey` adds what else changes the vectors (window,
 * pooling), for the embedding cache.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { tf, type Tensor2D, type Variable } from '../runtime/tf.ts';
import { tidyRead } from '../runtime/ops.ts';
import { ArtifactError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { inspectModelDir, type ModelFiles } from './config.ts';
import { parseSafetensors } from './safetensors.ts';
import { BertTokenizer } from './tokenizer.ts';
import { BertModel } from './bert.ts';
import { pool } from './pooling.ts';
import { fromBfloat16, toBfloat16 } from './bfloat16.ts';

export interface PretrainedEncoderOptions {
  /** Tokens per text, [CLS]/[SEP] included; 0 = the model's max_seq_length. Default 128. */
  maxLength?: number;
  /**
   * Tokens per forward batch (batch size x padded length). Default 1024.
   * Texts are sorted by length, and smaller batches span fewer lengths, so
   * they pad less: 512 Khan texts run as 1.10x their real tokens at 1024
   * against 1.58x at 8192 (a whole catalogue: 1.01x against 1.06x); a layer's
   * activations also stay within the CPU's caches ([1024, 1536] floats is
   * 6 MB). See BENCHMARKS.md, "The native TensorFlow backend".
   */
  batchTokens?: number;
  /** Top transformer layers that are trainable variables (fine-tuning); the rest stay frozen. Default 0. */
  trainableLayers?: number;
}

export const DEFAULT_PRETRAINED_ENCODER_OPTIONS: Readonly<Required<PretrainedEncoderOptions>> = Object.freeze({ maxLength: 128, batchTokens: 1024, trainableLayers: 0 });

/**
 * Rows grouped into forward batches: row indices sorted by length (ties by
 * index), cut so that a group's size times its longest (last) row stays
 * within `batchTokens` (a longer row goes alone).
 */
export function lengthGroups(lengths: readonly number[], batchTokens: number): number[][] {
  const order = Array.from(lengths.keys()).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const groups: number[][] = [];
  for (let start = 0; start < order.length; ) {
    // Longest row last: a batch's padded length is its last row's.
    let end = start + 1;
    while (end < order.length && (end + 1 - start) * lengths[order[end]] <= batchTokens) end++;
    groups.push(order.slice(start, end));
    start = end;
  }
  return groups;
}

/** A trainable sentence encoder over token ids (a pretrained transformer being fine-tuned): what the towers' text encoder runs over a batch's tokens. */
export interface SentenceEncoder {
  readonly dim: number;
  /** Its trainable variables (the fine-tuned layers). */
  readonly variables: readonly Variable[];
  /** Pooled vectors of token rows. [rows.length, dim] (call inside tf.tidy) */
  encodeTokens(rows: readonly Int32Array[]): Tensor2D;
  dispose(): void;
}

export class PretrainedEncoder implements SentenceEncoder {
  readonly dim: number;
  readonly maxLength: number;
  /**
   * The frozen lower layers' output of each token row (`cacheFrozenLayers`),
   * bfloat16 [tokens * dim], keyed by the row itself.
   */
  private frozen?: WeakMap<Int32Array, Uint16Array>;

  private constructor(
    readonly files: ModelFiles,
    readonly tokenizer: BertTokenizer,
    readonly model: BertModel,
    /** SHA-256 (16 hex digits) of the model's config, tokenizer and weights. */
    readonly id: string,
    private readonly options: Required<PretrainedEncoderOptions>,
  ) {
    this.dim = files.bert.hiddenSize;
    this.maxLength = options.maxLength === 0 ? files.maxLength : Math.min(options.maxLength, files.bert.maxPositions);
  }

  static async load(dir: string, options?: PretrainedEncoderOptions): Promise<PretrainedEncoder> {
    const resolved = resolveOptions('trellis/pretrained', DEFAULT_PRETRAINED_ENCODER_OPTIONS, options);
    const files = await inspectModelDir(dir);
    if (resolved.trainableLayers > files.bert.layers) throw new ArtifactError(`${dir}: trainableLayers ${resolved.trainableLayers} exceeds the model's ${files.bert.layers} layers.`);
    const tokenizer = await BertTokenizer.load(files.tokenizer);
    const weights = await readFile(files.weights).catch((error: NodeJS.ErrnoException) => {
      throw new ArtifactError(`${files.weights}: cannot read the weights (${error.code ?? error.message}).`);
    });
    const hash = createHash('sha256');
    hash.update(await readFile(`${dir}/config.json`));
    hash.update(await readFile(files.tokenizer.path));
    hash.update(weights);
    const model = new BertModel(files.bert, parseSafetensors(weights, files.weights), files.weights, resolved.trainableLayers);
    return new PretrainedEncoder(files, tokenizer, model, hash.digest('hex').slice(0, 16), resolved);
  }

  /** Everything that changes the vectors: model, window, pooling. */
  get cacheKey(): string {
    const { mode, normalize } = this.files.pooling;
    return `${basename(this.files.dir).replace(/[^A-Za-z0-9._-]/g, '_')}-${this.id}-L${this.maxLength}-${mode}${normalize ? '-norm' : ''}`;
  }

  tokenize(texts: readonly string[]): Int32Array[] {
    return texts.map((t) => this.tokenizer.encode(t, this.maxLength));
  }

  /** Pooled vectors of tokenised texts, row-major [rows.length * dim], in input order. */
  embedTokens(rows: readonly Int32Array[], onProgress?: (done: number, total: number) => void): Float32Array {
    const out = new Float32Array(rows.length * this.dim);
    let done = 0;
    for (const members of lengthGroups(rows.map((r) => r.length), this.options.batchTokens)) {
      const batch = this.tokenizer.pad(members.map((i) => rows[i]));
      const values = tidyRead(() => pool(this.model.forward(batch.ids, batch.mask, batch.batch, batch.length), batch.mask, this.files.pooling));
      members.forEach((row, b) => out.set(values.subarray(b * this.dim, (b + 1) * this.dim), row * this.dim));
      done += members.length;
      onProgress?.(done, rows.length);
    }
    return out;
  }

  /** The fine-tuned layers' variables (none when frozen). */
  get variables(): readonly Variable[] {
    return this.model.variables;
  }

  /** Layers below the trainable ones. */
  get frozenLayers(): number {
    return this.files.bert.layers - this.options.trainableLayers;
  }

  /** Bytes `cacheFrozenLayers` keeps for these rows. */
  frozenCacheBytes(rows: readonly Int32Array[]): number {
    return rows.reduce((s, r) => s + r.length, 0) * this.dim * 2;
  }

  /**
   * Runs the frozen lower layers once over every row and keeps their output
   * (bfloat16), so that `encodeTokens` on these rows runs only the trainable
   * top layers: a fine-tuning step then costs the top layers' forward and
   * backward pass instead of the whole transformer's. Padding is masked out
   * of attention, so a row's hidden states do not depend on its batch.
   */
  cacheFrozenLayers(rows: readonly Int32Array[], onProgress?: (done: number, total: number) => void): void {
    if (this.options.trainableLayers === 0 || this.frozenLayers === 0) return;
    const cache = (this.frozen ??= new WeakMap());
    const missing = rows.filter((r) => !cache.has(r));
    this.frozenHidden(missing, onProgress).forEach((states, i) => cache.set(missing[i], states));
  }

  /**
   * The frozen lower layers' output of each row, bfloat16 [row.length * dim],
   * computed in length-sorted batches (nothing is kept).
   */
  frozenHidden(rows: readonly Int32Array[], onProgress?: (done: number, total: number) => void): Uint16Array[] {
    const out: Uint16Array[] = new Array(rows.length);
    let done = 0;
    for (const members of lengthGroups(rows.map((r) => r.length), this.options.batchTokens)) {
      const batch = this.tokenizer.pad(members.map((i) => rows[i]));
      const hidden = tidyRead(() => this.model.hiddenBefore(this.frozenLayers, batch.ids, batch.mask, batch.batch, batch.length)); // [B*L*H]
      members.forEach((row, b) => {
        const from = b * batch.length * this.dim;
        out[row] = toBfloat16(hidden.subarray(from, from + rows[row].length * this.dim));
      });
      done += members.length;
      onProgress?.(done, rows.length);
    }
    return out;
  }

  /**
   * Pooled vectors of token rows. [rows.length, dim] (call inside tf.tidy)
   *
   * Rows are run in length-sorted groups of about `batchTokens` tokens, each
   * padded to its own longest row and in a tidy of its own, so a large call
   * (a catalogue's validation embedding) neither pads short texts to the
   * longest nor keeps every group's attention maps alive at once; the
   * gradient tape keeps what the backward pass needs.
   */
  encodeTokens(rows: readonly Int32Array[]): Tensor2D {
    const longest = rows.reduce((m, r) => Math.max(m, r.length), 0);
    if (rows.length * longest <= this.options.batchTokens) return this.encodeGroup(rows);
    const groups = lengthGroups(rows.map((r) => r.length), this.options.batchTokens);
    const parts = groups.map((group) => tf.tidy(() => this.encodeGroup(group.map((i) => rows[i]))));
    const order = groups.flat();
    const place = new Int32Array(rows.length); // row i sits at place[i] of the sorted groups
    order.forEach((row, at) => (place[row] = at));
    return tf.gather(tf.concat(parts, 0), tf.tensor1d(place, 'int32')) as Tensor2D;
  }

  /** Pooled vectors of rows padded to the longest, in one pass. [rows.length, dim] */
  private encodeGroup(rows: readonly Int32Array[]): Tensor2D {
    const batch = this.tokenizer.pad(rows);
    const cache = this.frozen;
    if (cache && rows.every((r) => cache.has(r))) {
      const x = new Float32Array(batch.batch * batch.length * this.dim); // padding stays 0: masked out of attention and pooling
      rows.forEach((r, b) => fromBfloat16(cache.get(r)!, x, b * batch.length * this.dim));
      const hidden = this.model.hiddenFrom(this.frozenLayers, tf.tensor2d(x, [batch.batch * batch.length, this.dim]), batch.mask, batch.batch, batch.length);
      return pool(hidden, batch.mask, this.files.pooling);
    }
    return pool(this.model.forward(batch.ids, batch.mask, batch.batch, batch.length), batch.mask, this.files.pooling);
  }

  /** Pooled vectors of texts, row-major [texts.length * dim]. */
  embed(texts: readonly string[], onProgress?: (done: number, total: number) => void): Float32Array {
    return this.embedTokens(this.tokenize(texts), onProgress);
  }

  dispose(): void {
    this.model.dispose();
  }
}
