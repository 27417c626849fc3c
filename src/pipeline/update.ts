/**
 * `trellis update`: brings a model's content index to the catalogue as it is
 * now and saves it, so that later runs start from it. Only what changed is
 * encoded (with the trained towers, the TF-IDF weights fitted at training and,
 * for a pretrained encoder, its vector cache) and put into the index: new and
 * edited items, items moved to another language (a new language gets a new
 * partition), and removed items are marked deleted. The index is saved as a
 * new generation that catalogue.json commits atomically
 * (artifact.ts `saveIndexGeneration`); shards that did not change are linked,
 * not rewritten.
 */
import { ArtifactError } from '../errors.ts';
import type { Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';
import { contentInputs } from '../models/tower-data.ts';
import { embedContentParallel } from '../models/encode-worker.ts';
import { attachPretrained, checkPretrainedId, fineTuneInputs, locatePretrained, pretrainedFeatures } from '../models/pretrained-features.ts';
import { loadContentIndex, loadLexical, loadTwoTower, saveIndexGeneration, type ModelFolder } from './artifact.ts';
import { applyChanges, catalogueDrift, diffCatalogue, hasChanges, type Catalogue, type CatalogueChanges, type Drift } from './catalogue.ts';

export interface UpdateResult {
  changes: CatalogueChanges;
  drift: Drift;
  /** The committed catalogue, or undefined when nothing changed (nothing is written then). */
  saved?: Catalogue;
  seconds: { encode: number; total: number };
}

export interface UpdateOptions {
  log?: (line: string) => void;
  /** Progress of pretrained encoding: texts done of those not cached. */
  onEncode?: (done: number, total: number) => void;
  /** Runs after the new index is written and before catalogue.json commits it (tests of an interrupted update). */
  beforeCommit?: () => void | Promise<void>;
}

export async function updateIndex(folder: ModelFolder, dataset: Dataset, forest: TopicForest, options: UpdateOptions = {}): Promise<UpdateResult> {
  const t0 = performance.now();
  const { dir, meta, catalogue } = folder;
  const tfidf = await loadLexical(folder);
  if (!catalogue || !tfidf) {
    throw new ArtifactError(`${dir}: the model has no catalogue.json and TF-IDF weights (it was trained before catalogues could grow), so its index cannot follow the catalogue.`, "Retrain with 'trellis train'.");
  }
  const changes = diffCatalogue(catalogue, dataset, dir);
  const drift = catalogueDrift(catalogue, dataset);
  if (!hasChanges(changes)) return { changes, drift, seconds: { encode: 0, total: (performance.now() - t0) / 1000 } };
  const pretrainedDir = meta.pretrained && (await locatePretrained(dir, meta.pretrained, { log: options.log }));
  const model = await loadTwoTower(folder, undefined, pretrainedDir);
  let encodeSeconds = 0;
  try {
    // The candidate tower's inputs of the changed items only.
    const content = Array.from(changes.encode, (row) => dataset.content[row]);
    const inputs = contentInputs(content, tfidf, meta.config.encoder.maxFeatures, undefined, meta.kinds, meta.languages);
    if (meta.pretrained) {
      const only = { ...dataset, topics: [], content } as Dataset;
      if (meta.shape.fineTuneLayers) {
        const { vectors, sentence } = await fineTuneInputs(only, forest, { ...meta.config.encoder, model: pretrainedDir!, fineTuneLayers: 0 });
        sentence.dispose();
        attachPretrained(inputs, vectors, meta.config.encoder.bag);
      } else {
        const features = await pretrainedFeatures(only, forest, { ...meta.config.encoder, model: pretrainedDir! }, { log: options.log, onProgress: options.onEncode });
        checkPretrainedId(dir, meta.pretrained, features.info.id);
        attachPretrained(inputs, features.vectors, meta.config.encoder.bag);
      }
    }
    const t1 = performance.now();
    const vectors = await embedContentParallel(model, inputs);
    encodeSeconds = (performance.now() - t1) / 1000;
    const index = loadContentIndex(folder);
    applyChanges(index, changes, dataset, vectors);
    const saved = await saveIndexGeneration(folder, index, changes.next, { beforeCommit: options.beforeCommit });
    return { changes, drift, saved, seconds: { encode: encodeSeconds, total: (performance.now() - t0) / 1000 } };
  } finally {
    model.dispose();
  }
}
