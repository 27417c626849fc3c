/**
 * Candidate retrieval with a trained model: the two-tower model's ANN index
 * joined with lexical candidates, fused into one ranked list per topic.
 */
import { join } from 'node:path';
import { PartitionedIndex } from '../ann/partitioned.ts';
import { normalizeRows } from '../ann/brute-force.ts';
import { buildLexicalIndex, lexicalSearch, lexicalSearchParallel, type LexicalIndex } from '../retrieval/lexical.ts';
import { externalNeuralSearch, neuralSearch, topicQueries, sentenceCosines, sentenceIndex, sentenceSearch, type ExternalSearch } from '../retrieval/neural.ts';
import { buildTowerData, contentSubset, embedContent, type PretrainedVectors, type TowerData } from '../models/tower-data.ts';
import { fusionPool, poolGeometry, poolUnion, scorePool, type FusionLists, type FusionModel, type FusionPool, type TowerVectors } from '../retrieval/fusion.ts';
import { hubnessParallel, topicIndex, HUB_EXACT_PAIRS } from '../retrieval/hubness.ts';
import { type RetrievalConfig } from '../retrieval/config.ts';
import type { TwoTowerModel } from '../models/two-tower.ts';
import { checkDataset, loadContentIndex, loadLexical, loadReranker, loadTwoTower, rerankerDir, type ModelFolder, type ModelMeta } from './artifact.ts';
import { applyChanges, catalogueDrift, diffCatalogue, hasChanges, type CatalogueChanges, type Drift } from './catalogue.ts';
import { RecommendationTableBuilder, type RecommendationTable } from '../io/table.ts';
import { FEATURE_NAMES, linkContext, rerankContext, rerankTable, type LinkContext } from './rerank.ts';
import type { DecisionRule } from '../rerank/threshold.ts';
import type { ExpectedF2Cutoff } from '../rerank/cutoff.ts';
import { perTopicCutoff } from '../rerank/config.ts';
import type { Dataset } from '../data/types.ts';
import { ConfigError, DataError } from '../errors.ts';
import { attachPretrained, checkPretrainedId, fineTuneInputs, locatePretrained, pretrainedFeatures } from '../models/pretrained-features.ts';
import { embedContentParallel } from '../models/encode-worker.ts';
import { connectionFromEnv, Neo4jVectorIndex, pushEmbeddings, withNeo4j } from '../graph/neo4j.ts';
import type { TopicForest } from '../graph/forest.ts';
import { fuseCandidates, retrievalExplanation, withUnplaced, type Candidates, type FusedCandidates } from '../retrieval/candidates.ts';

/** Everything retrieval needs, loaded once: the model, its content index, the lexical index, tower inputs. */
export interface Retriever {
  model: TwoTowerModel;
  meta: ModelMeta;
  index: PartitionedIndex;
  lexical: LexicalIndex;
  data: TowerData;
  /** The exact index over the pretrained sentence vectors (retrieval.sentenceTopK), built on first use. */
  sentenceIndex?: PartitionedIndex;
  /** The fitted fusion (retrieval.fusion 'learned'): loaded with the model, or set by training once fitted. */
  fusion?: FusionModel;
  /** The towers' vectors the learned fusion reads, filled on first use. */
  vectors?: TowerVectors;
  /** Dataset row of each index label, -1 for removed items, and the label of each row; absent when the labels are the rows. */
  rowOfLabel?: Int32Array;
  labelOfRow?: Uint32Array;
  /** Scratch: the position of a content row among a pool chunk's rows (-1 when absent). */
  localRows?: Int32Array;
  /** How the catalogue changed since the index was built and drifted since training (models with catalogue.json). */
  catalogue?: { changes: CatalogueChanges; drift: Drift };
}

/**
 * Loads a trained model and its content index for `dataset`. The dataset may
 * have changed since training (new, edited or removed items and topics, new
 * languages: pipeline/catalogue.ts): the index is brought up to date in
 * memory (only changed items are encoded), and `trellis update` saves it.
 * A model saved before catalogues could grow serves its training catalogue only.
 */
export async function loadRetriever(folder: ModelFolder, dataset: Dataset, forest: TopicForest, options: { log?: (line: string) => void; onEncode?: (done: number, total: number) => void } = {}): Promise<Retriever> {
  const { meta, dir: modelDir, catalogue } = folder;
  if (!catalogue) checkDataset(modelDir, meta, dataset);
  const changes = catalogue ? diffCatalogue(catalogue, dataset, modelDir) : undefined;
  const pretrainedDir = meta.pretrained && (await locatePretrained(modelDir, meta.pretrained, { log: options.log }));
  const model = await loadTwoTower(folder, undefined, pretrainedDir);
  try {
    const index = loadContentIndex(folder);
    const lexical = buildLexicalIndex(dataset, meta.config.lexical, await loadLexical(folder));
    const data = buildTowerData(dataset, forest, lexical.model, meta.config.encoder.maxFeatures, lexical.contentFeatures, meta.kinds, meta.languages);
    if (meta.pretrained && meta.shape.fineTuneLayers) {
      // The fine-tuned encoder came with the model (loadModel); the towers read token ids.
      const { vectors, sentence } = await fineTuneInputs(dataset, forest, { ...meta.config.encoder, model: pretrainedDir!, fineTuneLayers: 0 });
      sentence.dispose();
      attachPretrained(data, vectors, meta.config.encoder.bag);
    } else if (meta.pretrained) {
      const features = await pretrainedFeatures(dataset, forest, { ...meta.config.encoder, model: pretrainedDir! }, { log: options.log, onProgress: options.onEncode });
      checkPretrainedId(modelDir, meta.pretrained, features.info.id);
      attachPretrained(data, features.vectors, meta.config.encoder.bag);
    }
    if (changes && hasChanges(changes)) {
      const t0 = performance.now();
      const vectors = await embedContentParallel(model, contentSubset(data, changes.encode));
      applyChanges(index, changes, dataset, vectors);
      options.log?.(`content index brought up to date: ${changes.encode.length} items encoded, ${changes.takeOut.length} taken out, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const drift = catalogue && catalogueDrift(catalogue, dataset);
    return { model, meta, index, lexical, data, fusion: folder.fusion, rowOfLabel: changes?.rowOfLabel, labelOfRow: changes?.labelOfRow, catalogue: changes && drift && { changes, drift } };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

export interface RetrieveOptions {
  /**
   * Neural candidates per topic (default: the model's retrieval.topK); with
   * the learned fusion, the fused candidates kept per topic (default: its
   * retrieval.fusedTopK).
   */
  topK?: number;
  /** Lexical candidates per topic (default: the model's retrieval.lexicalTopK). */
  lexicalTopK?: number;
  /** Search this index instead of the model's own HNSW index (e.g. Neo4j's vector index). */
  external?: ExternalSearch;
  /**
   * The links the unplaced candidates (`retrieval.unplacedTopK`) and the
   * learned fusion's placement and graph features may read (default: the
   * dataset's links but the model's held-out topics').
   */
  visible?: VisibleLinks;
  log?: (line: string) => void;
  /** Progress of the long loops: `step` ('lexical search', 'rerank') has `done` of `total` topics finished. */
  onProgress?: (step: string, done: number, total: number) => void;
}

/** Topics per chunk of the loops that report progress. */
const PROGRESS_CHUNK = 256;
/** From this many topics on, lexical search runs on one worker thread per core. */
const PARALLEL_LEXICAL = 4096;
/** Topics whose learned-fusion pools are built at once. */
const FUSION_CHUNK = 4096;

/** The links a model could see: all but its held-out topics'. */
export function modelContext(dataset: Dataset, heldOut: readonly string[]): LinkContext {
  const hidden = new Set(heldOut.map((id) => dataset.topicIndex.get(id)));
  return linkContext(dataset, dataset.links.map((l, t) => (hidden.has(t) ? new Uint32Array(0) : l)));
}

/** The pretrained sentence vectors the towers read, if any (not the token ids of a fine-tuned encoder). */
export function sentenceVectors(data: TowerData): PretrainedVectors | undefined {
  return data.pretrained && !data.pretrained.tokens ? data.pretrained : undefined;
}

/** Links a retrieval may read: per-topic link lists and per-content counts (a LinkContext). */
export type VisibleLinks = Pick<LinkContext, 'links' | 'popularity'>;

/** How deep the ranked lists behind the candidates go: the rank the reranker's features give an absent item. */
export function candidateDepth(config: RetrievalConfig, topK = config.topK): number {
  // Models saved before retrieval.fusion existed have no such key.
  return config.fusion === 'learned' ? config.fusionDepth : topK;
}

/** Lexical top-k lists of topic rows, on worker threads for many topics. */
async function lexicalLists(retriever: Retriever, topics: Uint32Array, k: number, options: RetrieveOptions): Promise<Candidates[]> {
  const { lexical, data } = retriever;
  const { dataset, forest } = data;
  if (k === 0) return Array.from(topics, () => ({ rows: new Uint32Array(0), scores: new Float32Array(0) }));
  options.onProgress?.('lexical search', 0, topics.length);
  if (topics.length >= PARALLEL_LEXICAL) {
    return lexicalSearchParallel(lexical, dataset, forest, topics, k, { onProgress: (done, total) => options.onProgress?.('lexical search', done, total) });
  }
  // Topic by topic, so chunks give the same lists as one call.
  const lists: Candidates[] = [];
  for (let at = 0; at < topics.length; at += PROGRESS_CHUNK) {
    const chunk = topics.subarray(at, Math.min(topics.length, at + PROGRESS_CHUNK));
    for (const list of lexicalSearch(lexical, dataset, forest, chunk, k)) lists.push(list);
    options.onProgress?.('lexical search', at + chunk.length, topics.length);
  }
  return lists;
}

/**
 * The query-tower vectors of topic rows (neighbourhoods sampled from the
 * model's seed); a hetero aggregator reads the `visible` links (default: the
 * dataset's but the model's held-out topics'). [topics * D]
 */
function queriesOf(retriever: Retriever, topics: Uint32Array, visible?: VisibleLinks): Float32Array {
  const { model, meta, data } = retriever;
  const links = model.readsLinks ? (visible ?? modelContext(data.dataset, meta.heldOut)).links : undefined;
  return topicQueries(model, data, topics, meta.config.graphsage.fanouts, meta.seed, links);
}

/** Neural top-`depth` lists of topic rows for their `queries`, from the model's index (or an external one). */
async function neuralLists(retriever: Retriever, topics: Uint32Array, queries: Float32Array, depth: number, options: RetrieveOptions): Promise<Candidates[]> {
  const { index, data } = retriever;
  return options.external ? externalNeuralSearch(options.external, data, topics, queries, depth) : neuralSearch(data, index, topics, queries, depth, retriever.rowOfLabel);
}

/** Top-`k` lists over the pretrained sentence vectors (exact index built on first use). */
function sentenceLists(retriever: Retriever, sentence: PretrainedVectors, topics: Uint32Array, k: number): Candidates[] {
  retriever.sentenceIndex ??= sentenceIndex(sentence, retriever.data);
  return sentenceSearch(sentence, retriever.data, retriever.sentenceIndex, topics, k);
}

/** Fused neural + lexical (+ sentence-vector) candidates for topic rows: reciprocal rank fusion or the learned fusion. */
export async function retrieve(retriever: Retriever, topics: Uint32Array, options: RetrieveOptions = {}): Promise<FusedCandidates[]> {
  const config = retriever.meta.config.retrieval;
  if (config.fusion === 'learned') {
    const fusion = retriever.fusion;
    if (!fusion) throw new Error('retrieve: learned fusion without a fitted fusion model');
    const keep = options.topK ?? config.fusedTopK;
    // In chunks: a pool holds a few hundred items and their features per topic.
    const out: FusedCandidates[] = [];
    const seconds = { neural: 0, lexical: 0, fusion: 0 };
    for (let at = 0; at < topics.length; at += FUSION_CHUNK) {
      const onProgress = options.onProgress && ((step: string, done: number) => options.onProgress!(step, at + done, topics.length));
      const pools = await fusionPools(retriever, topics.subarray(at, Math.min(topics.length, at + FUSION_CHUNK)), { ...options, onProgress }, seconds);
      for (const pool of pools) out.push(scorePool(pool, fusion, keep));
    }
    options.log?.(`retrieved candidates for ${topics.length} topics, ${config.fusionDepth} deep (${poolTimes(seconds, config.sentenceTopK > 0 && sentenceVectors(retriever.data) !== undefined)})`);
    return out;
  }
  const { meta, data } = retriever;
  const t0 = performance.now();
  const topK = options.topK ?? config.topK;
  // Models saved before retrieval.unplacedTopK existed have no such key.
  const unplaced = config.unplacedTopK ?? 0;
  const depth = unplaced > 0 ? Math.max(topK, config.unplacedDepth) : topK;
  let neural = await neuralLists(retriever, topics, queriesOf(retriever, topics, options.visible), depth, options);
  const placed = unplaced > 0 ? (options.visible ?? modelContext(data.dataset, meta.heldOut)).popularity : undefined;
  if (placed) neural = neural.map((list) => withUnplaced(list, topK, unplaced, placed));
  // Sentence vectors the towers read (not token ids of a fine-tuned encoder): a third candidate list and the reranker's cosine.
  const sentence = sentenceVectors(data);
  // Models saved before retrieval.sentenceTopK existed have no such key.
  const sentenceTopK = sentence ? config.sentenceTopK ?? 0 : 0;
  let sentenceCandidates: Candidates[] | undefined;
  if (sentence && sentenceTopK > 0) {
    const lists = sentenceLists(retriever, sentence, topics, placed ? Math.max(sentenceTopK, config.unplacedDepth) : sentenceTopK);
    sentenceCandidates = placed ? lists.map((list) => withUnplaced(list, sentenceTopK, unplaced, placed)) : lists;
  }
  const t1 = performance.now();
  const lexical = await lexicalLists(retriever, topics, options.lexicalTopK ?? config.lexicalTopK, options);
  const t2 = performance.now();
  options.log?.(`retrieved candidates for ${topics.length} topics (neural ${((t1 - t0) / 1000).toFixed(1)} s${sentenceCandidates ? ' with sentence vectors' : ''}, lexical ${((t2 - t1) / 1000).toFixed(1)} s)`);
  return neural.map((list, i) => {
    const fused = fuseCandidates(list, lexical[i], sentenceCandidates?.[i]);
    if (sentence) fused.sentence = sentenceCosines(sentence, topics[i], fused.rows);
    return fused;
  });
}

/**
 * The learned fusion's pools of topic rows: every list searched
 * `retrieval.fusionDepth` deep (lexical when lexicalTopK > 0, sentence
 * vectors when sentenceTopK > 0), joined, with the fusion features.
 */
export async function fusionPools(retriever: Retriever, topics: Uint32Array, options: RetrieveOptions = {}, seconds?: { neural: number; lexical: number; fusion: number }): Promise<FusionPool[]> {
  const { meta, data } = retriever;
  const config = meta.config.retrieval;
  const depth = config.fusionDepth;
  const t0 = performance.now();
  // One set of query vectors: the neural lists and the neural cosine feature must agree.
  const queries = queriesOf(retriever, topics, options.visible);
  const neural = await neuralLists(retriever, topics, queries, depth, options);
  const sentence = sentenceVectors(data);
  const sentenceCandidates = sentence && config.sentenceTopK > 0 ? sentenceLists(retriever, sentence, topics, depth) : undefined;
  const t1 = performance.now();
  const lexical = await lexicalLists(retriever, topics, options.lexicalTopK ?? (config.lexicalTopK > 0 ? depth : 0), options);
  const t2 = performance.now();
  const lists = neural.map((list, i): FusionLists => ({
    neural: list, lexical: lexical[i], sentence: sentenceCandidates?.[i],
    sentenceCosines: sentence && ((rows) => sentenceCosines(sentence, topics[i], rows)),
  }));
  const unions = lists.map(poolUnion);
  const { vectors, content, local } = await towerVectors(retriever, unions.map((u) => u.rows), options.visible);
  const dim = vectors.dim;
  const unit = normalizeRows('learned fusion', queries, topics, dim);
  const queryOf = (i: number) => unit.subarray(i * dim, (i + 1) * dim);
  const geometry = poolGeometry(unions.map((u, i) => ({ t: topics[i], query: queryOf(i), rows: u.rows })), data.forest, vectors.topics, content, local, dim);
  const visible = options.visible ?? modelContext(data.dataset, meta.heldOut);
  const context = { forest: data.forest, links: visible.links, popularity: visible.popularity, vectors };
  const pools = lists.map((l, i) => fusionPool(topics[i], { ...l, query: queryOf(i) }, context, depth, { union: unions[i], geometry: geometry[i] }));
  const spent = { neural: (t1 - t0) / 1000, lexical: (t2 - t1) / 1000, fusion: (performance.now() - t2) / 1000 };
  if (seconds) for (const key of ['neural', 'lexical', 'fusion'] as const) seconds[key] += spent[key];
  else options.log?.(`retrieved candidates for ${topics.length} topics, ${depth} deep (${poolTimes(spent, sentenceCandidates !== undefined)})`);
  return pools;
}

function poolTimes(seconds: { neural: number; lexical: number; fusion: number }, sentence: boolean): string {
  return `neural ${seconds.neural.toFixed(1)} s${sentence ? ' with sentence vectors' : ''}, lexical ${seconds.lexical.toFixed(1)} s, learned fusion ${seconds.fusion.toFixed(1)} s`;
}

/**
 * The unit-length query vectors of every topic (computed once per
 * retriever, under the first call's `visible` links: a retriever serves one set), the hubness of every content row of `pools` (computed once per
 * retriever and row), and those rows' candidate vectors, read from the
 * content index (which holds them already: nothing is encoded again), in
 * `content` at rows `local[row]`.
 */
async function towerVectors(retriever: Retriever, pools: readonly Uint32Array[], visible?: VisibleLinks): Promise<{ vectors: TowerVectors; content: Float32Array; local: Int32Array }> {
  const { data, index } = retriever;
  const dim = index.dim;
  const items = data.dataset.content.length;
  if (!retriever.vectors) {
    const all = Uint32Array.from(data.dataset.topics.keys());
    const topics = normalizeRows('learned fusion', queriesOf(retriever, all, visible), all, dim);
    retriever.vectors = { dim, topics, hub: new Float32Array(items), hubReady: new Uint8Array(items) };
  }
  const vectors = retriever.vectors;
  // The pools' rows, each once, and where each sits in `content`.
  const local = (retriever.localRows ??= new Int32Array(items).fill(-1));
  const rows: number[] = [];
  for (const pool of pools) for (const row of pool) if (local[row] < 0) local[row] = rows.push(row) - 1;
  const labels = retriever.labelOfRow;
  const content = index.vectorsOf(labels ? Uint32Array.from(rows, (r) => labels[r]) : rows, rows.map((r) => data.dataset.content[r].language));
  const missing = rows.map((row, i) => [row, i]).filter(([row]) => !vectors.hubReady[row]);
  if (missing.length) {
    // Exact or approximate by the catalogue's size, so that every call on it agrees.
    vectors.index ??= topicIndex(vectors.topics, dim, items * (vectors.topics.length / dim) <= HUB_EXACT_PAIRS);
    const batch = new Float32Array(missing.length * dim);
    missing.forEach(([, i], j) => batch.set(content.subarray(i * dim, (i + 1) * dim), j * dim));
    const hub = await hubnessParallel(vectors.index, batch, dim);
    missing.forEach(([row], j) => {
      vectors.hub[row] = hub[j];
      vectors.hubReady[row] = 1;
    });
  }
  // `local` is kept for the next chunk: reset the rows set here, then hand out a copy of the mapping.
  const mapping = local.slice();
  for (const row of rows) local[row] = -1;
  return { vectors, content, local: mapping };
}

/** The fused candidate lists as a recommendation table (stage scores: retrieval cosine, lexical TF-IDF, fused). */
export function retrievalTable(dataset: Dataset, topics: Uint32Array, candidates: FusedCandidates[], limit = Infinity): RecommendationTable {
  const builder = new RecommendationTableBuilder(['retrieval', 'lexical', 'fused'], Array.from(topics, (t) => dataset.topics[t].id), dataset.content.map((c) => c.id));
  candidates.forEach((c, i) => {
    for (let j = 0; j < Math.min(limit, c.rows.length); j++) {
      builder.add({ topic: i, content: c.rows[j], rank: j + 1, score: c.fused[j], stages: { retrieval: c.neural[j], lexical: c.lexical[j], fused: c.fused[j] }, explanation: retrievalExplanation(c, j) });
    }
  });
  return builder.build();
}

export interface RecommendJob extends RetrieveOptions {
  /** 'full': retrieve, rerank, decision rule; 'retrieve': fused candidates only. */
  stage: 'full' | 'retrieve';
  /**
   * 'hnsw' (default): the model's own index. 'neo4j': the content embeddings
   * are written to the Content nodes of the Neo4j graph (pushed before with
   * `trellis graph push`) and searched through its vector index.
   */
  ann?: 'hnsw' | 'neo4j';
  /** Rerank only each topic's first N fused candidates (default: the model's rerank.candidates; 0 = all). */
  rerankCandidates?: number;
  /** Reranker threads (0 = one per core; default: one per core for 1,024 topics or more). */
  rerankWorkers?: number;
}

/** Writes the model's content embeddings into Neo4j and retrieves through its vector index. */
async function retrieveInNeo4j(retriever: Retriever, topics: Uint32Array, job: RecommendJob): Promise<FusedCandidates[]> {
  const { model, data } = retriever;
  const ids = data.dataset.content.map((c) => c.id);
  const dim = model.shape.encoder.dim;
  if (model.shape.contentTopics) {
    throw new ConfigError(`${retriever.meta.modelId}: a model whose items read their topics (graphsage.contentTopics) serves through its own index only.`, 'Drop --ann neo4j, or train with graphsage.contentTopics 0.');
  }
  return withNeo4j(async (client) => {
    const vectors = await embedContentParallel(model, data);
    const pushed = await pushEmbeddings(client, ids, vectors, dim);
    if (pushed.missing > 0) {
      throw new DataError(`Neo4j lacks ${pushed.missing} of the ${ids.length} content nodes.`, { hint: "Push the dataset first: 'trellis graph push --data DIR'." });
    }
    job.log?.(`wrote ${pushed.written} content embeddings to Neo4j's vector index`);
    const index = new Neo4jVectorIndex(client, ids, dim);
    return retrieve(retriever, topics, { ...job, external: (queries, k) => index.searchBatch(queries, k) });
  }, connectionFromEnv());
}

export interface RecommendResult {
  meta: ModelMeta;
  table: RecommendationTable;
  candidates: FusedCandidates[];
  /** Reranker probabilities per topic, aligned with `candidates` (full stage only). */
  probabilities?: Float32Array[];
  /** The scores the decision rule cut, aligned with `probabilities` (they differ with content competition). */
  scores?: Float32Array[];
  /** The global decision rule (full stage only); it cut the lists unless a per-topic `cutoff` did. */
  rule?: DecisionRule;
  cutoff?: ExpectedF2Cutoff;
  /** What the global rule keeps of each topic's candidates (indices into `candidates`): the baseline of a per-topic cut-off. */
  ruleKept?: Uint32Array[];
  /** How the catalogue changed since the index was built, and its drift since training (models with catalogue.json). */
  catalogue?: { changes: CatalogueChanges['counts']; drift: Drift };
  seconds: { retrieve: number; rerank: number };
}

/** The whole recommend stage for topic rows with the model of an opened folder (`openModel`). */
export async function recommendTopics(folder: ModelFolder, dataset: Dataset, forest: TopicForest, topics: Uint32Array, job: RecommendJob): Promise<RecommendResult> {
  const t0 = performance.now();
  const retriever = await loadRetriever(folder, dataset, forest, { log: job.log, onEncode: job.onProgress && ((done, total) => job.onProgress!('pretrained encoding', done, total)) });
  const context = modelContext(dataset, retriever.meta.heldOut);
  const retrieveJob = { ...job, visible: context };
  let candidates: FusedCandidates[];
  try {
    candidates = job.ann === 'neo4j' ? await retrieveInNeo4j(retriever, topics, retrieveJob) : await retrieve(retriever, topics, retrieveJob);
  } finally {
    retriever.model.dispose();
  }
  const meta = retriever.meta;
  const topK = candidateDepth(meta.config.retrieval, job.topK);
  const t1 = performance.now();
  const catalogue = retriever.catalogue && { changes: retriever.catalogue.changes.counts, drift: retriever.catalogue.drift };
  if (job.stage === 'retrieve') return { meta, table: retrievalTable(dataset, topics, candidates), candidates, catalogue, seconds: { retrieve: (t1 - t0) / 1000, rerank: 0 } };
  const { reranker, rule, compete, cutoff: tuned, stacker } = await loadReranker(folder, FEATURE_NAMES);
  // Models saved before rerank.cutoff existed have no such key: the global rule.
  const cutoff = perTopicCutoff(meta.config.rerank.cutoff) ? tuned : undefined;
  try {
    const pairContext = rerankContext(context, reranker, sentenceVectors(retriever.data), rerankerDir(folder));
    const maxCandidates = job.rerankCandidates ?? meta.config.rerank.candidates ?? 0;
    const reranked = await rerankTable(dataset, forest, pairContext, reranker, rule, topics, candidates, topK, {
      onProgress: job.onProgress && ((done, total) => job.onProgress!('rerank', done, total)),
      workers: job.rerankWorkers,
      dir: rerankerDir(folder),
      maxCandidates,
      compete,
      cutoff,
      stacker,
    });
    const { table, probabilities, scores, ruleKept } = reranked;
    candidates = reranked.candidates;
    const t2 = performance.now();
    job.log?.(`reranked ${candidates.reduce((s, c) => s + c.rows.length, 0)} candidates${maxCandidates ? ` (the first ${maxCandidates} per topic)` : ''}${stacker ? ', the cross-encoder stacked with boosted trees,' : ''} in ${((t2 - t1) / 1000).toFixed(1)} s; kept ${table.length} (${cutoff ? `per-topic cut-off, expected F2${cutoff.count ? ' with the learned count' : ''}` : `threshold ${rule.threshold.toFixed(3)}, margin ${rule.margin}, cap ${rule.cap}`}${compete > 0 ? `, content competition ${compete} over ${topics.length} topics` : ''})`);
    return { meta, table, candidates, probabilities, scores, rule, cutoff, ruleKept, catalogue, seconds: { retrieve: (t1 - t0) / 1000, rerank: (t2 - t1) / 1000 } };
  } finally {
    reranker.dispose();
    stacker?.dispose();
  }
}
