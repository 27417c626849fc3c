/**
 * The model folder (`--model DIR`): the one module that builds paths in it,
 * writes its files and checks them when they are read. Its layout:
 *
 *   model.json            ModelMeta: format, model id, seed, run config, model
 *                         shape, content kind and language vocabularies, the
 *                         catalogue it was trained on (content count and an id
 *                         checksum), held-out topics, the training summary,
 *                         the pretrained encoder; schema-checked on every read
 *   weights.bin/.json     the two-tower weights (runtime/weights.ts)
 *   checkpoint/           while training: weights.*, optimizer.*, best.* and
 *                         state.json (written last: a checkpoint counts once it
 *                         exists); removed when training ends
 *   index/                the content index (ann/: manifest.json, partitions)
 *   index-<n>/            the index after the n-th `trellis update` (catalogue.json names the current one)
 *   catalogue.json        what the index holds, label by label, and what training saw
 *                         (pipeline/catalogue.ts); writing it commits an update
 *   lexical.bin/.json     the TF-IDF weights fitted at training, so that a grown
 *                         catalogue gets the features the towers were trained on
 *   fusion.json           the learned fusion (retrieval/fusion.ts)
 *   reranker/             the cross-encoder ensemble (rerank/ensemble.ts:
 *                         model.json, weights.bin, member-<i>/)
 *   reranker/decision-rule.json  the F2 decision rule, the content
 *                         competition exponent, the side features' names
 *   reranker/stacker.json the boosted trees over the cross-encoder (rerank.stack)
 *   recommendations.csv   what `trellis demo` recommends for its held-out topics
 *
 * A missing, corrupt or foreign file is an ArtifactError of one line that
 * names the file and what to do. `openModel` reads the small files once
 * (model.json, fusion.json, whether a reranker exists); the heavy parts
 * (weights, index, reranker) load on demand from the opened folder.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { loadWeights, saveWeights } from '../runtime/weights.ts';
import { PartitionedIndex } from '../ann/partitioned.ts';
import { TwoTowerModel, type TwoTowerShape } from '../models/two-tower.ts';
import { expectedShapes, restore, snapshot, type Checkpoint, type CheckpointState, type CheckpointStore, type EpochReport } from '../models/train.ts';
import { checkPretrainedId, locatePretrained, type PretrainedInfo } from '../models/pretrained-features.ts';
import { PretrainedEncoder } from '../pretrained/encoder.ts';
import { fusionJson, parseFusion, type FusionModel } from '../retrieval/fusion.ts';
import { RerankerEnsemble } from '../rerank/ensemble.ts';
import { parseDecisionRule, type DecisionRule } from '../rerank/threshold.ts';
import { parseCutoff, type ExpectedF2Cutoff } from '../rerank/cutoff.ts';
import { Stacker, stackFeatureNames, type StackerJSON } from '../rerank/stacker.ts';
import type { RunConfig } from '../config.ts';
import { CATALOGUE_FORMAT, CATALOGUE_VERSION, type Catalogue } from './catalogue.ts';
import { DEFAULT_TFIDF_OPTIONS, type TfidfModel } from '../text/tfidf.ts';
import type { Dataset } from '../data/types.ts';

export const MODEL_FORMAT = 'trellis-two-tower/1';

/** The files and folders of a model folder, relative to it. */
export const MODEL_LAYOUT = Object.freeze({
  meta: 'model.json',
  weights: 'weights',
  checkpoint: 'checkpoint',
  index: 'index',
  fusion: 'fusion.json',
  reranker: 'reranker',
  rule: 'decision-rule.json',
  stacker: 'stacker.json',
  recommendations: 'recommendations.csv',
  catalogue: 'catalogue.json',
  lexical: 'lexical',
});

export interface ModelMeta {
  format: typeof MODEL_FORMAT;
  modelId: string;
  seed: number;
  config: RunConfig;
  shape: TwoTowerShape;
  kinds: string[];
  languages: string[];
  dataset: { content: number; contentChecksum: string; topics: number };
  /** Topic ids held out of training (their links were hidden), or empty. */
  heldOut: string[];
  /** How the held-out topics were chosen, when any. */
  split?: { fraction: number; by: string };
  training: {
    history: EpochReport[];
    bestEpoch: number;
    bestRecall: number;
    initialRecall: number;
    examplesPerSecond: number;
    seconds: number;
    backend: string;
  };
  /** The pretrained encoder whose vectors the towers read (encoder kind 'pretrained'). */
  pretrained?: PretrainedInfo;
  createdAt: string;
}

/** A trained model's folder with its small files read and checked. */
export interface ModelFolder {
  dir: string;
  meta: ModelMeta;
  /** The fitted fusion when the model's config asks for the learned one. */
  fusion?: FusionModel;
  /** Whether the folder holds a trained reranker and its decision rule. */
  hasReranker: boolean;
  /** What the content index holds; absent for models saved before catalogues could grow (they serve their training catalogue only). */
  catalogue?: Catalogue;
}

const RETRAIN = "Retrain with 'trellis train'.";

function trainHint(dir: string): string {
  return `Train one with 'trellis train --data DIR --model ${dir}'.`;
}

/** Reads a JSON file of the folder, or an ArtifactError naming it. */
async function readJson(path: string, what: string, hint: string): Promise<unknown> {
  if (!existsSync(path)) throw new ArtifactError(`${path}: missing; ${what}.`, hint);
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new ArtifactError(`${path}: not valid JSON (corrupt file).`, hint);
  }
}

async function writeJson(path: string, value: unknown, indent?: number): Promise<void> {
  await writeFileAtomic(path, async (sink) => sink.write(JSON.stringify(value, null, indent)));
}

// --- model.json -------------------------------------------------------------

/** sha256 of the content ids in order: the index labels are content rows, so the order must match. */
export function contentChecksum(dataset: Dataset): string {
  const hash = createHash('sha256');
  for (const c of dataset.content) hash.update(c.id).update('\n');
  return hash.digest('hex');
}

/** A short id for a trained model: its config, seed, data and a time stamp. */
export function makeModelId(config: RunConfig, seed: number, dataset: Dataset, stamp: string): string {
  const hash = createHash('sha256').update(JSON.stringify({ config, seed, content: contentChecksum(dataset), stamp })).digest('hex');
  return `tt-${hash.slice(0, 12)}`;
}

/**
 * Checks the shape of a parsed model.json: every field the code reads, with
 * its type. Sections of the run config may lack keys added after the model
 * was saved (their readers default them), so only their presence is checked.
 */
export function checkModelMeta(value: unknown, path: string, hint: string): ModelMeta {
  const bad = (what: string): never => {
    throw new ArtifactError(`${path}: ${what}.`, hint);
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  if (!isObject(value)) return bad('must hold a JSON object');
  const m = value;
  if (m.format !== MODEL_FORMAT) bad(`format must be ${MODEL_FORMAT} (got ${JSON.stringify(m.format)})`);
  if (typeof m.modelId !== 'string' || m.modelId === '') bad(`modelId must be a non-empty string (got ${JSON.stringify(m.modelId)})`);
  if (!isInt(m.seed)) bad(`seed must be a non-negative integer (got ${JSON.stringify(m.seed)})`);
  if (!isObject(m.config)) bad('config must be an object');
  for (const section of ['lexical', 'encoder', 'graphsage', 'training', 'index', 'retrieval', 'rerank']) {
    if (!isObject((m.config as Record<string, unknown>)[section])) bad(`config.${section} must be an object`);
  }
  const shape = m.shape as Record<string, unknown>;
  if (!isObject(shape) || !isObject(shape.encoder) || !['off', 'mean', 'pool', 'hetero-mean', 'hetero-attention'].includes(shape.graphsage as string) || !isInt(shape.layers) || !isInt(shape.kinds) || !isInt(shape.languages)) {
    bad('shape must give the encoder, graphsage, layers, kinds and languages');
  } else if (String(shape.graphsage).startsWith('hetero-') && !(isInt(shape.contentFanout) && (shape.contentFanout as number) > 0)) {
    bad(`shape.contentFanout must be a positive integer with graphsage '${shape.graphsage}' (got ${JSON.stringify(shape.contentFanout)})`);
  }
  for (const key of ['vocab', 'dim', 'hidden', 'maxFeatures']) if (!isInt((shape.encoder as Record<string, unknown>)[key])) bad(`shape.encoder.${key} must be a non-negative integer`);
  if (!strings(m.kinds) || !strings(m.languages)) bad('kinds and languages must be lists of strings');
  const dataset = m.dataset as Record<string, unknown>;
  if (!isObject(dataset) || !isInt(dataset.content) || typeof dataset.contentChecksum !== 'string' || !isInt(dataset.topics)) bad('dataset must give content, contentChecksum and topics');
  if (!strings(m.heldOut)) bad('heldOut must be a list of topic ids');
  const training = m.training as Record<string, unknown>;
  if (!isObject(training) || !Array.isArray(training.history) || typeof training.backend !== 'string') bad('training must give the history and the backend');
  if (m.pretrained !== undefined) {
    const p = m.pretrained as Record<string, unknown>;
    if (!isObject(p) || typeof p.dir !== 'string' || typeof p.id !== 'string' || !isInt(p.dim) || !isInt(p.maxLength)) bad('pretrained must give the encoder dir, id, dim and maxLength');
  }
  return m as unknown as ModelMeta;
}

/** Reads and checks `<dir>/model.json`. */
export async function readModelMeta(dir: string): Promise<ModelMeta> {
  const path = join(dir, MODEL_LAYOUT.meta);
  if (!existsSync(path)) throw new ArtifactError(`${dir}: no trained model here (model.json is missing).`, trainHint(dir));
  return checkModelMeta(await readJson(path, 'the model description', trainHint(dir)), path, trainHint(dir));
}

/** Reads the folder's small files: model.json, fusion.json (learned fusion) and whether a reranker exists. */
export async function openModel(dir: string): Promise<ModelFolder> {
  const meta = await readModelMeta(dir);
  // Models saved before retrieval.fusion existed have no such key: reciprocal rank fusion.
  const fusion = meta.config.retrieval.fusion === 'learned' ? await loadFusion(dir) : undefined;
  const catalogue = existsSync(join(dir, MODEL_LAYOUT.catalogue)) ? await readCatalogue(dir) : undefined;
  return { dir, meta, fusion, hasReranker: existsSync(join(dir, MODEL_LAYOUT.reranker, MODEL_LAYOUT.rule)), catalogue };
}

/** Writes the two-tower weights and then model.json (the file that makes the folder a model). */
export async function saveModel(dir: string, model: TwoTowerModel, meta: ModelMeta): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveWeights(dir, MODEL_LAYOUT.weights, snapshot(model));
  await writeJson(join(dir, MODEL_LAYOUT.meta), meta, 1);
}

/**
 * The two-tower model of a folder; `dataset` (when given) must be the
 * catalogue it was trained on. `pretrainedDir` is where the model's
 * pretrained encoder is now (`locatePretrained`), when it was found already.
 */
export async function loadTwoTower(folder: ModelFolder, dataset?: Dataset, pretrainedDir?: string): Promise<TwoTowerModel> {
  const { dir, meta } = folder;
  if (dataset) checkDataset(dir, meta, dataset);
  let sentence: PretrainedEncoder | undefined;
  if (meta.shape.fineTuneLayers && meta.pretrained) {
    // The frozen layers come from the pretrained directory; the fine-tuned ones from the weights below.
    sentence = await PretrainedEncoder.load(pretrainedDir ?? (await locatePretrained(dir, meta.pretrained)), { maxLength: meta.pretrained.maxLength, trainableLayers: meta.shape.fineTuneLayers });
    try {
      checkPretrainedId(dir, meta.pretrained, sentence.id);
    } catch (error) {
      sentence.dispose();
      throw error;
    }
  }
  const model = new TwoTowerModel(meta.shape, meta.seed, sentence);
  try {
    restore(model, await loadWeights(dir, MODEL_LAYOUT.weights, expectedShapes(model), { hint: RETRAIN }));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** Opens the folder and loads its two-tower model (see `loadTwoTower`). */
export async function loadModel(dir: string, dataset?: Dataset): Promise<{ model: TwoTowerModel; meta: ModelMeta }> {
  const folder = await openModel(dir);
  return { model: await loadTwoTower(folder, dataset), meta: folder.meta };
}

export function checkDataset(dir: string, meta: ModelMeta, dataset: Dataset): void {
  if (meta.dataset.content !== dataset.content.length || meta.dataset.contentChecksum !== contentChecksum(dataset)) {
    throw new ArtifactError(
      `${dir}: the model was trained on a catalogue of ${meta.dataset.content} content items that differs from ${dataset.dir || 'the given data'} (${dataset.content.length} items, or other ids).`,
      "Pass the --data the model was trained on, or retrain with 'trellis train'.",
    );
  }
}

// --- checkpoint/ --------------------------------------------------------------

/** The checkpoints of a run that trains into `dir` (see models/train.ts). */
export function checkpointStore(dir: string): CheckpointStore {
  const at = join(dir, MODEL_LAYOUT.checkpoint);
  const hint = `Delete ${at} to train from the start.`;
  return {
    async load(expect) {
      const statePath = join(at, 'state.json');
      if (!existsSync(statePath)) return undefined;
      const state = (await readJson(statePath, 'the checkpoint state', hint)) as CheckpointState;
      if (typeof state !== 'object' || state === null || typeof state.fingerprint !== 'string' || !Number.isInteger(state.epoch)) {
        throw new ArtifactError(`${statePath}: must hold a checkpoint state with a fingerprint and an epoch (corrupt file).`, hint);
      }
      const options = { hint };
      const checkpoint: Checkpoint = {
        state,
        weights: await loadWeights(at, 'weights', expect.weights, options),
        optimizer: await loadWeights(at, 'optimizer', undefined, options),
      };
      if (existsSync(join(at, 'best.json'))) checkpoint.best = await loadWeights(at, 'best', expect.best, options);
      return checkpoint;
    },
    async save(checkpoint) {
      await mkdir(at, { recursive: true });
      await saveWeights(at, 'weights', checkpoint.weights);
      await saveWeights(at, 'optimizer', checkpoint.optimizer);
      if (checkpoint.best) await saveWeights(at, 'best', checkpoint.best);
      // The state file goes last: a checkpoint counts only once it is written.
      await writeJson(join(at, 'state.json'), checkpoint.state);
    },
  };
}

/** Removes a finished run's checkpoint: the finished model supersedes it. */
export async function clearCheckpoint(dir: string): Promise<void> {
  await rm(join(dir, MODEL_LAYOUT.checkpoint), { recursive: true, force: true });
}

// --- index/ -------------------------------------------------------------------

export function saveIndex(dir: string, index: PartitionedIndex, info: { modelId: string; seed: number; meta?: Record<string, unknown> }): void {
  index.save(join(dir, MODEL_LAYOUT.index), info);
}

/** The content index of a model (the folder its catalogue names), checked against its dimension and model id. */
export function loadContentIndex(folder: ModelFolder, options?: { efSearch?: number }): PartitionedIndex {
  const { dir, meta } = folder;
  return PartitionedIndex.load(join(dir, folder.catalogue?.index ?? MODEL_LAYOUT.index), { dimension: meta.shape.encoder.dim, modelId: meta.modelId }, options);
}

/**
 * Saves an updated content index as the next generation: the index in
 * `index-<n>/` (shards that did not change are linked from the current one,
 * not rewritten), then catalogue.json naming it, written atomically: that
 * rename is the commit. A crash before it leaves the current index and
 * catalogue whole; after it, the previous index folder is removed (a folder
 * left over by a crash is removed by the next update). `beforeCommit` runs
 * between the two (for tests of an interrupted update).
 */
export async function saveIndexGeneration(folder: ModelFolder, index: PartitionedIndex, next: Catalogue, options: { beforeCommit?: () => void | Promise<void> } = {}): Promise<Catalogue> {
  const { dir, meta } = folder;
  const generation = (folder.catalogue?.generation ?? 0) + 1;
  const name = `${MODEL_LAYOUT.index}-${generation}`;
  await rm(join(dir, name), { recursive: true, force: true });
  index.save(join(dir, name), { modelId: meta.modelId, seed: meta.seed, meta: { content: next.ids.length - next.removed.length, generation } });
  const committed: Catalogue = { ...next, index: name, generation };
  await options.beforeCommit?.();
  await writeJson(join(dir, MODEL_LAYOUT.catalogue), committed);
  // Every index folder but the committed one is stale now.
  for (const entry of await readdir(dir)) {
    if (entry !== name && (entry === MODEL_LAYOUT.index || /^index-\d+$/.test(entry))) await rm(join(dir, entry), { recursive: true, force: true });
  }
  return committed;
}

// --- catalogue.json, lexical.* -------------------------------------------------

export async function saveCatalogue(dir: string, catalogue: Catalogue): Promise<void> {
  await writeJson(join(dir, MODEL_LAYOUT.catalogue), catalogue);
}

/** The catalogue of a model folder, or an ArtifactError when it is corrupt or foreign. */
export async function readCatalogue(dir: string): Promise<Catalogue> {
  const path = join(dir, MODEL_LAYOUT.catalogue);
  const value = (await readJson(path, 'what the content index holds', RETRAIN)) as Partial<Catalogue>;
  const lists = ['ids', 'kinds', 'languages', 'fingerprints'] as const;
  const ok = typeof value === 'object' && value !== null && value.format === CATALOGUE_FORMAT && value.version === CATALOGUE_VERSION &&
    typeof value.index === 'string' && /^index(-\d+)?$/.test(value.index) && Number.isInteger(value.generation) &&
    lists.every((key) => Array.isArray(value[key]) && value[key]!.length === value.ids!.length) && Array.isArray(value.removed) &&
    typeof value.trained === 'object' && value.trained !== null && Array.isArray(value.trained.topics);
  if (!ok) throw new ArtifactError(`${path}: must be a ${CATALOGUE_FORMAT} version ${CATALOGUE_VERSION} file with ids, kinds, languages and fingerprints per index label (corrupt file).`, RETRAIN);
  return value as Catalogue;
}

/** Saves the fitted TF-IDF weights (the IDF per bucket and the documents they were fitted on). */
export async function saveLexical(dir: string, model: TfidfModel): Promise<void> {
  await saveWeights(dir, MODEL_LAYOUT.lexical, [
    { name: 'idf', shape: [model.idf.length], values: model.idf },
    { name: 'documents', shape: [1], values: Float32Array.of(model.documents) },
  ]);
}

/** The TF-IDF model fitted at training, or undefined for models saved before it was kept (they refit on the data). */
export async function loadLexical(folder: ModelFolder): Promise<TfidfModel | undefined> {
  if (!existsSync(join(folder.dir, `${MODEL_LAYOUT.lexical}.json`))) return undefined;
  const options = folder.meta.config.lexical;
  const [idf, documents] = await loadWeights(folder.dir, MODEL_LAYOUT.lexical, [{ name: 'idf', shape: [options.buckets] }, { name: 'documents', shape: [1] }], { hint: RETRAIN });
  return { options: { ...DEFAULT_TFIDF_OPTIONS, ...options }, idf: idf.values, documents: documents.values[0] };
}

// --- fusion.json --------------------------------------------------------------

export async function saveFusion(dir: string, fusion: FusionModel, info: Record<string, unknown> = {}): Promise<void> {
  await writeJson(join(dir, MODEL_LAYOUT.fusion), fusionJson(fusion, info));
}

/** The fusion saved with a model, or an ArtifactError when it is missing, from other features or malformed. */
export async function loadFusion(dir: string): Promise<FusionModel> {
  const path = join(dir, MODEL_LAYOUT.fusion);
  return parseFusion(await readJson(path, "the model's config asks for learned fusion (retrieval.fusion 'learned')", RETRAIN), path, RETRAIN);
}

// --- reranker/ ----------------------------------------------------------------

/** What the reranker folder holds besides the cross-encoders. */
export interface StoredRule {
  rule: DecisionRule;
  /** Content-side competition exponent the rule was tuned with (0 = off). */
  compete: number;
  tuneF2: number;
  /** The per-topic cut-off tuned on the same topics (absent in models saved before it existed), and its F2 there. */
  cutoff?: ExpectedF2Cutoff;
  cutoffF2?: number;
  /** With a learned count: the cut-off tuned without one and its F2 there (kept for comparison, never applied). */
  withoutCount?: { cutoff: ExpectedF2Cutoff; f2: number };
  /** Names of the side features the cross-encoders read (pipeline/rerank.ts). */
  features: readonly string[];
}

/** The folder of the reranker's cross-encoders (what reranking workers load). */
export function rerankerDir(folder: Pick<ModelFolder, 'dir'>): string {
  return join(folder.dir, MODEL_LAYOUT.reranker);
}

export async function saveReranker(dir: string, reranker: RerankerEnsemble, stored: StoredRule, stacker?: Stacker): Promise<void> {
  const at = rerankerDir({ dir });
  await rm(at, { recursive: true, force: true });
  await reranker.save(at);
  if (stacker) await writeJson(join(at, MODEL_LAYOUT.stacker), stacker.toJSON());
  await writeJson(join(at, MODEL_LAYOUT.rule), { rule: stored.rule, compete: stored.compete, tuneF2: stored.tuneF2, features: stored.features, ...(stacker ? { stacker: MODEL_LAYOUT.stacker } : {}), ...(stored.cutoff ? { cutoff: stored.cutoff, cutoffF2: stored.cutoffF2 } : {}), ...(stored.withoutCount ? { withoutCount: stored.withoutCount } : {}) });
}

/**
 * The reranker of a model and its decision rule; `features` are the side
 * features this release computes, which the stored ones must equal.
 */
export async function loadReranker(folder: ModelFolder, features: readonly string[]): Promise<{ reranker: RerankerEnsemble; rule: DecisionRule; compete: number; cutoff?: ExpectedF2Cutoff; stacker?: Stacker }> {
  const at = rerankerDir(folder);
  if (!folder.hasReranker) {
    throw new ArtifactError(`${folder.dir}: the model has no reranker.`, 'Retrain with the rerank stage enabled (config rerank.enabled), or pass --stage retrieve.');
  }
  const path = join(at, MODEL_LAYOUT.rule);
  const stored = (await readJson(path, 'the decision rule', RETRAIN)) as { rule?: unknown; compete?: unknown; features?: unknown; cutoff?: unknown; stacker?: unknown };
  if (typeof stored !== 'object' || stored === null) throw new ArtifactError(`${path}: must hold a JSON object (corrupt file).`, RETRAIN);
  if (JSON.stringify(stored.features) !== JSON.stringify(features)) {
    throw new ArtifactError(`${at}: the reranker was trained with other side features (${Array.isArray(stored.features) ? stored.features.join(', ') : JSON.stringify(stored.features)}).`, RETRAIN);
  }
  // Models saved before content competition existed have no `compete`: off.
  const compete = stored.compete ?? 0;
  if (typeof compete !== 'number' || !(compete >= 0 && Number.isFinite(compete))) {
    throw new ArtifactError(`${path}: compete must be a number >= 0 (got ${JSON.stringify(stored.compete)}).`, RETRAIN);
  }
  const rule = parseDecisionRule(stored.rule, path);
  // Models saved before the per-topic cut-off existed have none: the global rule cuts.
  const cutoff = stored.cutoff === undefined ? undefined : parseCutoff(stored.cutoff, path);
  // A model trained with rerank.stack names its trees' file; the others have none.
  let stacker: Stacker | undefined;
  if (stored.stacker !== undefined) {
    if (stored.stacker !== MODEL_LAYOUT.stacker) throw new ArtifactError(`${path}: stacker must be "${MODEL_LAYOUT.stacker}" (got ${JSON.stringify(stored.stacker)}).`, RETRAIN);
    const file = join(at, MODEL_LAYOUT.stacker);
    stacker = await Stacker.fromJSON((await readJson(file, "the reranker's stacker", RETRAIN)) as StackerJSON, stackFeatureNames(features), file);
  }
  return { reranker: await RerankerEnsemble.load(at), rule, compete, cutoff, stacker };
}

// --- recommendations.csv ------------------------------------------------------

/** Where `trellis demo` writes its recommendations for the held-out topics. */
export function recommendationsPath(dir: string): string {
  return join(dir, MODEL_LAYOUT.recommendations);
}
