/**
 * WordPiece tokenisation for BERT-family models through
 * @huggingface/tokenizers, from the model's tokenizer.json; a directory with
 * only vocab.txt gets the standard BERT pipeline (BertNormalizer with
 * lowercasing as tokenizer_config.json says, BertPreTokenizer, WordPiece
 * with "##" continuations, [CLS] A [SEP]) built around its vocabulary.
 *
 * Texts longer than the model's window are cut to `maxLength` tokens
 * ([CLS] + the first maxLength - 2 pieces + [SEP]), as transformers'
 * truncation does for one sequence. Very long texts (package descriptions of
 * several kB) are tokenised from a prefix first, and in full only when the
 * prefix gives too few pieces, so the result is always the exact truncation.
 */
import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import { ArtifactError } from '../errors.ts';
import type { ModelFiles } from './config.ts';

/** Characters of a text tokenised first; a WordPiece token of a BERT vocabulary averages 3-5 characters. */
const PREFIX_CHARS_PER_TOKEN = 12;

export interface TokenizedBatch {
  /** Token ids, row-major, padded with `padId`. [batch * length] */
  ids: Int32Array;
  /** 1 on tokens, 0 on padding. [batch * length] */
  mask: Float32Array;
  batch: number;
  length: number;
}

function special(tokenizer: Tokenizer, names: string[], what: string, path: string): number {
  for (const name of names) {
    const id = tokenizer.token_to_id(name);
    if (id !== undefined) return id;
  }
  throw new ArtifactError(`${path}: the vocabulary has no ${what} token (looked for ${names.join(', ')}).`, 'BERT-family tokenizers need [CLS], [SEP] and [PAD].');
}

/** tokenizer.json's content for a bare vocab.txt. */
function bertTokenizerJson(vocabText: string, lowercase: boolean): Record<string, unknown> {
  const words = vocabText.split(/\r?\n/);
  if (words[words.length - 1] === '') words.pop();
  const vocab: Record<string, number> = {};
  words.forEach((w, i) => {
    if (!(w in vocab)) vocab[w] = i;
  });
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => t in vocab);
  const token = (t: string) => ({ id: t, ids: [vocab[t]], tokens: [t] });
  return {
    version: '1.0',
    added_tokens: specials.map((t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].filter((t) => t in vocab).map((t) => [t, token(t)])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  };
}

export class BertTokenizer {
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;

  private constructor(private readonly tokenizer: Tokenizer, path: string) {
    this.clsId = special(tokenizer, ['[CLS]'], 'classification', path);
    this.sepId = special(tokenizer, ['[SEP]'], 'separator', path);
    this.padId = special(tokenizer, ['[PAD]'], 'padding', path);
  }

  static async load(files: ModelFiles['tokenizer']): Promise<BertTokenizer> {
    const config = files.config ? JSON.parse(await readFile(files.config, 'utf8')) : {};
    const text = await readFile(files.path, 'utf8');
    let json: Record<string, unknown>;
    if (files.kind === 'tokenizer.json') {
      try {
        json = JSON.parse(text);
      } catch {
        throw new ArtifactError(`${files.path}: not valid JSON.`, 'Re-download the model\'s tokenizer.json, or delete it to fall back to vocab.txt.');
      }
      const model = (json.model ?? {}) as { type?: string };
      if (model.type !== 'WordPiece') throw new ArtifactError(`${files.path}: tokenizer model ${JSON.stringify(model.type)} is not supported; BERT-family models use WordPiece.`, 'Use a BERT-family model.');
    } else {
      json = bertTokenizerJson(text, config.do_lower_case !== false);
    }
    return new BertTokenizer(new Tokenizer(json, config), files.path);
  }

  /** Token ids of one text: [CLS] pieces [SEP], at most `maxLength` of them. */
  encode(text: string, maxLength: number): Int32Array {
    const keep = maxLength - 2;
    let pieces = this.pieces(text.length > keep * PREFIX_CHARS_PER_TOKEN ? text.slice(0, prefixEnd(text, keep * PREFIX_CHARS_PER_TOKEN)) : text);
    // The prefix was cut at a space, so its first `keep` pieces are the text's own, unless there are fewer.
    if (pieces.length < keep && text.length > keep * PREFIX_CHARS_PER_TOKEN) pieces = this.pieces(text);
    const n = Math.min(keep, pieces.length);
    const out = new Int32Array(n + 2);
    out[0] = this.clsId;
    for (let i = 0; i < n; i++) out[i + 1] = pieces[i];
    out[n + 1] = this.sepId;
    return out;
  }

  private pieces(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Token ids of several texts, padded to the longest. */
  batch(texts: readonly string[], maxLength: number): TokenizedBatch {
    const rows = texts.map((t) => this.encode(t, maxLength));
    return this.pad(rows);
  }

  pad(rows: readonly Int32Array[]): TokenizedBatch {
    const length = rows.reduce((m, r) => Math.max(m, r.length), 0);
    const ids = new Int32Array(rows.length * length).fill(this.padId);
    const mask = new Float32Array(rows.length * length);
    rows.forEach((r, b) => {
      ids.set(r, b * length);
      mask.fill(1, b * length, b * length + r.length);
    });
    return { ids, mask, batch: rows.length, length };
  }
}

/** The end of a prefix of at least `chars` characters that stops at white space (or the whole text). */
function prefixEnd(text: string, chars: number): number {
  const space = text.slice(chars).search(/\s/);
  return space < 0 ? text.length : chars + space;
}
