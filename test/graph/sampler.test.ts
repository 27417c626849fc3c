import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadDataset, buildDataset, buildForest, siblingsOf, childrenOf, rngFor, mulberry32, randomInt,
  buildNeighbourIndex, neighboursOf, sampleNeighbours, layerEdges, ConfigError, DataError,
  type Topic, type TopicForest, type NeighbourIndex, type SamplerOutput,
} from '../../src/index.ts';
import { TINY } from '../helpers.ts';

const dataset = await loadDataset(TINY);
const forest = buildForest(dataset);
const row = (id: string) => dataset.topicIndex.get(id)!;
const ids = (rows: ArrayLike<number>) => Array.from(rows, (r) => dataset.topics[r].id);

/**
 * A random forest of `n` topics in three trees: one root with `wide` children
 * (a wide level), a chain of `deep` topics (a deep path), and the rest attached
 * under uniformly chosen earlier topics (bushy, mixed depths).
 */
function syntheticForest(n: number, wide: number, deep: number, seed: number): TopicForest {
  const rng = mulberry32(seed);
  const parents: number[] = [];
  parents.push(-1); // 0: root of the wide tree
  for (let i = 0; i < wide; i++) parents.push(0);
  parents.push(-1); // root of the chain
  for (let i = 0; i < deep; i++) parents.push(parents.length - 1);
  parents.push(-1); // root of the bushy tree
  const bushyRoot = parents.length - 1;
  while (parents.length < n) parents.push(bushyRoot + randomInt(rng, parents.length - bushyRoot));
  // Shuffle rows so children are not contiguous and rows are not in depth order.
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const topics: Topic[] = order.map((old) => ({
    id: `t${old}`, title: `Topic ${old}`, description: '', channel: 'c', category: 'source', level: -1, language: 'en',
    parent: parents[old] < 0 ? '' : `t${parents[old]}`, hasContent: true,
  }));
  return buildForest(buildDataset(topics, [], new Map()));
}

const big = syntheticForest(4000, 1500, 300, 7);
const bigIndex = buildNeighbourIndex(big);

/** Is `v` a true forest neighbour of `t` (parent, child or sibling)? */
function related(f: TopicForest, t: number, v: number): boolean {
  return t !== v && (f.parent[t] === v || f.parent[v] === t || (f.parent[t] >= 0 && f.parent[t] === f.parent[v]));
}

/** Checks every structural promise of a SamplerOutput; returns nothing, throws on the first broken one. */
function checkOutput(index: NeighbourIndex, seeds: Uint32Array, fanouts: number[], out: SamplerOutput, f: TopicForest): void {
  const L = fanouts.length;
  assert.equal(out.hops.length, L);
  assert.equal(out.numTargets.length, L);
  assert.equal(out.numNodesPerHop.length, L + 1);
  assert.equal(out.numEdgesPerHop.length, L + 1);
  assert.equal(out.nodes.length, out.numNodesPerHop[L]);
  assert.equal(out.row.length, out.numEdgesPerHop[L]);
  // Seeds first, in order; nodes unique.
  assert.deepEqual(Array.from(out.nodes.subarray(0, seeds.length)), Array.from(seeds));
  assert.equal(new Set(out.nodes).size, out.nodes.length);
  assert.equal(out.numNodesPerHop[0], seeds.length);
  for (let h = 0; h < L; h++) {
    const { row, col } = out.hops[h];
    const first = out.numNodesPerHop[h] - out.numTargets[h];
    const last = out.numNodesPerHop[h];
    assert.equal(first, h === 0 ? 0 : out.numNodesPerHop[h - 1]);
    assert.equal(row.length, out.numEdgesPerHop[h + 1] - out.numEdgesPerHop[h]);
    const perTarget = new Map<number, Set<number>>();
    for (let e = 0; e < row.length; e++) {
      // Targets are this hop's frontier; sources are known by the end of the hop.
      assert.ok(row[e] >= first && row[e] < last, `hop ${h}: row ${row[e]} outside [${first}, ${last})`);
      assert.ok(col[e] < out.numNodesPerHop[h + 1], `hop ${h}: col ${col[e]} out of range`);
      const t = out.nodes[row[e]];
      const v = out.nodes[col[e]];
      assert.ok(related(f, t, v), `hop ${h}: ${v} is not a neighbour of ${t}`);
      assert.ok(neighboursOf(index, t).includes(v), `hop ${h}: ${v} is not in the index list of ${t}`);
      const seen = perTarget.get(row[e]) ?? new Set<number>();
      assert.ok(!seen.has(col[e]), `hop ${h}: duplicate neighbour ${v} of ${t}`);
      seen.add(col[e]);
      perTarget.set(row[e], seen);
    }
    // Exactly min(fanout, degree) neighbours per target: never more than the fan-out.
    for (let target = first; target < last; target++) {
      const degree = neighboursOf(index, out.nodes[target]).length;
      const want = fanouts[h] < 0 ? degree : Math.min(fanouts[h], degree);
      assert.equal(perTarget.get(target)?.size ?? 0, want);
    }
    // Nodes first reached at hop h appear as sources of hop h.
    const sources = new Set(col);
    for (let v = out.numNodesPerHop[h]; v < out.numNodesPerHop[h + 1]; v++) assert.ok(sources.has(v));
  }
  for (let e = 1; e < out.row.length; e++) assert.ok(out.row[e - 1] <= out.row[e], 'row must be non-decreasing');
}

test('the tiny forest: neighbour lists by hand', () => {
  // t_root -> {t_bio -> {t_cell, t_gen}, t_phys}; t_raiz -> t_frac
  const index = buildNeighbourIndex(forest);
  const of = (id: string) => ids(neighboursOf(index, row(id)));
  assert.deepEqual(of('t_root'), ['t_bio', 't_phys']); // a root: no parent, no siblings
  assert.deepEqual(of('t_bio'), ['t_root', 't_cell', 't_gen', 't_phys']); // parent, children, sibling
  assert.deepEqual(of('t_cell'), ['t_bio', 't_gen']);
  assert.deepEqual(of('t_gen'), ['t_bio', 't_cell']);
  assert.deepEqual(of('t_phys'), ['t_root', 't_bio']);
  assert.deepEqual(of('t_raiz'), ['t_frac']); // roots of other trees are not siblings
  assert.deepEqual(of('t_frac'), ['t_raiz']);
  assert.deepEqual(Array.from(index.offsets), [0, 2, 6, 8, 10, 12, 13, 14]);
  assert.equal(index.size, 7);

  const noSiblings = buildNeighbourIndex(forest, { maxSiblings: 0 });
  assert.deepEqual(ids(neighboursOf(noSiblings, row('t_bio'))), ['t_root', 't_cell', 't_gen']);
  assert.deepEqual(ids(neighboursOf(noSiblings, row('t_cell'))), ['t_bio']);
});

test('the worked example of the header', () => {
  const index = buildNeighbourIndex(forest);
  // Fan-outs at least every degree involved: no random draws, all neighbours in index order.
  const out = sampleNeighbours(index, Uint32Array.of(row('t_cell')), [2, 4], rngFor(1, 'sampler'));
  assert.deepEqual(ids(out.nodes), ['t_cell', 't_bio', 't_gen', 't_root', 't_phys']);
  assert.deepEqual(Array.from(out.hops[0].row), [0, 0]);
  assert.deepEqual(Array.from(out.hops[0].col), [1, 2]);
  assert.deepEqual(Array.from(out.hops[1].row), [1, 1, 1, 1, 2, 2]);
  assert.deepEqual(Array.from(out.hops[1].col), [3, 0, 2, 4, 1, 0]);
  assert.deepEqual(out.numTargets, [1, 2]);
  assert.deepEqual(out.numNodesPerHop, [1, 3, 5]);
  assert.deepEqual(out.numEdgesPerHop, [0, 2, 8]);
  assert.deepEqual(Array.from(out.row), [0, 0, 1, 1, 1, 1, 2, 2]);

  // Layer 0 updates t_cell, t_bio, t_gen from all 8 edges over every node's features.
  const first = layerEdges(out, 0);
  assert.deepEqual([first.row.length, first.numTargets, first.numInputs], [8, 3, 5]);
  // Layer 1 updates t_cell from its 2 hop-0 edges over layer 0's 3 outputs.
  const second = layerEdges(out, 1);
  assert.deepEqual([Array.from(second.row), Array.from(second.col), second.numTargets, second.numInputs], [[0, 0], [1, 2], 1, 3]);
  assert.throws(() => layerEdges(out, 2), (e: unknown) => e instanceof ConfigError && /layer must be an integer from 0 to 1/.test(e.message));
});

test('a two-layer mean aggregation over layerEdges matches the full-neighbourhood computation', () => {
  // Fan-outs of -1 take every neighbour, so the sampled computation must equal
  // h2 = mean-aggregate twice over the whole index (self term: h' = h + mean).
  const index = buildNeighbourIndex(forest);
  const x = Float64Array.from({ length: forest.size }, (_, t) => t * t + 1);
  const full = (h: Float64Array) => Float64Array.from(h, (ht, t) => {
    const nb = neighboursOf(index, t);
    let s = 0;
    for (const v of nb) s += h[v];
    return ht + (nb.length ? s / nb.length : 0);
  });
  const expected = full(full(x));

  const seeds = Uint32Array.of(row('t_gen'), row('t_raiz'));
  const out = sampleNeighbours(index, seeds, [-1, -1], rngFor(1, 'sampler'));
  let h = Float64Array.from(out.nodes, (t) => x[t]);
  for (let layer = 0; layer < 2; layer++) {
    const { row: r, col: c, numTargets } = layerEdges(out, layer);
    const sum = new Float64Array(numTargets);
    const count = new Float64Array(numTargets);
    for (let e = 0; e < r.length; e++) {
      sum[r[e]] += h[c[e]];
      count[r[e]]++;
    }
    h = Float64Array.from({ length: numTargets }, (_, t) => h[t] + (count[t] ? sum[t] / count[t] : 0));
  }
  assert.deepEqual(Array.from(h), Array.from(seeds, (s) => expected[s]));
});

test('synthetic forest: fan-outs, true neighbours, no duplicates, seeds first, ids in range', () => {
  const rng = rngFor(42, 'sampler-seeds');
  for (const fanouts of [[5], [10, 5], [3, 3, 3], [25, 0], [-1, 2]]) {
    for (let trial = 0; trial < 4; trial++) {
      // Always a topic of the wide level, the wide root and the chain's root, then random topics.
      const picked = new Set([childrenOf(big, big.roots[0])[0], big.roots[0], big.roots[1]]);
      while (picked.size < 64) picked.add(randomInt(rng, big.size));
      const seeds = Uint32Array.from(picked);
      const out = sampleNeighbours(bigIndex, seeds, fanouts, rngFor(trial, 'sampler'));
      checkOutput(bigIndex, seeds, fanouts, out, big);
    }
  }
});

test('same generator seed, same sample; another seed, another sample', () => {
  const seeds = Uint32Array.from({ length: 32 }, (_, i) => i * 97);
  const a = sampleNeighbours(bigIndex, seeds, [10, 5], rngFor(3, 'sampler'));
  const b = sampleNeighbours(bigIndex, seeds, [10, 5], rngFor(3, 'sampler'));
  const c = sampleNeighbours(bigIndex, seeds, [10, 5], rngFor(4, 'sampler'));
  assert.deepEqual(a, b);
  assert.notDeepEqual(Array.from(a.nodes), Array.from(c.nodes));
});

test('draws are uniform over the neighbours', () => {
  // t_bio has 4 neighbours; 2 of 4 drawn 4000 times: each expected 2000 times
  // (binomial sd = sqrt(4000 * 0.5 * 0.5) ~ 32, so +-200 is over 6 sd).
  const index = buildNeighbourIndex(forest);
  const rng = rngFor(9, 'sampler');
  const hits = new Map<number, number>();
  for (let i = 0; i < 4000; i++) {
    const out = sampleNeighbours(index, Uint32Array.of(row('t_bio')), [2], rng);
    for (const c of out.col) hits.set(out.nodes[c], (hits.get(out.nodes[c]) ?? 0) + 1);
  }
  assert.equal(hits.size, 4);
  for (const [, n] of hits) assert.ok(Math.abs(n - 2000) < 200, `count ${n}`);
});

test('roots have no parent; siblings are capped to the nearest in the child list', () => {
  for (const r of big.roots) {
    assert.deepEqual(Array.from(neighboursOf(bigIndex, r)), Array.from(childrenOf(big, r)));
  }
  const maxSiblings = bigIndex.maxSiblings;
  assert.equal(maxSiblings, 64);
  const wide = childrenOf(big, big.roots[0]); // 1500 children
  for (let i = 0; i < wide.length; i++) {
    const t = wide[i];
    const nb = neighboursOf(bigIndex, t);
    const kids = childrenOf(big, t).length;
    assert.equal(nb[0], big.roots[0]);
    const siblings = Array.from(nb.subarray(1 + kids));
    assert.equal(siblings.length, maxSiblings);
    // A window of 65 consecutive children around position i, without i itself.
    const start = Math.max(0, Math.min(i - 32, wide.length - 65));
    assert.deepEqual(siblings, Array.from(wide.subarray(start, start + 65)).filter((s) => s !== t));
  }
  let bound = 0;
  for (let t = 0; t < big.size; t++) bound += (big.parent[t] >= 0 ? 1 : 0) + childrenOf(big, t).length + Math.min(maxSiblings, siblingsOf(big, t).length);
  assert.equal(bigIndex.neighbours.length, bound);
  assert.ok(bigIndex.neighbours.length < 2 * big.size + big.size * maxSiblings);

  // Without a cap the siblings are exactly siblingsOf.
  const all = buildNeighbourIndex(big, { maxSiblings: Infinity });
  for (let t = 0; t < big.size; t++) {
    const p = big.parent[t];
    const nb = neighboursOf(all, t);
    const expected = [...(p >= 0 ? [p] : []), ...childrenOf(big, t), ...siblingsOf(big, t)];
    assert.deepEqual(Array.from(nb), expected);
  }
});

test('errors name the problem', () => {
  const index = buildNeighbourIndex(forest);
  const rng = rngFor(1, 'sampler');
  assert.throws(() => sampleNeighbours(index, Uint32Array.of(1, 2, 1), [2], rng),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/sampler: seeds must be distinct (got 1 twice, at positions 0 and 2).');
  assert.throws(() => sampleNeighbours(index, Uint32Array.of(7), [2], rng),
    (e: unknown) => e instanceof DataError && e.message === 'trellis/sampler: seeds must be topic rows below 7 (got 7 at position 0).');
  assert.throws(() => sampleNeighbours(index, Uint32Array.of(0), [2, -2], rng),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/sampler: fanouts must be non-negative integers or -1 for all neighbours (got [2,-2]).');
  assert.throws(() => buildNeighbourIndex(forest, { maxSiblings: 1.5 }),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/sampler: maxSiblings must be a non-negative integer or Infinity (got 1.5).');
  assert.throws(() => buildNeighbourIndex(forest, { maxSibling: 3 } as never),
    (e: unknown) => e instanceof ConfigError && e.message === 'trellis/sampler: unknown key "maxSibling".');
});

test('no hops and no seeds are valid edge cases', () => {
  const index = buildNeighbourIndex(forest);
  const none = sampleNeighbours(index, Uint32Array.of(2, 0), [], rngFor(1, 'sampler'));
  assert.deepEqual([Array.from(none.nodes), none.hops.length, none.numNodesPerHop, none.numEdgesPerHop], [[2, 0], 0, [2], [0]]);
  const empty = sampleNeighbours(index, new Uint32Array(0), [3, 3], rngFor(1, 'sampler'));
  assert.deepEqual([empty.nodes.length, empty.row.length, empty.numTargets, empty.numNodesPerHop], [0, 0, [0, 0], [0, 0, 0]]);
});

// --- content through the neighbours' links (sampleLinkedContent) ---------------

test('linked content: the worked example of the header, and a topic never reaches its own links', async () => {
  const { sampleLinkedContent } = await import('../../src/graph/sampler.ts');
  const index = buildNeighbourIndex(forest);
  const contentIds = (rows: ArrayLike<number>) => Array.from(rows, (r) => dataset.content[r].id);
  // t_cell's neighbours: t_bio (no links) and t_gen (c_dna c_mendel); per topic 5 >= every list: no draws.
  const sample = sampleNeighbours(index, Uint32Array.of(row('t_cell')), [4], rngFor(1, 'sampler'));
  const out = sampleLinkedContent(sample, dataset.links, 5, rngFor(1, 'content'));
  assert.deepEqual(contentIds(out.content).sort(), ['c_dna', 'c_mendel']);
  assert.deepEqual(Array.from(out.row), [0, 0]);
  assert.equal(out.numTargets, 1);
  // Two seeds that are each other's sibling read each other's links, never their own.
  const both = sampleNeighbours(index, Uint32Array.of(row('t_cell'), row('t_gen')), [4], rngFor(1, 'sampler'));
  const pair = sampleLinkedContent(both, dataset.links, 5, rngFor(1, 'content'));
  const reached = (seed: number) => contentIds(Array.from(pair.row.keys()).filter((e) => pair.row[e] === seed).map((e) => pair.content[pair.col[e]])).sort();
  assert.deepEqual(reached(0), ['c_dna', 'c_mendel']);
  assert.deepEqual(reached(1), ['c_cell1', 'c_cell2']);
  // A hidden topic's list is empty in the links passed: t_cell then reaches nothing.
  const hidden = dataset.links.map((l, t) => (t === row('t_gen') ? new Uint32Array(0) : l));
  assert.equal(sampleLinkedContent(sample, hidden, 5, rngFor(1, 'content')).content.length, 0);
  assert.throws(() => sampleLinkedContent(sample, dataset.links, -1, rngFor(1, 'content')), (e: unknown) => e instanceof ConfigError && /perTopic must be a non-negative integer/.test(e.message));
});

test('linked content on a random forest: every edge has a neighbour holding the item, never the seed itself; per-topic caps; seeded', async () => {
  const { sampleLinkedContent } = await import('../../src/graph/sampler.ts');
  const rng = mulberry32(11);
  // Each topic links 0-6 items of a catalogue of 3,000: items are shared by several topics, seeds' own lists included.
  const links = Array.from({ length: big.size }, () => Uint32Array.from(new Set(Array.from({ length: randomInt(rng, 7) }, () => randomInt(rng, 3000)))).sort());
  const seeds = Uint32Array.from(new Set(Array.from({ length: 300 }, () => randomInt(rng, big.size))));
  const perTopic = 2;
  const sample = sampleNeighbours(bigIndex, seeds, [5], rngFor(3, 'sampler'));
  const out = sampleLinkedContent(sample, links, perTopic, rngFor(3, 'content'));
  assert.equal(out.numTargets, seeds.length);
  assert.equal(new Set(out.content).size, out.content.length);
  for (let e = 1; e < out.row.length; e++) assert.ok(out.row[e - 1] <= out.row[e], 'row must be non-decreasing');
  // The sampled neighbours of each seed, and the edges each may explain.
  const neighbours = new Map<number, number[]>();
  for (let e = 0; e < sample.hops[0].row.length; e++) {
    const s = sample.hops[0].row[e];
    neighbours.set(s, [...(neighbours.get(s) ?? []), sample.nodes[sample.hops[0].col[e]]]);
  }
  for (let s = 0; s < seeds.length; s++) {
    const mine = Array.from(out.row.keys()).filter((e) => out.row[e] === s).map((e) => out.content[out.col[e]]);
    const near = neighbours.get(s) ?? [];
    assert.ok(!near.includes(seeds[s]), 'a topic is not its own neighbour');
    // Each item's edges are at most the number of sampled neighbours holding it; all edges at most perTopic per neighbour.
    assert.ok(mine.length <= perTopic * near.length);
    for (const c of new Set(mine)) {
      const holders = near.filter((u) => links[u].includes(c)).length;
      assert.ok(holders > 0, `seed ${seeds[s]}: item ${c} is in no sampled neighbour's links`);
      assert.ok(mine.filter((x) => x === c).length <= holders);
    }
    // An item only the seed links never reaches it.
    for (const c of links[seeds[s]]) if (!near.some((u) => links[u].includes(c))) assert.ok(!mine.includes(c), `seed ${seeds[s]} reached its own item ${c}`);
  }
  assert.ok(out.row.length > 0);
  const again = sampleLinkedContent(sampleNeighbours(bigIndex, seeds, [5], rngFor(3, 'sampler')), links, perTopic, rngFor(3, 'content'));
  assert.deepEqual([Array.from(again.content), Array.from(again.row), Array.from(again.col)], [Array.from(out.content), Array.from(out.row), Array.from(out.col)]);
});
