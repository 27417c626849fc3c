/**
 * What a local Hugging Face model directory holds, checked before anything
 * heavy is read: the BERT architecture from config.json, the tokenizer
 * (tokenizer.json, else vocab.txt), the weights (model.safetensors) and the
 * sentence-transformers head (modules.json -> the Pooling module's
 * config.json, a Normalize module, sentence_bert_config.json's
 * max_seq_length). BERT-family models (BERT, MiniLM, bge-small, LaBSE,
 * multilingual MiniLM, e5-small) share this layout; anything else is
 * refused with one line that names what is unsupported or missing.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.ts';

export interface BertConfig {
  vocabSize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
}

export type PoolingMode = 'mean' | 'cls' | 'max' | 'mean_sqrt_len';

export interface PoolingConfig {
  mode: PoolingMode;
  /** L2-normalise the pooled vector (a sentence-transformers Normalize module). */
  normalize: boolean;
}

export interface ModelFiles {
  dir: string;
  bert: BertConfig;
  pooling: PoolingConfig;
  /** Tokens per text, [CLS] and [SEP] included: sentence_bert_config.json's max_seq_length, else the position table's size. */
  maxLength: number;
  /** tokenizer.json, or vocab.txt when there is none. */
  tokenizer: { kind: 'tokenizer.json' | 'vocab.txt'; path: string; config?: string };
  weights: string;
}

const HINT = 'Point --encoder (or encoder.model) at a Hugging Face BERT-family model directory: config.json, model.safetensors, tokenizer.json or vocab.txt.';

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ArtifactError(`${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, HINT);
  }
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new ArtifactError(`${path}: not a JSON object.`, HINT);
}

function positiveInt(config: Record<string, unknown>, key: string, path: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ArtifactError(`${path}: ${key} must be a positive integer (got ${JSON.stringify(config[key])}).`, HINT);
  return value;
}

/** The BERT hyper-parameters of a config.json, or an error naming what is unsupported. */
export function bertConfig(config: Record<string, unknown>, path: string): BertConfig {
  const type = config.model_type;
  if (type !== 'bert') {
    const arch = Array.isArray(config.architectures) ? ` (${config.architectures.join(', ')})` : '';
    throw new ArtifactError(`${path}: model_type ${JSON.stringify(type)}${arch} is not supported; trellis runs BERT-family encoders (model_type "bert": BERT, MiniLM, bge-small, LaBSE).`, 'Pick a BERT-architecture sentence encoder, e.g. sentence-transformers/all-MiniLM-L6-v2.');
  }
  const act = config.hidden_act ?? 'gelu';
  if (act !== 'gelu') throw new ArtifactError(`${path}: hidden_act ${JSON.stringify(act)} is not supported; trellis implements BERT's exact "gelu".`, HINT);
  const position = config.position_embedding_type ?? 'absolute';
  if (position !== 'absolute') throw new ArtifactError(`${path}: position_embedding_type ${JSON.stringify(position)} is not supported; trellis implements "absolute".`, HINT);
  const bert: BertConfig = {
    vocabSize: positiveInt(config, 'vocab_size', path),
    hiddenSize: positiveInt(config, 'hidden_size', path),
    layers: positiveInt(config, 'num_hidden_layers', path),
    heads: positiveInt(config, 'num_attention_heads', path),
    intermediateSize: positiveInt(config, 'intermediate_size', path),
    maxPositions: positiveInt(config, 'max_position_embeddings', path, 512),
    typeVocabSize: positiveInt(config, 'type_vocab_size', path, 2),
    layerNormEps: typeof config.layer_norm_eps === 'number' ? config.layer_norm_eps : 1e-12,
  };
  if (bert.hiddenSize % bert.heads !== 0) throw new ArtifactError(`${path}: hidden_size ${bert.hiddenSize} is not a multiple of num_attention_heads ${bert.heads}.`, HINT);
  return bert;
}

/** The sentence-transformers pooling of a model directory; mean pooling without normalisation when it has none. */
async function poolingConfig(dir: string): Promise<PoolingConfig> {
  const modulesPath = join(dir, 'modules.json');
  if (!(await exists(modulesPath))) return { mode: 'mean', normalize: false };
  let modules: unknown;
  try {
    modules = JSON.parse(await readFile(modulesPath, 'utf8'));
  } catch {
    throw new ArtifactError(`${modulesPath}: not valid JSON.`, HINT);
  }
  if (!Array.isArray(modules)) throw new ArtifactError(`${modulesPath}: must be a JSON array of modules.`, HINT);
  const typeOf = (m: unknown): string => String((m as { type?: unknown })?.type ?? '');
  const normalize = modules.some((m) => typeOf(m).endsWith('.Normalize'));
  const pooling = modules.find((m) => typeOf(m).endsWith('.Pooling')) as { path?: string } | undefined;
  if (!pooling) return { mode: 'mean', normalize };
  const path = join(dir, pooling.path ?? '', 'config.json');
  const config = await readJson(path);
  const modes: [string, PoolingMode][] = [['pooling_mode_mean_tokens', 'mean'], ['pooling_mode_cls_token', 'cls'], ['pooling_mode_max_tokens', 'max'], ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len']];
  const on = modes.filter(([key]) => config[key] === true).map(([, mode]) => mode);
  const other = Object.keys(config).filter((k) => k.startsWith('pooling_mode_') && config[k] === true && !modes.some(([m]) => m === k));
  if (on.length !== 1 || other.length) {
    throw new ArtifactError(`${path}: trellis supports exactly one of mean, cls, max or mean_sqrt_len pooling (got ${[...on, ...other].join(', ') || 'none'}).`, 'Set one pooling_mode_* to true.');
  }
  return { mode: on[0], normalize };
}

/** Checks a model directory and reads its small files. */
export async function inspectModelDir(dir: string): Promise<ModelFiles> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error();
  } catch {
    throw new ArtifactError(`${dir}: no such model directory.`, `${HINT} For all-MiniLM-L6-v2: bash scripts/fetch-pretrained.sh.`);
  }
  const configPath = join(dir, 'config.json');
  if (!(await exists(configPath))) throw new ArtifactError(`${dir}: config.json is missing.`, HINT);
  const bert = bertConfig(await readJson(configPath), configPath);
  const weights = join(dir, 'model.safetensors');
  if (!(await exists(weights))) {
    const formats = ['pytorch_model.bin', 'tf_model.h5', 'model.onnx'];
    const present = (await Promise.all(formats.map((f) => exists(join(dir, f))))).map((found, i) => (found ? formats[i] : '')).filter(Boolean);
    throw new ArtifactError(`${dir}: model.safetensors is missing${present.length ? ` (trellis reads safetensors weights, not ${present.join(', ')})` : ''}.`, 'Save the model with safe_serialization=True, or download its model.safetensors.');
  }
  const tokenizerJson = join(dir, 'tokenizer.json');
  const vocab = join(dir, 'vocab.txt');
  const tokenizerConfig = join(dir, 'tokenizer_config.json');
  const config = (await exists(tokenizerConfig)) ? tokenizerConfig : undefined;
  let tokenizer: ModelFiles['tokenizer'];
  if (await exists(tokenizerJson)) tokenizer = { kind: 'tokenizer.json', path: tokenizerJson, config };
  else if (await exists(vocab)) tokenizer = { kind: 'vocab.txt', path: vocab, config };
  else throw new ArtifactError(`${dir}: no tokenizer: tokenizer.json and vocab.txt are both missing.`, HINT);
  const sbert = join(dir, 'sentence_bert_config.json');
  const declared = (await exists(sbert)) ? (await readJson(sbert)).max_seq_length : undefined;
  const maxLength = Math.min(bert.maxPositions, typeof declared === 'number' && declared > 2 ? declared : bert.maxPositions);
  return { dir, bert, pooling: await poolingConfig(dir), maxLength, tokenizer, weights };
}
