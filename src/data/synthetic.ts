/**
 * A seeded generator of LECR-format datasets with a known answer: topic trees
 * whose leaves each own a few "signature" words, and content items whose text
 * mixes their topic's signature words with common filler, linked to their
 * topic (and, with `multiLinkRate`, to a second one). Sizes, languages and
 * link skew are controllable. Used by tests and the scale benchmark.
 *
 * Two phases, so a million items never have to sit in memory at once: the
 * topic forest is built first (`syntheticForest`, a few hundred bytes per
 * topic), then content items are drawn one at a time (`syntheticContent`).
 * `syntheticDataset` collects both into a Dataset; `writeSyntheticDataset`
 * streams them into a LECR folder.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { rngFor, randomInt, type Rng } from '../random.ts';
import { ConfigError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { buildDataset, CONTENT_COLUMNS, CORRELATION_COLUMNS, TOPIC_COLUMNS } from './lecr.ts';
import type { Content, Dataset, Topic } from './types.ts';

const SCOPE = 'trellis/data/synthetic';

export interface SyntheticOptions {
  /** Channels (one tree each). Default 2. */
  channels?: number;
  /** Children per inner topic. Default 4. */
  branching?: number;
  /** Tree depth below the root. Default 2. */
  depth?: number;
  /** Content items per leaf topic on average (before skew; see `skew`). Default 5. */
  contentPerLeaf?: number;
  /**
   * Exact number of content items: every leaf gets one, the rest is spread
   * over the leaves in proportion to the skew weights. Overrides
   * `contentPerLeaf`; must be at least the number of leaves. Default: unset.
   */
  content?: number;
  /** Languages, assigned per channel in turn. Default ['en']. */
  languages?: string[];
  /** Share of items also linked to a second, random leaf. Default 0.1. */
  multiLinkRate?: number;
  /** Zipf-like skew of items per leaf: leaf i of L weighs 1 + skew * sqrt(L / (i + 1)) (0 = uniform). Default 0.5. */
  skew?: number;
  seed?: number;
}

/** A leaf topic and the words its content is drawn from. */
export interface SyntheticLeaf {
  id: string;
  words: string[];
  language: string;
  /** Content items whose own topic this leaf is. */
  items: number;
}

/** The first phase: every topic, the leaves, and the generator state the content phase continues from. */
export interface SyntheticForest {
  topics: Topic[];
  leaves: SyntheticLeaf[];
  /** Content items `syntheticContent` will draw. */
  content: number;
  multiLinkRate: number;
  rng: Rng;
}

/** One content item and the topics it is linked to (its own leaf first). */
export interface SyntheticItem {
  content: Content;
  topics: string[];
}

const FILLER = ['learn', 'about', 'practice', 'video', 'lesson', 'introduction', 'example', 'review', 'basics', 'more'];

function word(rng: Rng): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let w = '';
  const n = 4 + randomInt(rng, 5);
  for (let i = 0; i < n; i++) w += letters[randomInt(rng, 26)];
  return w;
}

function positiveInteger(key: string, value: number, min = 1): void {
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${SCOPE}: ${key} must be an integer >= ${min} (got ${value}).`);
}

/** Topics in a forest of `channels` full trees: channels * (1 + b + ... + b^depth). */
export function syntheticTopicCount(channels: number, branching: number, depth: number): number {
  let perTree = 0;
  for (let level = 0, width = 1; level <= depth; level++, width *= branching) perTree += width;
  return channels * perTree;
}

/** Items per leaf: one each, the rest by largest remainder over the skew weights (sums to `total` exactly). */
function allocate(leaves: number, total: number, skew: number): Uint32Array {
  const weights = Float64Array.from({ length: leaves }, (_, i) => 1 + skew * Math.sqrt(leaves / (i + 1)));
  const sum = weights.reduce((s, w) => s + w, 0);
  const rest = total - leaves;
  const counts = new Uint32Array(leaves);
  const remainders = new Float64Array(leaves);
  let given = 0;
  for (let i = 0; i < leaves; i++) {
    const share = (rest * weights[i]) / sum;
    counts[i] = 1 + Math.floor(share);
    remainders[i] = share - Math.floor(share);
    given += counts[i];
  }
  const order = Array.from(remainders.keys()).sort((a, b) => remainders[b] - remainders[a] || a - b);
  for (let k = 0; given < total; k++, given++) counts[order[k]]++;
  return counts;
}

/** The topic forest: every topic (depth-first, one tree per channel) and its leaves with their item counts. */
export function syntheticForest(options: SyntheticOptions = {}): SyntheticForest {
  const { channels = 2, branching = 4, depth = 2, contentPerLeaf = 5, languages = ['en'], multiLinkRate = 0.1, skew = 0.5, seed = 1 } = options;
  positiveInteger('channels', channels);
  positiveInteger('branching', branching);
  positiveInteger('depth', depth, 0);
  if (languages.length === 0) throw new ConfigError(`${SCOPE}: languages must name at least one language (got []).`);
  const rng = rngFor(seed, 'synthetic');
  const topics: Topic[] = [];
  const leaves: SyntheticLeaf[] = [];
  for (let ch = 0; ch < channels; ch++) {
    const language = languages[ch % languages.length];
    const channel = `ch${ch}`;
    const grow = (id: string, level: number, parent: string, inherited: string[]): void => {
      const own = [word(rng), word(rng)];
      const leaf = level === depth;
      topics.push({ id, title: [...inherited.slice(-1), ...own].join(' '), description: '', channel, category: 'synthetic', level, language, parent, hasContent: leaf });
      if (leaf) {
        leaves.push({ id, words: [...inherited, ...own], language, items: 0 });
        return;
      }
      for (let b = 0; b < branching; b++) grow(`${id}.${b}`, level + 1, id, [...inherited, own[0]]);
    };
    grow(`t${ch}`, 0, '', []);
  }
  let content = 0;
  if (options.content !== undefined) {
    positiveInteger('content', options.content, leaves.length);
    const counts = allocate(leaves.length, options.content, skew);
    leaves.forEach((leaf, i) => (leaf.items = counts[i]));
    content = options.content;
  } else {
    leaves.forEach((leaf, i) => {
      leaf.items = Math.max(1, Math.round(contentPerLeaf * (skew > 0 ? (1 + skew * (leaves.length / (i + 1)) ** 0.5) / (1 + skew) : 1)));
      content += leaf.items;
    });
  }
  return { topics, leaves, content, multiLinkRate, rng };
}

/**
 * Draws the content of a forest, leaf by leaf, one item at a time: ids
 * c0, c1, ... Consumes the forest's generator, so iterate it once.
 */
export function* syntheticContent(forest: SyntheticForest): Generator<SyntheticItem> {
  const { leaves, multiLinkRate, rng } = forest;
  let next = 0;
  for (const leaf of leaves) {
    const pick = () => leaf.words[randomInt(rng, leaf.words.length)];
    for (let j = 0; j < leaf.items; j++) {
      const id = `c${next++}`;
      const title = `${pick()} ${FILLER[randomInt(rng, FILLER.length)]} ${pick()}`;
      const content: Content = { id, title, description: `${pick()} ${word(rng)} ${FILLER[randomInt(rng, FILLER.length)]}`, kind: j % 2 ? 'video' : 'exercise', text: '', language: leaf.language, copyrightHolder: '', license: '' };
      const topics = [leaf.id];
      if (rng() < multiLinkRate) topics.push(leaves[randomInt(rng, leaves.length)].id);
      yield { content, topics };
    }
  }
}

/** The whole dataset in memory. */
export function syntheticDataset(options: SyntheticOptions = {}): Dataset {
  const forest = syntheticForest(options);
  const content: Content[] = [];
  const correlations = new Map<string, string[]>();
  for (const item of syntheticContent(forest)) {
    content.push(item.content);
    for (const t of item.topics) {
      const list = correlations.get(t);
      if (list) list.push(item.content.id);
      else correlations.set(t, [item.content.id]);
    }
  }
  return buildDataset(forest.topics, content, correlations);
}

export interface SyntheticWriteSummary {
  topics: number;
  content: number;
  /** Topic -> content links written (a second link to the same topic counts once). */
  links: number;
}

const BATCH = 4096;

/**
 * Writes the dataset `options` describes into `dir` (topics.csv, content.csv,
 * correlations.csv; each atomically) without holding the content in memory:
 * items are generated and written in batches; only the link lists are kept
 * until correlations.csv is written. Loading the folder gives the same
 * Dataset as `syntheticDataset(options)`.
 */
export async function writeSyntheticDataset(dir: string, options: SyntheticOptions = {}): Promise<SyntheticWriteSummary> {
  await mkdir(dir, { recursive: true });
  const forest = syntheticForest(options);
  await writeFileAtomic(join(dir, 'topics.csv'), async (sink) => {
    await sink.write(TOPIC_COLUMNS.join(',') + '\n');
    for (let start = 0; start < forest.topics.length; start += BATCH) {
      const rows = forest.topics.slice(start, start + BATCH).map((t) => [t.id, t.title, t.description, t.channel, t.category, String(t.level), t.language, t.parent, t.hasContent ? 'True' : 'False']);
      await sink.write(stringify(rows, { record_delimiter: '\n' }));
    }
  });
  const correlations = new Map<string, string[]>();
  await writeFileAtomic(join(dir, 'content.csv'), async (sink) => {
    await sink.write(CONTENT_COLUMNS.join(',') + '\n');
    let rows: string[][] = [];
    for (const { content: c, topics } of syntheticContent(forest)) {
      rows.push([c.id, c.title, c.description, c.kind, c.text, c.language, c.copyrightHolder, c.license]);
      for (const t of topics) {
        const list = correlations.get(t);
        if (list === undefined) correlations.set(t, [c.id]);
        else if (list[list.length - 1] !== c.id) list.push(c.id);
      }
      if (rows.length === BATCH) {
        await sink.write(stringify(rows, { record_delimiter: '\n' }));
        rows = [];
      }
    }
    if (rows.length > 0) await sink.write(stringify(rows, { record_delimiter: '\n' }));
  });
  let links = 0;
  await writeFileAtomic(join(dir, 'correlations.csv'), async (sink) => {
    await sink.write(CORRELATION_COLUMNS.join(',') + '\n');
    let rows: string[][] = [];
    // In topic order, as writeDataset does.
    for (const t of forest.topics) {
      const list = correlations.get(t.id);
      if (list === undefined) continue;
      // Ids are c<number>, drawn in increasing order per list except for second links: sort numerically.
      const ids = [...new Set(list)].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
      links += ids.length;
      rows.push([t.id, ids.join(' ')]);
      if (rows.length === BATCH) {
        await sink.write(stringify(rows, { record_delimiter: '\n' }));
        rows = [];
      }
    }
    if (rows.length > 0) await sink.write(stringify(rows, { record_delimiter: '\n' }));
  });
  return { topics: forest.topics.length, content: forest.content, links };
}
