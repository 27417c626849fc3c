/**
 * The topic forest: every channel's topic tree in one graphology DirectedGraph
 * (edges parent -> child, node keys are topic ids), plus a typed-array CSR
 * index for the hot paths (neighbour sampling, text building, metrics).
 *
 * The forest is traversed once, from every root, with an explicit stack:
 * graphology's bfsFromNode allocates graph-sized buffers per call, so calling
 * it per root would be quadratic on forests with many roots.
 */
import { DirectedGraph } from 'graphology';
import { DataError } from '../errors.ts';
import type { Dataset } from '../data/types.ts';

export interface TopicAttributes {
  row: number;
  title: string;
  channel: string;
  depth: number;
}

export interface TopicForest {
  /** Topic ids as nodes, parent -> child edges. */
  graph: DirectedGraph<TopicAttributes>;
  /** Number of topics (rows follow the dataset's topic rows). */
  size: number;
  /** Parent row of each topic, -1 for a root. [N] */
  parent: Int32Array;
  /** Depth below the root (0 for roots). [N] */
  depth: Int32Array;
  /** Root row of each topic's tree. [N] */
  root: Int32Array;
  /** CSR children: children of t are `children[childOffsets[t] .. childOffsets[t+1])`, in dataset order. [N+1], [N - roots] */
  childOffsets: Uint32Array;
  children: Uint32Array;
  /** Rows in preorder (each root, then its subtree). [N] */
  preorder: Uint32Array;
  /** Root rows. */
  roots: Uint32Array;
}

/** Builds the forest from a dataset (its parent links were validated on load). */
export function buildForest(dataset: Dataset): TopicForest {
  const { topics, topicIndex } = dataset;
  const n = topics.length;
  const parent = new Int32Array(n).fill(-1);
  const counts = new Uint32Array(n + 1);
  for (let t = 0; t < n; t++) {
    const p = topics[t].parent;
    if (p === '') continue;
    const row = topicIndex.get(p);
    if (row === undefined) throw new DataError(`topic "${topics[t].id}" names an unknown parent "${p}".`);
    parent[t] = row;
    counts[row + 1]++;
  }
  const childOffsets = new Uint32Array(n + 1);
  for (let t = 0; t < n; t++) childOffsets[t + 1] = childOffsets[t] + counts[t + 1];
  const children = new Uint32Array(childOffsets[n]);
  const fill = childOffsets.slice(0, n);
  for (let t = 0; t < n; t++) if (parent[t] >= 0) children[fill[parent[t]]++] = t;

  const rootList: number[] = [];
  for (let t = 0; t < n; t++) if (parent[t] < 0) rootList.push(t);
  const depth = new Int32Array(n).fill(-1);
  const root = new Int32Array(n).fill(-1);
  const preorder = new Uint32Array(n);
  let visited = 0;
  const stack: number[] = [];
  for (const r of rootList) {
    depth[r] = 0;
    root[r] = r;
    stack.push(r);
    while (stack.length) {
      const t = stack.pop()!;
      preorder[visited++] = t;
      for (let k = childOffsets[t + 1]; k-- > childOffsets[t];) {
        const c = children[k];
        depth[c] = depth[t] + 1;
        root[c] = r;
        stack.push(c);
      }
    }
  }
  if (visited !== n) throw new DataError('the parent links form a cycle (some topics are not below any root).');

  const graph = new DirectedGraph<TopicAttributes>({ allowSelfLoops: false });
  for (let t = 0; t < n; t++) graph.addNode(topics[t].id, { row: t, title: topics[t].title, channel: topics[t].channel, depth: depth[t] });
  for (let t = 0; t < n; t++) if (parent[t] >= 0) graph.addDirectedEdge(topics[parent[t]].id, topics[t].id);

  return { graph, size: n, parent, depth, root, childOffsets, children, preorder, roots: Uint32Array.from(rootList) };
}

/** Children rows of `t`. */
export function childrenOf(forest: TopicForest, t: number): Uint32Array {
  return forest.children.subarray(forest.childOffsets[t], forest.childOffsets[t + 1]);
}

/** Other children of `t`'s parent (empty for a root). */
export function siblingsOf(forest: TopicForest, t: number): Uint32Array {
  const p = forest.parent[t];
  if (p < 0) return new Uint32Array(0);
  return childrenOf(forest, p).filter((s) => s !== t);
}

/** Ancestor rows of `t`, nearest first (parent, grandparent, ..., root). */
export function ancestorsOf(forest: TopicForest, t: number): Uint32Array {
  const out = new Uint32Array(forest.depth[t]);
  let k = 0;
  for (let p = forest.parent[t]; p >= 0; p = forest.parent[p]) out[k++] = p;
  return out;
}

/** Root-to-topic titles joined with `separator`: "Khan Academy > Math > Fractions". */
export function breadcrumb(forest: TopicForest, dataset: Dataset, t: number, separator = ' > '): string {
  const path = Array.from(ancestorsOf(forest, t)).reverse();
  path.push(t);
  return path.map((r) => dataset.topics[r].title).join(separator);
}
