/**
 * What several commands share: loading a dataset with a progress line,
 * building its forest, choosing the topics to predict and holding out topics
 * for evaluation.
 */
import { loadDataset } from '../data/lecr.ts';
import { buildForest, type TopicForest } from '../graph/forest.ts';
import { splitTopics, type Split, type SplitBy } from '../eval/split.ts';
import { UsageError } from '../errors.ts';
import { checkChoice } from '../options.ts';
import type { Dataset } from '../data/types.ts';
import { numberOption, optionalString, intOption, requireString, type ParsedArgs } from './command.ts';
import { connectionFromEnv, loadDatasetFromNeo4j, withNeo4j } from '../graph/neo4j.ts';

import { log } from './log.ts';

/** Status lines go to stderr (text, or JSON lines with --log-json), so stdout stays clean for results. */
export { log };

export interface LoadedData {
  dataset: Dataset;
  forest: TopicForest;
}

export const GRAPH_OPTION = { type: 'string', description: "where the topics, content and links come from: 'csv' (default, --data) or 'neo4j' (the graph 'trellis graph push' wrote; NEO4J_URI etc.)", valueName: 'SOURCE' } as const;

/** The --graph choice: 'csv' (default) or 'neo4j'. */
export function graphSource(args: ParsedArgs, command: string): 'csv' | 'neo4j' {
  return checkChoice(`trellis ${command}`, '--graph', optionalString(args, 'graph') ?? 'csv', ['csv', 'neo4j']);
}

/** The dataset from --data (CSV) or, with --graph neo4j, from the Neo4j graph. */
export async function loadDataFrom(args: ParsedArgs, command: string): Promise<LoadedData & { source: string }> {
  if (graphSource(args, command) === 'csv') {
    const dir = requireString(args, command, 'data');
    return { ...(await loadData(dir, args.values.lenient === true)), source: dir };
  }
  const t0 = performance.now();
  const connection = connectionFromEnv();
  log(`loading the dataset from Neo4j at ${connection.uri} ...`);
  const dataset = await withNeo4j((client) => loadDatasetFromNeo4j(client), connection);
  const forest = buildForest(dataset);
  loaded(dataset, t0);
  return { dataset, forest, source: 'neo4j' };
}

function loaded(dataset: Dataset, t0: number): void {
  const links = dataset.links.reduce((s, l) => s + l.length, 0);
  const seconds = (performance.now() - t0) / 1000;
  log(`loaded ${dataset.topics.length} topics, ${dataset.content.length} content items, ${links} links in ${seconds.toFixed(1)} s`,
    { topics: dataset.topics.length, content: dataset.content.length, links, seconds: Math.round(seconds * 1000) / 1000 });
}

export async function loadData(dir: string, lenient: boolean): Promise<LoadedData> {
  const t0 = performance.now();
  log(`loading ${dir} ...`);
  const dataset = await loadDataset(dir, { lenient });
  const forest = buildForest(dataset);
  loaded(dataset, t0);
  if (dataset.skippedCorrelations) log(`skipped ${dataset.skippedCorrelations} correlation rows that name unknown ids (--lenient)`);
  return { dataset, forest };
}

export const BACKEND_OPTION = { type: 'string', description: 'tfjs backend: auto (default), gpu, node, wasm or cpu (or set TRELLIS_BACKEND)', valueName: 'NAME' } as const;

export const SPLIT_OPTIONS = {
  holdout: { type: 'string', description: 'hold out this fraction of the topics with content for evaluation, e.g. 0.25 (their links are hidden)', valueName: 'F' },
  'split-by': { type: 'string', description: "what to hold out: 'topic' (default) or 'channel' (whole channels)", valueName: 'KIND' },
} as const;

/** The split the flags ask for, or undefined without --holdout. */
export function splitFromArgs(args: ParsedArgs, command: string, dataset: Dataset, seed: number): Split | undefined {
  const by = checkChoice(`trellis ${command}`, '--split-by', optionalString(args, 'split-by') ?? 'topic', ['topic', 'channel'] as SplitBy[]);
  if (args.values.holdout === undefined) {
    if (args.values['split-by'] !== undefined) throw new UsageError(`trellis ${command}: --split-by needs --holdout.`);
    return undefined;
  }
  const fraction = numberOption(args, command, 'holdout', 0.25, 0.001, 0.999);
  const split = splitTopics(dataset, { fraction, by, seed });
  log(`holding out ${split.heldOut.length} of ${split.heldOut.length + split.train.length} topics with content (split by ${by}, seed ${seed})`);
  return split;
}

export function seedFromArgs(args: ParsedArgs, command: string): number {
  return intOption(args, command, 'seed', 42, 0, 2 ** 32 - 1);
}

/** Topic rows to predict: held-out topics, else sample_submission.csv's, else every topic. */
export function topicsToPredict(dataset: Dataset, split: Split | undefined): Uint32Array {
  if (split) return split.heldOut;
  if (dataset.sampleTopics) return Uint32Array.from(dataset.sampleTopics, (id) => dataset.topicIndex.get(id)!);
  return Uint32Array.from(dataset.topics.keys());
}
