/**
 * Neighbour sampling on the topic forest, in the style of PyTorch Geometric's
 * NeighborSampler (uniform k-hop sampling without replacement, as in
 * GraphSAGE: Hamilton, Ying and Leskovec, "Inductive Representation Learning
 * on Large Graphs", NeurIPS 2017).
 *
 * A topic's neighbours are its parent, its children and its siblings (the
 * other children of its parent). Roots of different trees are not siblings:
 * the forest has no super-root. `buildNeighbourIndex` lays the neighbour lists
 * out as a CSR once; `sampleNeighbours` draws a k-hop computation graph for a
 * set of seed topics from it. The sampler knows nothing of batches or
 * content: a loader picks the seeds and gathers features for `nodes`.
 *
 * ## How a GraphSAGE stack consumes a SamplerOutput
 *
 * Local ids index `nodes`. Nodes are numbered in the order they are reached:
 * the seeds, then the nodes first reached at hop 0, then at hop 1, and so on.
 * Hop h samples the neighbours of its targets, the nodes it is the first hop
 * to expand: the seeds at hop 0, the nodes first reached at hop h-1 after
 * that. Every node is expanded at most once, so the targets of hops 0..k are
 * exactly the prefix `[0, numNodesPerHop[k])`, and since targets are expanded
 * in local-id order the concatenated edge list `row` is non-decreasing.
 *
 * With L = fanouts.length layers, layer l (0-based, input side first) updates
 * the prefix of nodes whose representation a later layer still needs:
 *
 *   k        = L - 1 - l                      (the last hop it uses)
 *   targets  = local ids [0, numNodesPerHop[k])
 *   inputs   = local ids [0, numNodesPerHop[k + 1])   (rows of the previous h)
 *   edges    = row/col[0, numEdgesPerHop[k + 1])      (hops 0..k)
 *   h'[t]    = update(h[t], mean over edges (col -> t) of h[col])
 *
 * The mean is a segment mean of `h[col]` keyed by `row`; a target with no
 * sampled neighbour (a lone root) gets a zero aggregate and keeps only its
 * self term. `layerEdges` returns exactly these slices. For two layers:
 * layer 0 updates the seeds and the hop-0 nodes (the seeds from hop-0 edges,
 * the hop-0 nodes from hop-1 edges) reading every node's input features;
 * layer 1 updates the seeds from the hop-0 edges, reading layer 0's output.
 *
 * ## Worked example (test/fixtures/tiny)
 *
 *   t_root -> {t_bio -> {t_cell, t_gen}, t_phys}
 *
 * Seeds [t_cell], fanouts [2, 4] (each at least the degree, so no draws):
 *
 *   hop 0: t_cell's neighbours are t_bio (parent) and t_gen (sibling)
 *          nodes = [t_cell, t_bio, t_gen]           local 0, 1, 2
 *          row = [0, 0], col = [1, 2]
 *   hop 1: targets are local 1, 2 (first reached at hop 0)
 *          t_bio: t_root (new, 3), t_cell (0), t_gen (2), t_phys (new, 4)
 *          t_gen: t_bio (1), t_cell (0)
 *          row = [1, 1, 1, 1, 2, 2], col = [3, 0, 2, 4, 1, 0]
 *   nodes = [t_cell, t_bio, t_gen, t_root, t_phys]
 *   numTargets = [1, 2], numNodesPerHop = [1, 3, 5], numEdgesPerHop = [0, 2, 8]
 *
 *   layer 0: targets 0..2 from all 8 edges, inputs x[0..4]
 *   layer 1: target 0 from the first 2 edges, inputs h1[0..2]
 *
 * ## Content through the neighbours' links (heterogeneous neighbourhoods)
 *
 * `sampleLinkedContent` adds the content half of a one-hop neighbourhood, as
 * in PinSage (Ying et al., "Graph Convolutional Neural Networks for Web-Scale
 * Recommender Systems", KDD 2018) and heterogeneous GraphSAGE: for each
 * hop-0 edge (seed <- neighbour topic u), up to `perTopic` items of u's link
 * list. Only the lists of the seeds' neighbours are read. A topic is never
 * its own neighbour, so a seed's own links never reach it (an item it shares
 * with a neighbour is reached through the neighbour, as it would be for a
 * topic whose links are hidden); the caller passes the links that may be seen,
 * with hidden topics' lists empty. With the tiny fixture's links (t_cell:
 * c_cell1 c_cell2; t_gen: c_dna c_mendel), seed t_cell reaches c_dna and
 * c_mendel through its sibling t_gen, and never c_cell1 or c_cell2.
 *
 * ## Topics through an item's links (the candidate tower's side)
 *
 * `linkingTopics` reverses the visible links (per item, the topics that hold
 * it) and `sampleLinkingTopics` draws up to `perItem` of them per item,
 * leaving out the `blocked` topics: in training the batch's queries, so that
 * a topic never meets its own text inside one of its candidates.
 */
import { ConfigError, DataError } from '../errors.ts';
import { resolveOptions } from '../options.ts';
import { randomInt, type Rng } from '../random.ts';
import type { TopicForest } from './forest.ts';

export interface NeighbourIndexOptions {
  /**
   * Most siblings kept per topic. A parent with k children gives each child
   * k - 1 siblings (k^2 entries in all); the cap keeps the nearest ones in
   * the parent's child list (dataset order, usually the curriculum's order):
   * a window of `maxSiblings + 1` consecutive children around the topic,
   * centred on it (floor(m/2) before, the rest after) and shifted inwards at
   * either end of the list. Deterministic, no randomness. `Infinity` keeps
   * all. Default 64.
   */
  maxSiblings?: number;
}

export const DEFAULT_NEIGHBOUR_INDEX_OPTIONS: Readonly<Required<NeighbourIndexOptions>> = Object.freeze({
  maxSiblings: 64,
});

/** Each topic's neighbour rows in CSR: parent first, then children (dataset order), then siblings (child-list order). */
export interface NeighbourIndex {
  /** Number of topics. */
  size: number;
  /** Neighbours of t are `neighbours[offsets[t] .. offsets[t+1])`. [N+1] */
  offsets: Uint32Array;
  /** Topic rows. [offsets[N]] */
  neighbours: Uint32Array;
  /** The sibling cap the index was built with. */
  maxSiblings: number;
}

/** What `sampleNeighbours` returns; see the file header for how a GraphSAGE stack reads it. */
export interface SamplerOutput {
  /** Unique topic rows touched; the seeds come first, in order (local ids 0..seeds.length-1), then newly reached nodes hop by hop. [numNodesPerHop[L]] */
  nodes: Uint32Array;
  /** All sampled edges, hop by hop, from sampled neighbour `col` to target `row`, as local ids into `nodes`. `row` is non-decreasing. [E] */
  row: Uint32Array;
  col: Uint32Array;
  /** Per hop h (0-based): views of `row`/`col` over `[numEdgesPerHop[h], numEdgesPerHop[h+1])`. [L] */
  hops: { row: Uint32Array; col: Uint32Array }[];
  /**
   * Targets expanded at hop h: seeds.length at hop 0, then the nodes first
   * reached at hop h-1. They are local ids `[numNodesPerHop[h] - numTargets[h], numNodesPerHop[h])`. [L]
   */
  numTargets: number[];
  /** Nodes known before hop 0 (the seeds) and after each hop, cumulative. [L+1] */
  numNodesPerHop: number[];
  /** Edges after each hop, cumulative, starting at 0. [L+1] */
  numEdgesPerHop: number[];
}

/** The slices of a SamplerOutput that GraphSAGE layer `layer` (0-based, input side first) consumes. */
export interface LayerEdges {
  /** Target local ids, segment keys of the mean. [E_l] */
  row: Uint32Array;
  /** Neighbour local ids whose representations are averaged. [E_l] */
  col: Uint32Array;
  /** The layer updates local ids [0, numTargets). */
  numTargets: number;
  /** The layer reads local ids [0, numInputs) of the previous representations. */
  numInputs: number;
}

const SCOPE = 'trellis/sampler';

/**
 * Floyd's algorithm: `k` distinct positions out of `degree` in `k` draws of
 * `rng`, each passed to `visit` in draw order. `seen` is scratch space.
 */
function floyd(degree: number, k: number, rng: Rng, seen: Set<number>, visit: (position: number) => void): void {
  seen.clear();
  for (let j = degree - k; j < degree; j++) {
    const r = randomInt(rng, j + 1);
    const position = seen.has(r) ? j : r;
    seen.add(position);
    visit(position);
  }
}

/** Neighbour rows of `t` in the index (a view, no copy). */
export function neighboursOf(index: NeighbourIndex, t: number): Uint32Array {
  return index.neighbours.subarray(index.offsets[t], index.offsets[t + 1]);
}

/**
 * Builds the neighbour CSR of a forest: sizes in one pass, then rows in one
 * pass, O(N + total) time where total <= 2(N - roots) + N * maxSiblings.
 */
export function buildNeighbourIndex(forest: TopicForest, options?: NeighbourIndexOptions): NeighbourIndex {
  const { maxSiblings } = resolveOptions(SCOPE, DEFAULT_NEIGHBOUR_INDEX_OPTIONS, options);
  if (!(maxSiblings >= 0) || (maxSiblings !== Infinity && !Number.isInteger(maxSiblings))) {
    throw new ConfigError(`${SCOPE}: maxSiblings must be a non-negative integer or Infinity (got ${maxSiblings}).`);
  }
  const { size: n, parent, childOffsets, children } = forest;

  const offsets = new Uint32Array(n + 1);
  let total = 0;
  for (let t = 0; t < n; t++) {
    const p = parent[t];
    const siblings = p < 0 ? 0 : Math.min(maxSiblings, childOffsets[p + 1] - childOffsets[p] - 1);
    total += (p < 0 ? 0 : 1) + (childOffsets[t + 1] - childOffsets[t]) + siblings;
    if (total > 0xffffffff) {
      throw new ConfigError(`${SCOPE}: the neighbour index must fit 2^32 - 1 entries (got more with maxSiblings = ${maxSiblings}).`, 'Lower maxSiblings.');
    }
    offsets[t + 1] = total;
  }

  // Each topic's position in its parent's child list.
  const position = new Uint32Array(n);
  for (let p = 0; p < n; p++) for (let j = childOffsets[p]; j < childOffsets[p + 1]; j++) position[children[j]] = j - childOffsets[p];

  const neighbours = new Uint32Array(total);
  let k = 0;
  for (let t = 0; t < n; t++) {
    const p = parent[t];
    if (p >= 0) neighbours[k++] = p;
    for (let j = childOffsets[t]; j < childOffsets[t + 1]; j++) neighbours[k++] = children[j];
    if (p < 0) continue;
    const first = childOffsets[p];
    const count = childOffsets[p + 1] - first;
    const m = Math.min(maxSiblings, count - 1);
    if (m === 0) continue;
    const at = position[t];
    const start = Math.max(0, Math.min(at - (m >>> 1), count - (m + 1)));
    for (let j = start; j < start + m + 1; j++) if (j !== at) neighbours[k++] = children[first + j];
  }
  return { size: n, offsets, neighbours, maxSiblings };
}

/**
 * Samples a k-hop computation graph around `seeds`: hop h draws up to
 * `fanouts[h]` distinct neighbours of each of its targets, uniformly without
 * replacement (all of them when there are fewer, in index order; -1 means
 * all). Randomness comes only from `rng`, so the same generator state gives
 * the same output.
 *
 * @param seeds distinct topic rows. [S]
 * @param fanouts one entry per hop, a non-negative integer or -1. [L]
 */
export function sampleNeighbours(index: NeighbourIndex, seeds: Uint32Array, fanouts: readonly number[], rng: Rng): SamplerOutput {
  for (const f of fanouts) {
    if (!(Number.isInteger(f) && f >= -1)) throw new ConfigError(`${SCOPE}: fanouts must be non-negative integers or -1 for all neighbours (got ${JSON.stringify(fanouts)}).`);
  }
  const { offsets, neighbours, size } = index;
  const local = new Map<number, number>();
  const nodes: number[] = [];
  for (let i = 0; i < seeds.length; i++) {
    const s = seeds[i];
    if (s >= size) throw new DataError(`${SCOPE}: seeds must be topic rows below ${size} (got ${s} at position ${i}).`);
    if (local.has(s)) throw new DataError(`${SCOPE}: seeds must be distinct (got ${s} twice, at positions ${local.get(s)} and ${i}).`);
    local.set(s, i);
    nodes.push(s);
  }

  const rows: number[] = [];
  const cols: number[] = [];
  const numTargets: number[] = [];
  const numNodesPerHop = [nodes.length];
  const numEdgesPerHop = [0];
  const picked: number[] = [];
  const pickedSet = new Set<number>();
  let begin = 0;
  for (const fanout of fanouts) {
    const end = nodes.length;
    numTargets.push(end - begin);
    for (let target = begin; target < end; target++) {
      const from = offsets[nodes[target]];
      const degree = offsets[nodes[target] + 1] - from;
      const k = fanout < 0 ? degree : Math.min(fanout, degree);
      picked.length = 0;
      if (k === degree) {
        for (let j = 0; j < degree; j++) picked.push(j);
      } else {
        floyd(degree, k, rng, pickedSet, (position) => picked.push(position));
      }
      for (const position of picked) {
        const v = neighbours[from + position];
        let id = local.get(v);
        if (id === undefined) {
          id = nodes.length;
          local.set(v, id);
          nodes.push(v);
        }
        rows.push(target);
        cols.push(id);
      }
    }
    begin = end;
    numNodesPerHop.push(nodes.length);
    numEdgesPerHop.push(rows.length);
  }

  const row = Uint32Array.from(rows);
  const col = Uint32Array.from(cols);
  const hops = fanouts.map((_, h) => ({
    row: row.subarray(numEdgesPerHop[h], numEdgesPerHop[h + 1]),
    col: col.subarray(numEdgesPerHop[h], numEdgesPerHop[h + 1]),
  }));
  return { nodes: Uint32Array.from(nodes), row, col, hops, numTargets, numNodesPerHop, numEdgesPerHop };
}

/**
 * The edges, target count and input count of GraphSAGE layer `layer`
 * (0-based, input side first) over a sample drawn with as many hops as the
 * stack has layers; see the file header. The arrays are views, no copy.
 */
export function layerEdges(output: SamplerOutput, layer: number): LayerEdges {
  const hops = output.hops.length;
  if (!(Number.isInteger(layer) && layer >= 0 && layer < hops)) {
    throw new ConfigError(`${SCOPE}: layer must be an integer from 0 to ${hops - 1} for a ${hops}-hop sample (got ${layer}).`);
  }
  const k = hops - 1 - layer;
  const edges = output.numEdgesPerHop[k + 1];
  return {
    row: output.row.subarray(0, edges),
    col: output.col.subarray(0, edges),
    numTargets: output.numNodesPerHop[k],
    numInputs: output.numNodesPerHop[k + 1],
  };
}

/**
 * Edges target <- node of a sampled bipartite block, each node given a local
 * id the first time it is reached: the shared bookkeeping of the content and
 * topic samplers below.
 */
class LocalEdges {
  readonly nodes: number[] = [];
  readonly row: number[] = [];
  readonly col: number[] = [];
  private readonly local = new Map<number, number>();

  add(target: number, node: number): void {
    let id = this.local.get(node);
    if (id === undefined) {
      id = this.nodes.length;
      this.local.set(node, id);
      this.nodes.push(node);
    }
    this.row.push(target);
    this.col.push(id);
  }
}

/** The content half of a heterogeneous neighbourhood (see the file header). */
export interface ContentSample {
  /** Unique content rows, in the order first reached. [C] */
  content: Uint32Array;
  /** Target of each edge: a seed's local id (non-decreasing). [E] */
  row: Uint32Array;
  /** Local id into `content` of each edge. [E] */
  col: Uint32Array;
  /** Targets are the seeds, local ids [0, numTargets). */
  numTargets: number;
}

/**
 * For each hop-0 edge of `sample` (seed <- neighbour topic u), draws up to
 * `perTopic` distinct items of `links[u]`, uniformly without replacement
 * (all of them when there are fewer, in list order). An item reached through
 * several neighbours gets one edge per neighbour, so a mean over edges weighs
 * it by how many neighbours hold it (PinSage's importance pooling by visit
 * counts). Only neighbours' lists are read, never a seed's own. Randomness
 * comes only from `rng`.
 *
 * @param links the links that may be seen, per topic row (hidden topics' lists empty). [topics]
 */
export function sampleLinkedContent(sample: SamplerOutput, links: readonly ArrayLike<number>[], perTopic: number, rng: Rng): ContentSample {
  if (!(Number.isInteger(perTopic) && perTopic >= 0)) throw new ConfigError(`${SCOPE}: perTopic must be a non-negative integer (got ${perTopic}).`);
  if (sample.hops.length === 0) throw new ConfigError(`${SCOPE}: content is reached through sampled neighbour topics; the sample must have at least one hop.`);
  const { row: hopRow, col: hopCol } = sample.hops[0];
  const edges = new LocalEdges();
  const picked = new Set<number>();
  for (let e = 0; e < hopRow.length; e++) {
    const u = sample.nodes[hopCol[e]];
    const list = links[u];
    const degree = list.length;
    const k = Math.min(perTopic, degree);
    const add = (position: number) => edges.add(hopRow[e], list[position]);
    if (k === degree) {
      for (let j = 0; j < degree; j++) add(j);
      continue;
    }
    floyd(degree, k, rng, picked, add);
  }
  return { content: Uint32Array.from(edges.nodes), row: Uint32Array.from(edges.row), col: Uint32Array.from(edges.col), numTargets: sample.numTargets[0] };
}

/**
 * The topic rows whose links hold each content row: the reverse of `links`
 * (per topic row, its content rows), each list in increasing topic order.
 */
export function linkingTopics(links: readonly ArrayLike<number>[], contentCount: number): Uint32Array[] {
  const degree = new Uint32Array(contentCount);
  for (const list of links) for (let j = 0; j < list.length; j++) degree[list[j]]++;
  const out = Array.from(degree, (d) => new Uint32Array(d));
  degree.fill(0);
  links.forEach((list, t) => {
    for (let j = 0; j < list.length; j++) out[list[j]][degree[list[j]]++] = t;
  });
  return out;
}

/** The topic half of a content item's neighbourhood: edges item <- topic, for the candidate tower. */
export interface TopicSample {
  /** Unique topic rows, in the order first reached. [N] */
  topics: Uint32Array;
  /** Target of each edge: an item's position in the batch (non-decreasing). [E] */
  row: Uint32Array;
  /** Local id into `topics` of each edge. [E] */
  col: Uint32Array;
  numTargets: number;
}

/**
 * For each content row of `rows`, up to `perItem` of the topics in
 * `linking[row]` that are not `blocked`: all of them when there are no more;
 * else drawn uniformly without replacement with `rng`, or, without one, taken
 * evenly spaced along the list (so that encoding a catalogue is repeatable
 * without a seed). `blocked`: topics that must not be read (in training, the
 * batch's queries, so no query meets its own text inside a candidate).
 */
export function sampleLinkingTopics(linking: readonly Uint32Array[], rows: ArrayLike<number>, perItem: number, rng?: Rng, blocked?: ReadonlySet<number>): TopicSample {
  if (!(Number.isInteger(perItem) && perItem >= 0)) throw new ConfigError(`${SCOPE}: perItem must be a non-negative integer (got ${perItem}).`);
  const edges = new LocalEdges();
  const picked = new Set<number>();
  for (let i = 0; i < rows.length; i++) {
    const all = linking[rows[i]] ?? new Uint32Array(0);
    const list = blocked && blocked.size > 0 ? all.filter((t) => !blocked.has(t)) : all;
    const degree = list.length;
    const k = Math.min(perItem, degree);
    const add = (position: number) => edges.add(i, list[position]);
    if (k === degree) {
      for (let j = 0; j < degree; j++) add(j);
    } else if (!rng) {
      for (let j = 0; j < k; j++) add(Math.floor((j * degree) / k));
    } else {
      floyd(degree, k, rng, picked, add);
    }
  }
  return { topics: Uint32Array.from(edges.nodes), row: Uint32Array.from(edges.row), col: Uint32Array.from(edges.col), numTargets: rows.length };
}
