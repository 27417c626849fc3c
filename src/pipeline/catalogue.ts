/**
 * Catalogues that grow: a trained model serves the catalogue it is given, not
 * only the one it was trained on. Curators add, edit and remove content and
 * topics every week; the two towers embed any item or topic text, so none of
 * that needs a new model, only an index that follows the catalogue.
 *
 * The model folder's catalogue.json (written by pipeline/artifact.ts) records
 * what the content index holds: for every index label (one content item, for
 * good) its id, kind, language and a fingerprint of what its vector was
 * computed from; which labels were removed; and what training saw (topic ids,
 * content languages, the files' columns). Against a dataset it gives:
 *   - the changes: items to encode and add (new ones, and removed ones that
 *     came back), to encode again (edited: another text or kind), to move
 *     (another language: another partition) and to remove (gone);
 *   - the label of every dataset row and the row of every live label, which
 *     neural search maps its results through;
 *   - the drift since training: the share of new items and new topics and the
 *     languages training never saw, with a suggestion to retrain past the
 *     limits in DRIFT_LIMITS.
 * A content id whose kind changed is refused (a new item needs a new id), as
 * is a catalogue whose files lack a column training read (every text would
 * change): retraining is the honest answer there.
 */
import { createHash } from 'node:crypto';
import { DataError } from '../errors.ts';
import type { PartitionedIndex } from '../ann/partitioned.ts';
import { contentText } from '../text/documents.ts';
import type { Content, Dataset } from '../data/types.ts';

export const CATALOGUE_FORMAT = 'trellis-catalogue';
export const CATALOGUE_VERSION = 1;

export interface Catalogue {
  format: typeof CATALOGUE_FORMAT;
  version: typeof CATALOGUE_VERSION;
  /** The index folder, in the model folder, whose labels this describes. */
  index: string;
  /** Updates saved since training (0: the index training built). */
  generation: number;
  /** Per index label: the content item's id, kind, language and fingerprint. */
  ids: string[];
  kinds: string[];
  languages: string[];
  fingerprints: string[];
  /** Labels removed from the index (sorted). */
  removed: number[];
  /** What training saw. */
  trained: {
    topics: string[];
    content: number;
    languages: string[];
    /** Columns of topics.csv and content.csv (unknown for a dataset built in memory or read from Neo4j). */
    columns?: { topics: string[]; content: string[] };
  };
  updatedAt: string;
}

/** Content columns the towers read: a catalogue without one of them changes every item's vector. */
const ENCODED_COLUMNS = ['title', 'description', 'text', 'kind', 'language'];

/** What an item's vector is computed from: its kind, language and text (sha256, 16 hex digits). */
export function fingerprint(c: Content): string {
  return createHash('sha256').update(`${c.kind}\u0000${c.language}\u0000${contentText(c)}`).digest('hex').slice(0, 16);
}

/** The catalogue of a model just trained on `dataset`: index label = content row. */
export function trainedCatalogue(dataset: Dataset, index = 'index'): Catalogue {
  const languages = [...new Set(dataset.content.map((c) => c.language))].sort();
  return {
    format: CATALOGUE_FORMAT,
    version: CATALOGUE_VERSION,
    index,
    generation: 0,
    ids: dataset.content.map((c) => c.id),
    kinds: dataset.content.map((c) => c.kind),
    languages: dataset.content.map((c) => c.language),
    fingerprints: dataset.content.map(fingerprint),
    removed: [],
    trained: { topics: dataset.topics.map((t) => t.id), content: dataset.content.length, languages, ...(dataset.columns ? { columns: dataset.columns } : {}) },
    updatedAt: new Date().toISOString(),
  };
}

export interface CatalogueChanges {
  /** Index label of each dataset row. [content rows] */
  labelOfRow: Uint32Array;
  /** Dataset row of each label of the changed index, -1 for removed labels. [labels] */
  rowOfLabel: Int32Array;
  /** Rows whose vectors must be computed and put in the index: new, back after removal, edited, moved. */
  encode: Uint32Array;
  /** Labels to take out of their old partition: removed items, and moved ones before they go into the new one. */
  takeOut: { label: number; language: string }[];
  counts: { added: number; revived: number; edited: number; moved: number; removed: number; unchanged: number };
  /** The catalogue after the changes (the index folder and generation are the caller's to set). */
  next: Catalogue;
}

/** Whether the changes touch the index at all. */
export function hasChanges(changes: CatalogueChanges): boolean {
  const c = changes.counts;
  return c.added + c.revived + c.edited + c.moved + c.removed > 0;
}

/** Refuses a dataset whose files lack (or add) a column the towers read, when both sides know their columns. */
function checkColumns(catalogue: Catalogue, dataset: Dataset, where: string): void {
  const trained = catalogue.trained.columns?.content;
  const now = dataset.columns?.content;
  if (!trained || !now) return;
  const differs = ENCODED_COLUMNS.filter((c) => trained.includes(c) !== now.includes(c));
  if (differs.length === 0) return;
  const missing = differs.filter((c) => trained.includes(c));
  const file = dataset.dir ? '' : 'content.csv ';
  throw new DataError(
    `${file}${missing.length ? `lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that the model in ${where} was trained with` : `has the column${differs.length > 1 ? 's' : ''} ${differs.join(', ')} that the model in ${where} was trained without`}: every item's text would change.`,
    { file: dataset.dir ? `${dataset.dir}/content.csv` : undefined, hint: "Give content.csv the columns it had at training, or retrain with 'trellis train'." },
  );
}

/**
 * The changes that bring an index described by `catalogue` to `dataset`.
 * `where` names the model folder in errors.
 */
export function diffCatalogue(catalogue: Catalogue, dataset: Dataset, where: string): CatalogueChanges {
  checkColumns(catalogue, dataset, where);
  const labelOfId = new Map<string, number>();
  catalogue.ids.forEach((id, label) => labelOfId.set(id, label));
  const removed = new Set(catalogue.removed);
  const removedBefore = new Set(catalogue.removed);
  const next: Catalogue = {
    ...catalogue,
    ids: [...catalogue.ids],
    kinds: [...catalogue.kinds],
    languages: [...catalogue.languages],
    fingerprints: [...catalogue.fingerprints],
    removed: [],
    updatedAt: new Date().toISOString(),
  };
  const labelOfRow = new Uint32Array(dataset.content.length);
  const encode: number[] = [];
  const takeOut: CatalogueChanges['takeOut'] = [];
  const counts = { added: 0, revived: 0, edited: 0, moved: 0, removed: 0, unchanged: 0 };
  dataset.content.forEach((c, row) => {
    let label = labelOfId.get(c.id);
    const print = fingerprint(c);
    if (label === undefined) {
      label = next.ids.length;
      next.ids.push(c.id);
      next.kinds.push(c.kind);
      next.languages.push(c.language);
      next.fingerprints.push(print);
      labelOfRow[row] = label;
      encode.push(row);
      counts.added++;
      return;
    }
    labelOfRow[row] = label;
    if (catalogue.kinds[label] !== c.kind) {
      throw new DataError(
        `content id "${c.id}" had kind "${catalogue.kinds[label]}" when the model in ${where} was trained and has kind "${c.kind}" now.`,
        { file: dataset.dir ? `${dataset.dir}/content.csv` : undefined, hint: "A new item needs a new id; to change what the id means, retrain with 'trellis train'." },
      );
    }
    const wasRemoved = removed.has(label);
    removed.delete(label);
    if (catalogue.languages[label] !== c.language) {
      // Another language is another partition: out of the old one (unless removed already), into the new one.
      if (!wasRemoved) takeOut.push({ label, language: catalogue.languages[label] });
      next.languages[label] = c.language;
      next.fingerprints[label] = print;
      encode.push(row);
      counts[wasRemoved ? 'revived' : 'moved']++;
    } else if (wasRemoved || catalogue.fingerprints[label] !== print) {
      next.fingerprints[label] = print;
      encode.push(row);
      counts[wasRemoved ? 'revived' : 'edited']++;
    } else {
      counts.unchanged++;
    }
  });
  // Labels still live in the index whose item is not in the dataset any more.
  const present = new Uint8Array(next.ids.length);
  for (const label of labelOfRow) present[label] = 1;
  for (let label = 0; label < catalogue.ids.length; label++) {
    if (present[label] || removedBefore.has(label)) continue;
    takeOut.push({ label, language: catalogue.languages[label] });
    counts.removed++;
  }
  const rowOfLabel = new Int32Array(next.ids.length).fill(-1);
  labelOfRow.forEach((label, row) => (rowOfLabel[label] = row));
  next.removed = Array.from({ length: next.ids.length }, (_, label) => label).filter((label) => rowOfLabel[label] < 0);
  return { labelOfRow, rowOfLabel, encode: Uint32Array.from(encode), takeOut, counts, next };
}

/**
 * Brings the index to the dataset: removed and moved items come out of their
 * old language's partition, the encoded ones (`vectors`, one row per
 * `changes.encode` row) go into their language's partition, a language
 * without one getting a new partition.
 */
export function applyChanges(index: PartitionedIndex, changes: CatalogueChanges, dataset: Dataset, vectors: Float32Array): void {
  const dim = index.dim;
  const group = <T>(items: Iterable<T>, keyOf: (item: T) => string, valueOf: (item: T) => number) => {
    const groups = new Map<string, number[]>();
    for (const item of items) {
      const key = keyOf(item);
      const list = groups.get(key);
      if (list) list.push(valueOf(item));
      else groups.set(key, [valueOf(item)]);
    }
    return groups;
  };
  for (const [language, labels] of group(changes.takeOut, (t) => t.language, (t) => t.label)) index.remove(language, Uint32Array.from(labels));
  const into = group(changes.encode.keys(), (i) => dataset.content[changes.encode[i]].language, (i) => i);
  for (const [language, positions] of into) {
    const part = new Float32Array(positions.length * dim);
    positions.forEach((i, j) => part.set(vectors.subarray(i * dim, (i + 1) * dim), j * dim));
    index.upsert(language, part, Uint32Array.from(positions, (i) => changes.labelOfRow[changes.encode[i]]));
  }
}

/** How far the catalogue has moved from the one training saw; the model suggests retraining past these. */
export const DRIFT_LIMITS = Object.freeze({
  /** Share of the catalogue's items that training never saw. */
  newItems: 0.2,
  /** Share of the topics that training never saw. */
  newTopics: 0.2,
  /** Share of the items in languages training never saw. */
  newLanguageItems: 0.01,
});

export interface Drift {
  items: number;
  newItems: number;
  newItemsShare: number;
  topics: number;
  newTopics: number;
  newTopicsShare: number;
  /** Content languages training never saw, with their items. */
  newLanguages: { language: string; items: number }[];
  newLanguageItemsShare: number;
  /** Whether a limit of DRIFT_LIMITS is passed, and which. */
  retrain: boolean;
  reasons: string[];
}

/** The drift of `dataset` from what the model was trained on. */
export function catalogueDrift(catalogue: Catalogue, dataset: Dataset): Drift {
  const trainedItems = new Set(catalogue.ids.slice(0, catalogue.trained.content));
  const trainedTopics = new Set(catalogue.trained.topics);
  const trainedLanguages = new Set(catalogue.trained.languages);
  const newItems = dataset.content.filter((c) => !trainedItems.has(c.id)).length;
  const newTopics = dataset.topics.filter((t) => !trainedTopics.has(t.id)).length;
  const byLanguage = new Map<string, number>();
  for (const c of dataset.content) if (!trainedLanguages.has(c.language)) byLanguage.set(c.language, (byLanguage.get(c.language) ?? 0) + 1);
  const newLanguages = [...byLanguage].map(([language, items]) => ({ language, items })).sort((a, b) => b.items - a.items);
  const items = dataset.content.length;
  const topics = dataset.topics.length;
  const share = (n: number, of: number) => (of > 0 ? n / of : 0);
  const drift: Drift = {
    items, newItems, newItemsShare: share(newItems, items),
    topics, newTopics, newTopicsShare: share(newTopics, topics),
    newLanguages, newLanguageItemsShare: share(newLanguages.reduce((s, l) => s + l.items, 0), items),
    retrain: false, reasons: [],
  };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (drift.newItemsShare > DRIFT_LIMITS.newItems) drift.reasons.push(`${pct(drift.newItemsShare)} of the items are new (limit ${pct(DRIFT_LIMITS.newItems)})`);
  if (drift.newTopicsShare > DRIFT_LIMITS.newTopics) drift.reasons.push(`${pct(drift.newTopicsShare)} of the topics are new (limit ${pct(DRIFT_LIMITS.newTopics)})`);
  if (drift.newLanguageItemsShare > DRIFT_LIMITS.newLanguageItems) drift.reasons.push(`${pct(drift.newLanguageItemsShare)} of the items are in languages training never saw (${newLanguages.map((l) => l.language || '(none)').join(', ')}; limit ${pct(DRIFT_LIMITS.newLanguageItems)})`);
  drift.retrain = drift.reasons.length > 0;
  return drift;
}

/** One line on the changes and the drift, for logs. */
export function describeChanges(counts: CatalogueChanges['counts'] | undefined, drift: Drift | undefined): string {
  const parts: string[] = [];
  if (counts) {
    const c = counts;
    parts.push(`catalogue: ${c.added} items added, ${c.edited} edited, ${c.moved} moved to another language, ${c.revived} back, ${c.removed} removed, ${c.unchanged} unchanged since the index was built`);
  }
  if (drift) {
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    parts.push(`since training: ${pct(drift.newItemsShare)} new items, ${pct(drift.newTopicsShare)} new topics${drift.newLanguages.length ? `, new languages ${drift.newLanguages.map((l) => `${l.language || '(none)'} (${l.items} items)`).join(', ')}` : ''}`);
    if (drift.retrain) parts.push(`retraining suggested: ${drift.reasons.join('; ')}`);
  }
  return parts.join('; ');
}
