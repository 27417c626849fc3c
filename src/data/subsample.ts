/**
 * A smaller catalogue cut from a dataset, for studying how the models behave
 * on small catalogues: whole subtrees of the topic forest (with their
 * ancestors, so it stays a forest), every item those topics link to, and
 * random other items up to the requested size.
 *
 * Topics: a depth-first walk from the shuffled roots. A subtree is taken
 * whole when its linked topics (and the linked ancestors not yet taken) fit
 * the remaining topic budget and the items they link to fit the remaining
 * item budget; otherwise the walk descends into its children in random
 * order (a leaf that does not fit is passed over). So the sample is a few
 * contiguous branches, as a small organisation's catalogue would be, and a
 * topic is dropped rather than a link: every kept topic keeps all its links.
 * Content: the linked items of the kept topics, then items drawn uniformly
 * from the rest of the catalogue (their links to topics not kept are gone,
 * so they are unplaced content) until `content` items are kept.
 */
import { ConfigError } from '../errors.ts';
import { rngFor, shuffleInPlace } from '../random.ts';
import { buildDataset } from './lecr.ts';
import type { Dataset } from './types.ts';

const SCOPE = 'trellis/data/subsample';

export interface SubsampleOptions {
  /** Linked topics (topics with at least one link) to keep, approximately: at most this many. */
  topics: number;
  /** Content items to keep (fewer only when the dataset has fewer). */
  content: number;
  /** Seed of the choice of subtrees and of the extra items. Default 42. */
  seed?: number;
}

function positiveInteger(key: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${SCOPE}: ${key} must be a positive integer (got ${value}).`);
}

/**
 * A valid Dataset holding a part of `dataset` (see the file header): rows in
 * their original order, links restricted to the kept topics and items,
 * `sampleTopics` restricted to the kept topics. Deterministic per seed.
 */
export function subsampleDataset(dataset: Dataset, options: SubsampleOptions): Dataset {
  const { topics: topicBudget, content: contentBudget, seed = 42 } = options;
  positiveInteger('topics', topicBudget);
  positiveInteger('content', contentBudget);
  const n = dataset.topics.length;
  const parent = new Int32Array(n).fill(-1);
  const children: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  dataset.topics.forEach((t, i) => {
    if (t.parent === '') roots.push(i);
    else {
      const p = dataset.topicIndex.get(t.parent)!;
      parent[i] = p;
      children[p].push(i);
    }
  });
  const isLinked = (t: number) => dataset.links[t].length > 0;
  // Linked topics per subtree, children before parents (a loaded dataset's forest has no cycles).
  const linkedBelow = new Uint32Array(n);
  const order: number[] = [];
  for (const r of roots) {
    const stack = [r];
    while (stack.length > 0) {
      const t = stack.pop()!;
      order.push(t);
      for (const c of children[t]) stack.push(c);
    }
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    linkedBelow[t] += isLinked(t) ? 1 : 0;
    if (parent[t] >= 0) linkedBelow[parent[t]] += linkedBelow[t];
  }

  const keptTopic = new Uint8Array(n);
  const keptContent = new Uint8Array(dataset.content.length);
  let topicsLeft = topicBudget;
  let contentLeft = contentBudget;
  const ancestorsToAdd = (t: number): number[] => {
    const out: number[] = [];
    for (let a = parent[t]; a >= 0 && !keptTopic[a]; a = parent[a]) out.push(a);
    return out;
  };
  /** Items the subtree of `t` and `ancestors` link to that are not kept yet; undefined when more than `limit`. */
  const newContent = (t: number, ancestors: number[], limit: number): Set<number> | undefined => {
    const seen = new Set<number>();
    const add = (u: number): boolean => {
      for (const c of dataset.links[u]) if (!keptContent[c]) seen.add(c);
      return seen.size <= limit;
    };
    for (const a of ancestors) if (!add(a)) return undefined;
    const stack = [t];
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (!add(u)) return undefined;
      for (const c of children[u]) stack.push(c);
    }
    return seen;
  };
  const take = (t: number, ancestors: number[], items: Set<number>): void => {
    for (const a of ancestors) keptTopic[a] = 1;
    const stack = [t];
    while (stack.length > 0) {
      const u = stack.pop()!;
      keptTopic[u] = 1;
      for (const c of children[u]) stack.push(c);
    }
    for (const c of items) keptContent[c] = 1;
    topicsLeft -= linkedBelow[t] + ancestors.filter(isLinked).length;
    contentLeft -= items.size;
  };

  const rng = rngFor(seed, 'subsample/topics');
  // Depth-first: the last pushed is taken next, so the walk finishes a branch before it moves on.
  const stack = shuffleInPlace(roots.slice(), rng);
  while (stack.length > 0 && topicsLeft > 0) {
    const t = stack.pop()!;
    if (linkedBelow[t] === 0) continue;
    const ancestors = ancestorsToAdd(t);
    const cost = linkedBelow[t] + ancestors.filter(isLinked).length;
    const items = cost <= topicsLeft ? newContent(t, ancestors, contentLeft) : undefined;
    if (items) take(t, ancestors, items);
    else stack.push(...shuffleInPlace(children[t].slice(), rng));
  }

  // Random other items up to the budget.
  const rest = Uint32Array.from(dataset.content.keys()).filter((c) => !keptContent[c]);
  shuffleInPlace(rest, rngFor(seed, 'subsample/content'));
  for (let k = 0; k < rest.length && contentLeft > 0; k++, contentLeft--) keptContent[rest[k]] = 1;

  const topics = dataset.topics.filter((_, t) => keptTopic[t]);
  const content = dataset.content.filter((_, c) => keptContent[c]);
  const correlations = new Map<string, string[]>();
  dataset.topics.forEach((topic, t) => {
    if (keptTopic[t] && isLinked(t)) correlations.set(topic.id, Array.from(dataset.links[t], (c) => dataset.content[c].id));
  });
  const out = buildDataset(topics, content, correlations);
  if (dataset.sampleTopics) out.sampleTopics = dataset.sampleTopics.filter((id) => out.topicIndex.has(id));
  if (dataset.columns) out.columns = dataset.columns;
  return out;
}
