/**
 * A seeded generator of LECR-format datasets with a known answer: topic trees
 * whose leaves each own a few "signature" words, and content items whose text
 * mixes their topic's signature words with common filler, linked to their
 * topic (and, with `multiLinkRate`, to a second one). Sizes, languages and
 * link skew are controllable. Used by tests and the scale benchmark.
 */
import { rngFor, randomInt, type Rng } from '../random.ts';
import { buildDataset } from './lecr.ts';
import type { Content, Dataset, Topic } from './types.ts';

export interface SyntheticOptions {
  /** Channels (one tree each). Default 2. */
  channels?: number;
  /** Children per inner topic. Default 4. */
  branching?: number;
  /** Tree depth below the root. Default 2. */
  depth?: number;
  /** Content items per leaf topic on average. Default 5. */
  contentPerLeaf?: number;
  /** Languages, assigned per channel in turn. Default ['en']. */
  languages?: string[];
  /** Share of items also linked to a second, random leaf. Default 0.1. */
  multiLinkRate?: number;
  /** Zipf-like skew of items per leaf (0 = uniform). Default 0.5. */
  skew?: number;
  seed?: number;
}

const FILLER = ['learn', 'about', 'practice', 'video', 'lesson', 'introduction', 'example', 'review', 'basics', 'more'];

function word(rng: Rng): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let w = '';
  const n = 4 + randomInt(rng, 5);
  for (let i = 0; i < n; i++) w += letters[randomInt(rng, 26)];
  return w;
}

export function syntheticDataset(options: SyntheticOptions = {}): Dataset {
  const { channels = 2, branching = 4, depth = 2, contentPerLeaf = 5, languages = ['en'], multiLinkRate = 0.1, skew = 0.5, seed = 1 } = options;
  const rng = rngFor(seed, 'synthetic');
  const topics: Topic[] = [];
  const leaves: { id: string; words: string[]; language: string }[] = [];
  const topic = (id: string, title: string, channel: string, level: number, parent: string, language: string): void => {
    topics.push({ id, title, description: '', channel, category: 'synthetic', level, language, parent, hasContent: false });
  };
  for (let ch = 0; ch < channels; ch++) {
    const language = languages[ch % languages.length];
    const channel = `ch${ch}`;
    const grow = (id: string, level: number, parent: string, inherited: string[]): void => {
      const own = [word(rng), word(rng)];
      topic(id, [...inherited.slice(-1), ...own].join(' '), channel, level, parent, language);
      if (level === depth) {
        leaves.push({ id, words: [...inherited, ...own], language });
        return;
      }
      for (let b = 0; b < branching; b++) grow(`${id}.${b}`, level + 1, id, [...inherited, own[0]]);
    };
    grow(`t${ch}`, 0, '', []);
  }
  const content: Content[] = [];
  const correlations = new Map<string, string[]>();
  leaves.forEach((leaf, i) => {
    const n = Math.max(1, Math.round(contentPerLeaf * (skew > 0 ? (1 + skew * (leaves.length / (i + 1)) ** 0.5) / (1 + skew) : 1)));
    for (let j = 0; j < n; j++) {
      const id = `c${content.length}`;
      const pick = () => leaf.words[randomInt(rng, leaf.words.length)];
      const title = `${pick()} ${FILLER[randomInt(rng, FILLER.length)]} ${pick()}`;
      content.push({ id, title, description: `${pick()} ${word(rng)} ${FILLER[randomInt(rng, FILLER.length)]}`, kind: j % 2 ? 'video' : 'exercise', text: '', language: leaf.language, copyrightHolder: '', license: '' });
      const linked = [leaf.id];
      if (rng() < multiLinkRate) linked.push(leaves[randomInt(rng, leaves.length)].id);
      for (const t of linked) {
        if (!correlations.has(t)) correlations.set(t, []);
        correlations.get(t)!.push(id);
      }
    }
  });
  for (const t of topics) t.hasContent = correlations.has(t.id);
  return buildDataset(topics, content, correlations);
}
