/**
 * The catalogue after a week of curation, for the tests of catalogues that
 * grow (CSV folders in test/pipeline/catalogue.test.ts, Neo4j in
 * test/graph/neo4j-catalogue.test.ts): one item added as a twin of a linked
 * item, one item edited to a distinctive text, a new channel with a topic of
 * that text, three items removed with their links, two items in a language
 * training never saw.
 */
import { readFileSync } from 'node:fs';
import { buildDataset, type Content, type Dataset, type Topic } from '../../src/index.ts';

/** A small model: trains in seconds. */
export const TINY_CONFIG = {
  lexical: { buckets: 1 << 14 },
  encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
  training: { epochs: 3, batchSize: 16, patience: 3 },
  index: { M: 8, efConstruction: 50, efSearch: 50 },
  retrieval: { topK: 10, lexicalTopK: 10, fusionDepth: 20, fusedTopK: 15 },
  rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32 },
};

export interface GrownCatalogue {
  dataset: Dataset;
  /** The new item (a twin of an item of a linked topic). */
  newItem: string;
  /** The edited item and its new title. */
  edited: { id: string; title: string };
  /** Items that left the catalogue. */
  removed: string[];
  /** Items in French, a language training never saw. */
  french: string[];
  /** A topic of a new channel, linked to the edited item. */
  newTopic: string;
  /** The catalogue diff recommend and update report for it. */
  changes: { added: number; revived: number; edited: number; moved: number; removed: number; unchanged: number };
}

/** A LECR submission file as topic id -> content ids. */
export function readSubmission(path: string): Map<string, string[]> {
  const [, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  return new Map(rows.map((row) => {
    const [topic, ids = ''] = row.split(',');
    return [topic, ids.split(' ').filter(Boolean)];
  }));
}

export function growCatalogue(dataset: Dataset): GrownCatalogue {
  const topics: Topic[] = dataset.topics.map((t) => ({ ...t }));
  const content: Content[] = dataset.content.map((c) => ({ ...c }));
  const links = new Map<string, string[]>(dataset.topics.map((t, i) => [t.id, Array.from(dataset.links[i], (c) => dataset.content[c].id)]));
  const newItem = 'new-twin';
  const newTopic = 'new-topic-zebra';
  const french = ['fr-1', 'fr-2'];
  // A linked topic gets a new item: a twin of one of its items under a new id.
  const linkedTopic = dataset.topics.findIndex((_, i) => dataset.links[i].length > 1);
  const twin = dataset.content[dataset.links[linkedTopic][0]];
  content.push({ ...twin, id: newItem });
  links.get(dataset.topics[linkedTopic].id)!.push(newItem);
  // An item of another topic gets a distinctive new title, and a new channel a topic with that title.
  const edited = content[dataset.links[linkedTopic + 1 < dataset.topics.length && dataset.links[linkedTopic + 1].length ? linkedTopic + 1 : dataset.topics.length - 1][0] ?? 0];
  const title = 'zebra quasar nebula';
  edited.title = title;
  edited.description = 'zebra quasar nebula, the whole lesson about zebra quasar nebula';
  topics.push({ ...topics[0], id: 'new-channel', title: 'A new channel', description: '', channel: 'new-channel', parent: '', level: 0, hasContent: false });
  topics.push({ ...topics[0], id: newTopic, title, description: title, channel: 'new-channel', parent: 'new-channel', level: 1, hasContent: true });
  links.set(newTopic, [edited.id]);
  // Three items leave the catalogue, with their links.
  const removed = content.slice(-12, -9).map((c) => c.id);
  const kept = content.filter((c) => !removed.includes(c.id));
  for (const [id, list] of links) links.set(id, list.filter((c) => !removed.includes(c)));
  // Two French items: a language training never saw.
  kept.push({ ...twin, id: french[0], title: 'leçon de français', language: 'fr' }, { ...twin, id: french[1], title: 'exercice de français', language: 'fr' });
  return {
    dataset: buildDataset(topics, kept, new Map([...links].filter(([, list]) => list.length > 0))),
    newItem,
    edited: { id: edited.id, title },
    removed,
    french,
    newTopic,
    changes: { added: 3, revived: 0, edited: 1, moved: 0, removed: 3, unchanged: dataset.content.length - 4 },
  };
}
