import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset, buildForest, childrenOf, siblingsOf, ancestorsOf, breadcrumb, topicText } from '../../src/index.ts';
import { TINY } from '../helpers.ts';

const dataset = await loadDataset(TINY);
const forest = buildForest(dataset);
const row = (id: string) => dataset.topicIndex.get(id)!;
const ids = (rows: ArrayLike<number>) => Array.from(rows as ArrayLike<number>, (r) => dataset.topics[r].id);

test('parents, depths, roots and the CSR children', () => {
  // sci: t_root -> {t_bio -> {t_cell, t_gen}, t_phys}; mat: t_raiz -> t_frac
  assert.deepEqual(ids(forest.roots), ['t_root', 't_raiz']);
  assert.deepEqual(Array.from(forest.depth), [0, 1, 2, 2, 1, 0, 1]);
  assert.deepEqual(ids(childrenOf(forest, row('t_root'))), ['t_bio', 't_phys']);
  assert.deepEqual(ids(childrenOf(forest, row('t_bio'))), ['t_cell', 't_gen']);
  assert.equal(childrenOf(forest, row('t_cell')).length, 0);
  assert.equal(forest.root[row('t_gen')], row('t_root'));
  assert.equal(forest.parent[row('t_raiz')], -1);
});

test('siblings, ancestors and breadcrumbs', () => {
  assert.deepEqual(ids(siblingsOf(forest, row('t_cell'))), ['t_gen']);
  assert.deepEqual(ids(siblingsOf(forest, row('t_root'))), []);
  assert.deepEqual(ids(ancestorsOf(forest, row('t_gen'))), ['t_bio', 't_root']);
  assert.equal(breadcrumb(forest, dataset, row('t_gen')), 'Science > Biology > Genetics');
  assert.equal(topicText(dataset, forest, row('t_gen')), 'Science > Biology > Genetics. DNA and heredity');
});

test('preorder visits each root then its subtree', () => {
  assert.deepEqual(ids(forest.preorder), ['t_root', 't_bio', 't_cell', 't_gen', 't_phys', 't_raiz', 't_frac']);
});

test('the graphology graph mirrors the forest', () => {
  assert.equal(forest.graph.order, 7);
  assert.equal(forest.graph.size, 5);
  assert.deepEqual(forest.graph.outNeighbors('t_bio'), ['t_cell', 't_gen']);
  assert.equal(forest.graph.getNodeAttribute('t_gen', 'depth'), 2);
});
