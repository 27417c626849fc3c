/**
 * A trained retrieval model on disk (`--model DIR`):
 *
 *   model.json      format, model id, seed, run config, model shape, content
 *                   kind/language vocabularies, the dataset it was trained on
 *                   (content count and an id checksum), held-out topics,
 *                   the training summary
 *   weights.bin/.json  every weight (see weights.ts)
 *   index/          the content index (see ann/), built from the content
 *                   embeddings of this model
 *
 * Loading checks the format, the weights' names and shapes, and that the
 * dataset given at recommend time is the one the index was built from.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { TwoTowerModel, type TwoTowerShape } from './two-tower.ts';
import { loadWeights, saveWeights } from './weights.ts';
import { expectedShapes, restore, snapshot, type EpochReport } from './train.ts';
import type { RunConfig } from '../config.ts';
import type { Dataset } from '../data/types.ts';
import { checkPretrainedDir, checkPretrainedId, type PretrainedInfo } from '../pretrained/features.ts';
import { PretrainedEncoder } from '../pretrained/encoder.ts';

export const MODEL_FORMAT = 'trellis-two-tower/1';

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

/** sha256 of the content ids in order: the index labels are content rows, so the order must match. */
export function contentChecksum(dataset: Dataset): string {
  const hash = createHash('sha256');
  for (const c of dataset.content) hash.update(c.id).update('\n');
  return hash.digest('hex');
}

/** A short id for a trained model: its config, seed, data and weights summary. */
export function makeModelId(config: RunConfig, seed: number, dataset: Dataset, stamp: string): string {
  const hash = createHash('sha256').update(JSON.stringify({ config, seed, content: contentChecksum(dataset), stamp })).digest('hex');
  return `tt-${hash.slice(0, 12)}`;
}

export async function saveModel(dir: string, model: TwoTowerModel, meta: ModelMeta): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveWeights(dir, 'weights', snapshot(model));
  await writeFileAtomic(join(dir, 'model.json'), async (sink) => sink.write(JSON.stringify(meta, null, 1)));
}

export async function readModelMeta(dir: string): Promise<ModelMeta> {
  const path = join(dir, 'model.json');
  const hint = `Train one with 'trellis train --data DIR --model ${dir}'.`;
  if (!existsSync(path)) throw new ArtifactError(`${dir}: no trained model here (model.json is missing).`, hint);
  let meta: ModelMeta;
  try {
    meta = JSON.parse(await readFile(path, 'utf8')) as ModelMeta;
  } catch {
    throw new ArtifactError(`${path}: model.json is not valid JSON (corrupt file).`, hint);
  }
  if (meta.format !== MODEL_FORMAT) throw new ArtifactError(`${path}: format must be ${MODEL_FORMAT} (got ${JSON.stringify(meta.format)}).`, hint);
  return meta;
}

/** Loads a trained model; `dataset` (when given) must be the one it was trained on. */
export async function loadModel(dir: string, dataset?: Dataset): Promise<{ model: TwoTowerModel; meta: ModelMeta }> {
  const meta = await readModelMeta(dir);
  if (dataset) checkDataset(dir, meta, dataset);
  let sentence: PretrainedEncoder | undefined;
  if (meta.pretrained) checkPretrainedDir(dir, meta.pretrained);
  if (meta.shape.fineTuneLayers && meta.pretrained) {
    // The frozen layers come from the pretrained directory; the fine-tuned ones from weights.bin below.
    sentence = await PretrainedEncoder.load(meta.pretrained.dir, { maxLength: meta.pretrained.maxLength, trainableLayers: meta.shape.fineTuneLayers });
    try {
      checkPretrainedId(dir, meta.pretrained, sentence.id);
    } catch (error) {
      sentence.dispose();
      throw error;
    }
  }
  const model = new TwoTowerModel(meta.shape, meta.seed, sentence);
  try {
    restore(model, await loadWeights(dir, 'weights', expectedShapes(model)));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, meta };
}

export function checkDataset(dir: string, meta: ModelMeta, dataset: Dataset): void {
  if (meta.dataset.content !== dataset.content.length || meta.dataset.contentChecksum !== contentChecksum(dataset)) {
    throw new ArtifactError(
      `${dir}: the model was trained on a catalogue of ${meta.dataset.content} content items that differs from ${dataset.dir || 'the given data'} (${dataset.content.length} items, or other ids).`,
      "Pass the --data the model was trained on, or retrain with 'trellis train'.",
    );
  }
}
