/**
 * What the towers read, built once per dataset: TF-IDF feature rows of every
 * topic and content text (one fit shared with the lexical retriever), content
 * kind and language ids, the neighbour index of the topic forest, and the
 * links training may see. Plus the batch builders that turn rows into tower
 * inputs, and batched embedding of topics and content.
 */
import { tf } from '../runtime/tf.ts';
import { textBatch, topFeatures, type TextBatch } from './text-encoder.ts';
import { localize } from '../runtime/variables.ts';
import { tidyRead } from '../runtime/ops.ts';
import type { NeighbourBlock } from './sage-conv.ts';
import type { CandidateInput, QueryInput, TwoTowerModel } from './two-tower.ts';
import { buildNeighbourIndex, layerEdges, linkingTopics, sampleLinkedContent, sampleLinkingTopics, sampleNeighbours, type ContentSample, type NeighbourIndex, type SamplerOutput } from '../graph/sampler.ts';
import { transformTfidf, type SparseRows, type TfidfModel } from '../text/tfidf.ts';
import { contentText, topicText } from '../text/documents.ts';
import type { Rng } from '../random.ts';
import type { Content, Dataset } from '../data/types.ts';
import type { TopicForest } from '../graph/forest.ts';

export interface TowerData {
  dataset: Dataset;
  forest: TopicForest;
  neighbours: NeighbourIndex;
  topicFeatures: SparseRows;
  contentFeatures: SparseRows;
  /** Kind id per content row; `kinds[id]` names it. */
  kindIds: Int32Array;
  kinds: string[];
  /** Language id per content row; `languages[id]` names it. */
  languageIds: Int32Array;
  languages: string[];
  /** Pretrained sentence vectors of every topic and content text (encoder kind 'pretrained'). */
  pretrained?: PretrainedVectors;
  /** graphsage.contentTopics: the topics each item's candidate vector reads (see `withContentTopics`). */
  contentTopics?: ContentTopics;
}

/**
 * What a candidate tower with graphsage.contentTopics reads besides the item:
 * per content row, the topic rows whose visible links hold it, and the
 * topics' tower inputs. Absent (or an item's list empty), the item reads no
 * topic.
 */
export interface ContentTopics {
  linking: readonly Uint32Array[];
  perItem: number;
  topics: Pick<TowerData, 'topicFeatures' | 'pretrained'>;
}

/**
 * `data` with the topics each item's candidate vector reads, from `links`
 * (per topic row; hidden topics' lists empty), when `model` reads them; else
 * `data` itself.
 */
export function withContentTopics<T extends TowerData>(model: TwoTowerModel, data: T, links: readonly Uint32Array[]): T {
  const perItem = model.shape.contentTopics ?? 0;
  if (perItem === 0) return data;
  return { ...data, contentTopics: { linking: linkingTopics(links, data.dataset.content.length), perItem, topics: data } };
}

/**
 * Row-major sentence vectors: topics [topics * dim], content [content * dim];
 * or, when the encoder is fine-tuned, the token ids it reads instead.
 */
export interface PretrainedVectors {
  dim: number;
  topics: Float32Array;
  content: Float32Array;
  tokens?: { topics: Int32Array[]; content: Int32Array[] };
}

/** Rows `rows` of a row-major [*, dim] matrix. */
export function gatherVectors(vectors: Float32Array, dim: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let i = 0; i < rows.length; i++) out.set(vectors.subarray(rows[i] * dim, (rows[i] + 1) * dim), i * dim);
  return out;
}

function withPretrained(data: Pick<TowerData, 'pretrained'>, batch: TextBatch, rows: ArrayLike<number>, side: 'topics' | 'content'): TextBatch {
  const p = data.pretrained;
  if (!p) return batch;
  if (p.tokens) return { ...batch, tokens: Array.from(rows, (r) => p.tokens![side][r]) };
  return { ...batch, dense: gatherVectors(p[side], p.dim, rows) };
}

function vocabulary(values: readonly string[], known?: readonly string[]): { ids: Int32Array; names: string[] } {
  // Id 0 is reserved for values the model has not seen (a new kind at recommend time).
  const names = known ? [...known] : ['', ...[...new Set(values)].filter((v) => v !== '').sort()];
  const index = new Map(names.map((n, i) => [n, i]));
  return { ids: Int32Array.from(values, (v) => index.get(v) ?? 0), names };
}

/**
 * Builds the tower inputs of a dataset. `tfidf` is the fitted TF-IDF model of
 * the content texts; each text keeps its `maxFeatures` strongest features;
 * `kinds`/`languages` are the vocabularies a trained model was built with
 * (omit them when training).
 */
export function buildTowerData(dataset: Dataset, forest: TopicForest, tfidf: TfidfModel, maxFeatures: number, contentFeatures?: SparseRows, kinds?: readonly string[], languages?: readonly string[]): TowerData {
  const topicTexts = dataset.topics.map((_, t) => topicText(dataset, forest, t));
  return {
    dataset,
    forest,
    neighbours: buildNeighbourIndex(forest),
    topicFeatures: topFeatures(transformTfidf(tfidf, topicTexts), maxFeatures),
    ...contentInputs(dataset.content, tfidf, maxFeatures, contentFeatures, kinds, languages),
  };
}

/** What the candidate tower reads of content items: the tower data's content half. */
export type ContentInputs = Pick<TowerData, 'contentFeatures' | 'kindIds' | 'kinds' | 'languageIds' | 'languages' | 'pretrained' | 'contentTopics'>;

/** The candidate tower's inputs of `content` (see buildTowerData), without the topics. */
export function contentInputs(content: readonly Content[], tfidf: TfidfModel, maxFeatures: number, contentFeatures?: SparseRows, kinds?: readonly string[], languages?: readonly string[]): ContentInputs {
  const kind = vocabulary(content.map((c) => c.kind), kinds);
  const language = vocabulary(content.map((c) => c.language), languages);
  return {
    contentFeatures: topFeatures(contentFeatures ?? transformTfidf(tfidf, content.map((c) => contentText(c))), maxFeatures),
    kindIds: kind.ids,
    kinds: kind.names,
    languageIds: language.ids,
    languages: language.names,
  };
}

/**
 * The candidate tower's inputs of some content rows only, as tower data of
 * their own (row i is `rows[i]`): what encoding a catalogue's new items reads.
 */
export function contentSubset(data: ContentInputs, rows: ArrayLike<number>): ContentInputs {
  const m = data.contentFeatures;
  const indptr = new Uint32Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) indptr[i + 1] = indptr[i] + m.indptr[rows[i] + 1] - m.indptr[rows[i]];
  const indices = new Uint32Array(indptr[rows.length]);
  const values = new Float32Array(indptr[rows.length]);
  for (let i = 0; i < rows.length; i++) {
    indices.set(m.indices.subarray(m.indptr[rows[i]], m.indptr[rows[i] + 1]), indptr[i]);
    values.set(m.values.subarray(m.indptr[rows[i]], m.indptr[rows[i] + 1]), indptr[i]);
  }
  const p = data.pretrained;
  return {
    ...data,
    // Items encoded after training (new or edited) read no topics (graphsage.contentTopics).
    contentTopics: undefined,
    contentFeatures: { rows: rows.length, indptr, indices, values },
    kindIds: Int32Array.from(rows, (r) => data.kindIds[r]),
    languageIds: Int32Array.from(rows, (r) => data.languageIds[r]),
    ...(p ? { pretrained: { ...p, content: gatherVectors(p.content, p.dim, rows), tokens: p.tokens && { topics: p.tokens.topics, content: Array.from(rows, (r) => p.tokens!.content[r]) } } } : {}),
  };
}

/** The edges GraphSAGE layer `layer` reads from a sample. */
export function neighbourBlock(sample: SamplerOutput, layer: number): NeighbourBlock {
  const { row, col, numTargets } = layerEdges(sample, layer);
  return blockOf(row, col, numTargets);
}

/** The edges seed <- item of the content a sample reached through the neighbours' links. */
export function contentBlock(sample: ContentSample): NeighbourBlock {
  return blockOf(sample.row, sample.col, sample.numTargets);
}

function blockOf(row: Uint32Array, col: Uint32Array, numTargets: number): NeighbourBlock {
  const degree = new Float32Array(numTargets);
  for (let e = 0; e < row.length; e++) degree[row[e]]++;
  let fanout = 1;
  const inverseDegree = new Float32Array(numTargets);
  for (let t = 0; t < numTargets; t++) {
    if (degree[t] > fanout) fanout = degree[t];
    inverseDegree[t] = degree[t] > 0 ? 1 / degree[t] : 0;
  }
  return { targets: numTargets, row: Int32Array.from(row), col: Int32Array.from(col), inverseDegree, fanout };
}

/**
 * The content half of a heterogeneous neighbourhood: items drawn from each
 * sampled neighbour topic's link list. `links` are the links that may be seen
 * where the queries are used: in training the training topics' (validation
 * and held-out topics' lists empty), at recommend time the dataset's but the
 * held-out topics'. A seed's own list is never read (graph/sampler.ts).
 */
export interface LinkedContent {
  perTopic: number;
  links: readonly Uint32Array[];
}

/**
 * Query tower input for `seeds` (unique topic rows): their sampled
 * neighbourhoods (and, with `content`, the items their neighbours link), or
 * just them without GraphSAGE.
 */
export function queryInput(data: TowerData, seeds: Uint32Array, fanouts: readonly number[] | undefined, rng: Rng, vocab: number, content?: LinkedContent): QueryInput {
  if (!fanouts || fanouts.length === 0) return { nodes: withPretrained(data, textBatch(data.topicFeatures, seeds, vocab), seeds, 'topics'), blocks: [] };
  const sample = sampleNeighbours(data.neighbours, seeds, fanouts, rng);
  const input: QueryInput = {
    nodes: withPretrained(data, textBatch(data.topicFeatures, sample.nodes, vocab), sample.nodes, 'topics'),
    blocks: fanouts.map((_, layer) => neighbourBlock(sample, layer)),
  };
  if (content) {
    const items = sampleLinkedContent(sample, content.links, content.perTopic, rng);
    // The neighbours' items as text-only candidate vectors: an item's own topics would bring the seed's text back.
    input.content = { input: candidateInput({ ...data, contentTopics: undefined }, items.content, vocab), block: contentBlock(items) };
  }
  return input;
}

/** The content a model's query tower reads through the neighbours' `links` (hetero aggregators), else undefined. */
export function linkedContent(model: TwoTowerModel, links: readonly Uint32Array[] | undefined): LinkedContent | undefined {
  if (!model.readsLinks) return undefined;
  if (!links) throw new Error(`embedTopics: a model with GraphSAGE '${model.shape.graphsage}' reads the neighbours' links; pass the visible links`);
  return { perTopic: model.shape.contentFanout ?? 1, links };
}

/**
 * Candidate tower input for content rows; with `data.contentTopics`, the
 * topics each item reads too (drawn with `rng` in training, evenly spaced
 * without it; never a `blocked` topic).
 */
export function candidateInput(data: ContentInputs, rows: ArrayLike<number>, vocab: number, rng?: Rng, blocked?: ReadonlySet<number>): CandidateInput {
  const input: CandidateInput = {
    text: withPretrained(data, textBatch(data.contentFeatures, rows, vocab), rows, 'content'),
    kinds: Int32Array.from(rows as ArrayLike<number>, (r) => data.kindIds[r]),
    languages: Int32Array.from(rows as ArrayLike<number>, (r) => data.languageIds[r]),
  };
  const linked = data.contentTopics;
  if (linked) {
    const sample = sampleLinkingTopics(linked.linking, rows, linked.perItem, rng, blocked);
    input.topics = { nodes: withPretrained(linked.topics, textBatch(linked.topics.topicFeatures, sample.topics, vocab), sample.topics, 'topics'), block: blockOf(sample.row, sample.col, sample.numTargets) };
  }
  return input;
}

/** Content embeddings of `rows` (default all), row-major. [rows.length * D] */
export function embedContent(model: TwoTowerModel, data: ContentInputs, rows?: ArrayLike<number>, batchSize = 2048, onProgress?: (done: number, total: number) => void): Float32Array {
  const all = rows ?? Uint32Array.from({ length: data.contentFeatures.rows }, (_, i) => i);
  const d = model.shape.encoder.dim;
  const out = new Float32Array(all.length * d);
  for (let start = 0; start < all.length; start += batchSize) {
    const end = Math.min(all.length, start + batchSize);
    const slice = Array.prototype.slice.call(all, start, end) as number[];
    const input = candidateInput(data, slice, model.shape.encoder.vocab);
    const { unique, local } = localize([input.text.ids, input.topics?.nodes.ids ?? new Int32Array(0)]);
    const values = tidyRead(() => {
      const table = model.encoder.embedding.gather(unique);
      return model.candidates(input, { rows: table, local: local[0] }, { rows: table, local: local[1] });
    });
    out.set(values, start * d);
    onProgress?.(end, all.length);
  }
  return out;
}

/**
 * Topic embeddings of `topics`, row-major [topics.length * D]. Neighbourhoods
 * are sampled with `rng` (seeded by the caller, so the result is repeatable).
 * `links`: the links that may be seen, which a hetero aggregator reads
 * (required then; see `LinkedContent`).
 */
export function embedTopics(model: TwoTowerModel, data: TowerData, topics: ArrayLike<number>, fanouts: readonly number[] | undefined, rng: Rng, links?: readonly Uint32Array[], batchSize = 512): Float32Array {
  const content = linkedContent(model, links);
  const d = model.shape.encoder.dim;
  const out = new Float32Array(topics.length * d);
  for (let start = 0; start < topics.length; start += batchSize) {
    const end = Math.min(topics.length, start + batchSize);
    const seeds = Uint32Array.from(Array.prototype.slice.call(topics, start, end) as number[]);
    // Seeds must be unique for the sampler; map duplicates back afterwards.
    const unique = [...new Set(seeds)];
    const position = new Map(unique.map((t, i) => [t, i]));
    const input = queryInput(data, Uint32Array.from(unique), model.readsNeighbours ? fanouts : undefined, rng, model.shape.encoder.vocab, content);
    const rows = localize([input.nodes.ids, input.content?.input.text.ids ?? new Int32Array(0)]);
    const values = tidyRead(() => {
      const table = model.encoder.embedding.gather(rows.unique);
      return model.queries(input, { rows: table, local: rows.local[0] }, { rows: table, local: rows.local[1] });
    });
    for (let i = 0; i < seeds.length; i++) out.set(values.subarray(position.get(seeds[i])! * d, (position.get(seeds[i])! + 1) * d), (start + i) * d);
  }
  return out;
}
