/**
 * Held-out evaluation splits. Evaluation is always on held-out topics: their
 * links are hidden from training and used as the answers.
 *
 * - by topic: a seeded fraction of the topics that have content;
 * - by channel: whole channels, taken in seeded order whenever one brings the
 *   held-out share closer to the fraction, so that no tree is seen on both
 *   sides.
 */
import { UsageError } from '../errors.ts';
import { rngFor, shuffleInPlace } from '../random.ts';
import type { Dataset } from '../data/types.ts';

export type SplitBy = 'topic' | 'channel';

export interface Split {
  /** Links visible to training (held-out topics have none). [topics] */
  trainLinks: Uint32Array[];
  /** Held-out topic rows, sorted. */
  heldOut: Uint32Array;
  /** Training topic rows that have links, sorted. */
  train: Uint32Array;
}

export interface SplitOptions {
  /** Share of linked topics to hold out, in (0, 1). Default 0.25. */
  fraction?: number;
  /** Default 'topic'. */
  by?: SplitBy;
  /** Default 42. */
  seed?: number;
  /** Only consider these topic rows (e.g. training topics, for a validation split). */
  among?: ArrayLike<number>;
}

export function splitTopics(dataset: Dataset, options: SplitOptions = {}, links: Uint32Array[] = dataset.links): Split {
  const fraction = options.fraction ?? 0.25;
  const by = options.by ?? 'topic';
  const seed = options.seed ?? 42;
  if (!(fraction > 0 && fraction < 1)) throw new UsageError(`split: the holdout fraction must be in (0, 1) (got ${fraction}).`);
  const pool = options.among ? Array.from(options.among) : dataset.topics.map((_, t) => t);
  const linked = pool.filter((t) => links[t].length > 0);
  if (linked.length < 2) throw new UsageError(`split: at least 2 topics with content are needed to hold some out (got ${linked.length}).`);
  const held = new Set<number>();
  if (by === 'topic') {
    const order = shuffleInPlace(linked.slice(), rngFor(seed, 'split/topic'));
    const count = Math.min(linked.length - 1, Math.max(1, Math.round(fraction * linked.length)));
    for (let i = 0; i < count; i++) held.add(order[i]);
  } else {
    const byChannel = new Map<string, number[]>();
    for (const t of linked) {
      const c = dataset.topics[t].channel;
      if (!byChannel.has(c)) byChannel.set(c, []);
      byChannel.get(c)!.push(t);
    }
    if (byChannel.size < 2) {
      throw new UsageError(`split: --split-by channel needs at least 2 channels with content (got ${byChannel.size}).`, 'Use --split-by topic for a single-channel dataset.');
    }
    const channels = shuffleInPlace([...byChannel.keys()].sort(), rngFor(seed, 'split/channel'));
    const target = fraction * linked.length;
    // In seeded order, take a channel when it brings the held-out count closer to the target.
    for (const c of channels) {
      const size = byChannel.get(c)!.length;
      if (held.size + size >= linked.length) continue;
      if (Math.abs(held.size + size - target) >= Math.abs(held.size - target)) continue;
      for (const t of byChannel.get(c)!) held.add(t);
    }
    if (held.size === 0) {
      // Every channel alone overshoots: hold out the smallest one.
      const smallest = channels.reduce((a, b) => (byChannel.get(b)!.length < byChannel.get(a)!.length ? b : a));
      for (const t of byChannel.get(smallest)!) held.add(t);
    }
  }
  const empty = new Uint32Array(0);
  const trainLinks = links.map((l, t) => (held.has(t) ? empty : l));
  const heldOut = Uint32Array.from(held).sort();
  const train = Uint32Array.from(linked.filter((t) => !held.has(t))).sort();
  return { trainLinks, heldOut, train };
}

/** Answers of the held-out topics as topic id -> gold content rows. */
export function answersOf(dataset: Dataset, topics: ArrayLike<number>, links: Uint32Array[] = dataset.links): Map<string, Uint32Array> {
  const answers = new Map<string, Uint32Array>();
  for (let i = 0; i < topics.length; i++) answers.set(dataset.topics[topics[i]].id, links[topics[i]]);
  return answers;
}
