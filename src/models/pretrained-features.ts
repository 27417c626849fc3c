/**
 * Feature extraction for the towers: every topic and content text embedded
 * once by the pretrained encoder, through the on-disk cache (only texts it
 * has not seen are encoded, on worker threads, in blocks that are appended
 * to the cache as they finish, so an interrupted run resumes where it
 * stopped).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EmbeddingCache, textKey } from '../pretrained/cache.ts';
import { PretrainedEncoder } from '../pretrained/encoder.ts';
import { embedTexts } from '../pretrained/parallel.ts';
import { isModelId, resolvePretrained, type PretrainedSource } from '../pretrained/hub.ts';
export { checkPretrainedId, locatePretrained } from '../pretrained/hub.ts';
import { contentText, topicText } from '../text/documents.ts';
import type { EncoderConfig } from './config.ts';
import type { ContentInputs, PretrainedVectors, TowerData } from './tower-data.ts';
import type { Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';

/** Texts encoded between two cache appends. */
const BLOCK = 4096;

/** Which pretrained encoder made a model's vectors (stored with the model). */
export interface PretrainedInfo extends PretrainedSource {
  cacheKey: string;
  dim: number;
  maxLength: number;
}

export interface PretrainedFeatureOptions {
  log?: (line: string) => void;
  /** Texts encoded so far out of those not cached. */
  onProgress?: (done: number, total: number) => void;
}

export interface PretrainedFeatures {
  info: PretrainedInfo;
  vectors: PretrainedVectors;
  /** Texts found in the cache and texts encoded now (distinct texts). */
  cached: number;
  encoded: number;
  seconds: number;
}

/** The hub id and revision encoder.model names, when it names one rather than a folder. */
function hubSource(config: EncoderConfig): Pick<PretrainedInfo, 'source' | 'revision'> {
  if (existsSync(config.model) || !isModelId(config.model)) return {};
  return { source: config.model, ...(config.revision ? { revision: config.revision } : {}) };
}

/** Sentence vectors of every topic and content text of `dataset`. */
export async function pretrainedFeatures(dataset: Dataset, forest: TopicForest, config: EncoderConfig, options: PretrainedFeatureOptions = {}): Promise<PretrainedFeatures> {
  const t0 = performance.now();
  const dir = await resolvePretrained(config.model, { revision: config.revision, log: options.log });
  const probe = await PretrainedEncoder.load(dir, { maxLength: config.maxLength });
  const info: PretrainedInfo = { dir, ...hubSource(config), id: probe.id, cacheKey: probe.cacheKey, dim: probe.dim, maxLength: probe.maxLength };
  probe.dispose();
  const topicTexts = dataset.topics.map((_, t) => topicText(dataset, forest, t));
  const contentTexts = dataset.content.map((c) => contentText(c));
  const topicKeys = topicTexts.map(textKey);
  const contentKeys = contentTexts.map(textKey);
  const cache = await EmbeddingCache.open(resolve(config.cacheDir), info.cacheKey, info.dim);
  const missing = new Map<string, string>();
  topicKeys.forEach((k, i) => cache.has(k) || missing.set(k, topicTexts[i]));
  contentKeys.forEach((k, i) => cache.has(k) || missing.set(k, contentTexts[i]));
  const distinct = new Set([...topicKeys, ...contentKeys]).size;
  options.log?.(`pretrained encoder ${info.cacheKey}: ${distinct - missing.size} of ${distinct} distinct texts cached in ${cache.dir}${missing.size ? `, encoding ${missing.size}` : ''}`);
  const pending = [...missing];
  for (let start = 0; start < pending.length; start += BLOCK) {
    const block = pending.slice(start, start + BLOCK);
    const { vectors } = await embedTexts(dir, block.map(([, text]) => text), {
      encoder: { maxLength: config.maxLength },
      workers: config.workers,
      onProgress: (done) => options.onProgress?.(start + done, pending.length),
    });
    await cache.append(block.map(([key]) => key), vectors);
  }
  return {
    info,
    vectors: { dim: info.dim, topics: await cache.read(topicKeys), content: await cache.read(contentKeys) },
    cached: distinct - missing.size,
    encoded: missing.size,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * For fine-tuning (encoder.fineTuneLayers > 0): the encoder with its top
 * layers trainable, and the token ids of every topic and content text (no
 * cached vectors: they change as the layers train).
 */
export async function fineTuneInputs(dataset: Dataset, forest: TopicForest, config: EncoderConfig, options: PretrainedFeatureOptions = {}): Promise<{ sentence: PretrainedEncoder; info: PretrainedInfo; vectors: PretrainedVectors }> {
  const dir = await resolvePretrained(config.model, { revision: config.revision, log: options.log });
  const sentence = await PretrainedEncoder.load(dir, { maxLength: config.maxLength, trainableLayers: config.fineTuneLayers });
  const info: PretrainedInfo = { dir, ...hubSource(config), id: sentence.id, cacheKey: sentence.cacheKey, dim: sentence.dim, maxLength: sentence.maxLength };
  const tokens = {
    topics: sentence.tokenize(dataset.topics.map((_, t) => topicText(dataset, forest, t))),
    content: sentence.tokenize(dataset.content.map((c) => contentText(c))),
  };
  if (config.fineTuneLayers > 0 && sentence.frozenLayers > 0) {
    const rows = [...tokens.topics, ...tokens.content];
    const mib = sentence.frozenCacheBytes(rows) / 2 ** 20;
    if (mib <= config.fineTuneCacheMiB) {
      const t0 = performance.now();
      sentence.cacheFrozenLayers(rows, options.onProgress);
      options.log?.(`the ${sentence.frozenLayers} frozen layers run once over ${rows.length} texts in ${((performance.now() - t0) / 1000).toFixed(1)} s; their hidden states take ${mib.toFixed(0)} MiB`);
    } else {
      options.log?.(`the frozen layers' hidden states would take ${mib.toFixed(0)} MiB, over encoder.fineTuneCacheMiB ${config.fineTuneCacheMiB}: every step runs the whole transformer`);
    }
  }
  return { sentence, info, vectors: { dim: sentence.dim, topics: new Float32Array(0), content: new Float32Array(0), tokens } };
}

/** Gives the towers the pretrained vectors; without `bag` they read nothing else. */
export function attachPretrained(data: ContentInputs & Partial<Pick<TowerData, 'topicFeatures'>>, vectors: PretrainedVectors, bag: boolean): void {
  data.pretrained = vectors;
  if (bag) return;
  const empty = (rows: number) => ({ rows, indptr: new Uint32Array(rows + 1), indices: new Uint32Array(0), values: new Float32Array(0) });
  if (data.topicFeatures) data.topicFeatures = empty(data.topicFeatures.rows);
  data.contentFeatures = empty(data.contentFeatures.rows);
}
