import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset, buildForest, buildLexicalIndex, lexicalSearch, topKIndices, mergeCandidates } from '../../src/index.ts';
import { lexicalSearchParallel } from '../../src/retrieval/lexical.ts';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { TINY } from '../helpers.ts';

const dataset = await loadDataset(TINY);
const forest = buildForest(dataset);
const row = (id: string) => dataset.topicIndex.get(id)!;

test('topKIndices: the k largest, best first, ties by lower index', () => {
  assert.deepEqual(Array.from(topKIndices([0.1, 0.9, 0.5, 0.9, 0.2], 3)), [1, 3, 2]);
  assert.deepEqual(Array.from(topKIndices([1, 2], 5)), [1, 0]);
  assert.equal(topKIndices([1], 0).length, 0);
});

test('mergeCandidates keeps the best k across lists', () => {
  const merged = mergeCandidates([{ rows: Uint32Array.of(1, 2), scores: Float32Array.of(0.9, 0.1) }, { rows: Uint32Array.of(7), scores: Float32Array.of(0.5) }], 2);
  assert.deepEqual(Array.from(merged.rows), [1, 7]);
});

test('a topic finds its own content first, within its language', () => {
  const index = buildLexicalIndex(dataset, { buckets: 1 << 16 });
  const topics = [row('t_cell'), row('t_gen'), row('t_phys'), row('t_frac')];
  const [cell, gen, phys, frac] = lexicalSearch(index, dataset, forest, topics, 10);
  const ids = (c: { rows: Uint32Array }) => Array.from(c.rows, (r) => dataset.content[r].id);
  assert.ok(ids(cell).slice(0, 3).includes('c_cell1') && ids(cell).slice(0, 3).includes('c_cell2'), ids(cell).join());
  assert.equal(ids(gen)[0] === 'c_dna' || ids(gen)[0] === 'c_mendel', true);
  assert.equal(ids(phys)[0], 'c_newton');
  // The Spanish topic only sees Spanish content.
  assert.deepEqual(ids(frac).sort(), ['c_frac1', 'c_frac2']);
  for (const c of [cell, gen, phys]) assert.ok(ids(c).every((id) => !id.startsWith('c_frac')));
  for (let i = 1; i < cell.scores.length; i++) assert.ok(cell.scores[i] <= cell.scores[i - 1]);
});

test('lexicalSearchParallel returns the lists of lexicalSearch, from worker threads', async () => {
  const dataset = syntheticDataset({ channels: 3, branching: 4, depth: 2, contentPerLeaf: 4, seed: 11, languages: ['en', 'fr'] });
  const forest = buildForest(dataset);
  const index = buildLexicalIndex(dataset, { buckets: 1 << 14 });
  // More topics than one block of 1,024, so both workers get blocks.
  const topics = Uint32Array.from({ length: 2500 }, (_, i) => i % dataset.topics.length);
  const here = lexicalSearch(index, dataset, forest, topics, 7);
  const progress: number[] = [];
  const there = await lexicalSearchParallel(index, dataset, forest, topics, 7, { workers: 2, onProgress: (done) => progress.push(done) });
  assert.deepEqual(there.map((c) => Array.from(c.rows)), here.map((c) => Array.from(c.rows)));
  assert.deepEqual(there.map((c) => Array.from(c.scores)), here.map((c) => Array.from(c.scores)));
  assert.equal(progress.at(-1), 2500);
});
