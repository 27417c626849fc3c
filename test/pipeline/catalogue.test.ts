/**
 * Catalogues that grow: a model trained on one catalogue recommends for, and
 * `trellis update` saves the index of, the catalogue after curators added,
 * edited and removed items and topics (pipeline/catalogue.ts, update.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { buildDataset, loadDataset, writeDataset, type Content, type Dataset, type Topic } from '../../src/index.ts';
import { buildForest } from '../../src/graph/forest.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { MODEL_LAYOUT, openModel } from '../../src/pipeline/artifact.ts';
import { diffCatalogue, catalogueDrift, fingerprint, trainedCatalogue } from '../../src/pipeline/catalogue.ts';
import { updateIndex } from '../../src/pipeline/update.ts';
import { loadRetriever, retrieve } from '../../src/pipeline/recommend.ts';
import { runCli, tempDir } from '../helpers.ts';
import { growCatalogue, readSubmission, TINY_CONFIG, type GrownCatalogue } from './grown-catalogue.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const before0 = join(tmp, 'before');
const grown = join(tmp, 'grown');
const model = join(tmp, 'model');
const config = join(tmp, 'config.json');

let original: Dataset;
let grownCatalogue: GrownCatalogue;

before(async () => {
  original = syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 });
  await writeDataset(before0, original);
  grownCatalogue = growCatalogue(original);
  await writeDataset(grown, grownCatalogue.dataset);
  writeFileSync(config, JSON.stringify(TINY_CONFIG));
  const r = runCli(['train', '--data', before0, '--model', model, '--holdout', '0.25', '--config', config, '--no-report']);
  assert.equal(r.status, 0, r.stderr);
  await initRuntime();
});

test('training records the catalogue and the TF-IDF weights; the same catalogue has no changes', async () => {
  for (const f of [MODEL_LAYOUT.catalogue, `${MODEL_LAYOUT.lexical}.bin`, `${MODEL_LAYOUT.lexical}.json`]) assert.ok(existsSync(join(model, f)), f);
  const folder = await openModel(model);
  const dataset = await loadDataset(before0);
  assert.deepEqual(folder.catalogue!.ids, dataset.content.map((c) => c.id));
  assert.deepEqual(folder.catalogue!.trained.columns?.content, ['id', 'title', 'description', 'kind', 'text', 'language', 'copyright_holder', 'license']);
  const changes = diffCatalogue(folder.catalogue!, dataset, model);
  assert.deepEqual(changes.counts, { added: 0, revived: 0, edited: 0, moved: 0, removed: 0, unchanged: dataset.content.length });
  assert.equal(catalogueDrift(folder.catalogue!, dataset).retrain, false);
});

test('diff by hand: added, edited, moved, removed and back again', () => {
  const content = (id: string, title: string, language = 'en'): Content => ({ id, title, description: '', kind: 'video', text: '', language, copyrightHolder: '', license: '' });
  const topics: Topic[] = [{ id: 't', title: 'T', description: '', channel: 'c', category: '', level: 0, language: 'en', parent: '', hasContent: true }];
  const v1 = buildDataset(topics, [content('a', 'A'), content('b', 'B'), content('c', 'C')], new Map([['t', ['a']]]));
  const cat = trainedCatalogue(v1);
  // b edited, c gone, d new, a moved to French.
  const v2 = buildDataset(topics, [content('d', 'D'), content('b', 'B2'), content('a', 'A', 'fr')], new Map([['t', ['a']]]));
  const d2 = diffCatalogue(cat, v2, 'm');
  assert.deepEqual(d2.counts, { added: 1, revived: 0, edited: 1, moved: 1, removed: 1, unchanged: 0 });
  // Labels: a=0, b=1, c=2 (removed), d=3 (new). Rows of v2: d, b, a.
  assert.deepEqual(Array.from(d2.labelOfRow), [3, 1, 0]);
  assert.deepEqual(Array.from(d2.rowOfLabel), [2, 1, -1, 0]);
  assert.deepEqual(Array.from(d2.encode).sort(), [0, 1, 2]);
  assert.deepEqual(d2.takeOut.sort((x, y) => x.label - y.label), [{ label: 0, language: 'en' }, { label: 2, language: 'en' }]);
  assert.deepEqual(d2.next.removed, [2]);
  assert.equal(d2.next.fingerprints[1], fingerprint(v2.content[1]));
  // c comes back: revived, encoded again, not new.
  const v3 = buildDataset(topics, [...v2.content, content('c', 'C')], new Map([['t', ['a']]]));
  const d3 = diffCatalogue(d2.next, v3, 'm');
  assert.deepEqual(d3.counts, { added: 0, revived: 1, edited: 0, moved: 0, removed: 0, unchanged: 3 });
  assert.equal(d3.labelOfRow[3], 2);
  // A content id reused for another kind is refused in one line.
  const v4 = buildDataset(topics, [{ ...content('a', 'A'), kind: 'exercise' }], new Map());
  assert.throws(() => diffCatalogue(cat, v4, 'models/m'), /content id "a" had kind "video" when the model in models\/m was trained and has kind "exercise" now/);
});

test('recommend serves the grown catalogue without retraining: new items found, removed never returned, edited re-encoded, a new language', async () => {
  const out = join(tmp, 'grown.csv');
  const r = runCli(['recommend', '--data', grown, '--model', model, '--out', out, '--stage', 'retrieve', '--no-report', '--log-json']);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
  const drift = events.find((e) => e.catalogue)?.catalogue;
  assert.deepEqual(drift.changes, grownCatalogue.changes);
  assert.deepEqual(drift.drift.newLanguages, [{ language: 'fr', items: 2 }]);
  assert.equal(drift.drift.newTopics, 2);
  const { removed, newTopic, edited, newItem } = grownCatalogue;
  const recs = readSubmission(out);
  const all = new Set([...recs.values()].flat());
  for (const id of removed) assert.ok(!all.has(id), `removed item ${id} was recommended`);
  // The new channel's topic finds the edited item (its new text), and the twin is found for its topic.
  assert.ok(recs.get(newTopic)?.includes(edited.id), `the edited item for the new topic: ${recs.get(newTopic)}`);
  assert.ok(all.has(newItem), 'the new item is recommended somewhere');
  // A model folder is not changed by recommend.
  assert.equal((await openModel(model)).catalogue!.generation, 0);
});

test('update saves the grown index; an interrupted update leaves the old one whole; updating twice is updating once', async () => {
  const dataset = await loadDataset(grown);
  const forest = buildForest(dataset);
  const beforeFiles = readdirSync(model).sort();
  const catalogueBefore = readFileSync(join(model, MODEL_LAYOUT.catalogue), 'utf8');
  await assert.rejects(updateIndex(await openModel(model), dataset, forest, { beforeCommit: () => { throw new Error('killed before the commit'); } }), /killed before the commit/);
  assert.equal(readFileSync(join(model, MODEL_LAYOUT.catalogue), 'utf8'), catalogueBefore, 'catalogue.json untouched');
  // The old index still loads and serves.
  const old = await openModel(model);
  const retriever = await loadRetriever(old, await loadDataset(before0), buildForest(await loadDataset(before0)));
  assert.equal((await retrieve(retriever, Uint32Array.of(0, 1))).length, 2);
  retriever.model.dispose();

  const first = runCli(['update', '--data', grown, '--model', model]);
  assert.equal(first.status, 0, first.stderr);
  const summary = JSON.parse(first.stdout);
  assert.equal(summary.changed, true);
  assert.equal(summary.index, 'index-1');
  assert.deepEqual(summary.changes, grownCatalogue.changes);
  const files = readdirSync(model).sort();
  assert.ok(files.includes('index-1') && !files.includes('index'), files.join(' '));
  assert.deepEqual(files.filter((f) => !f.startsWith('index')), beforeFiles.filter((f) => !f.startsWith('index')));
  const manifest = JSON.parse(readFileSync(join(model, 'index-1', 'manifest.json'), 'utf8'));
  assert.ok(manifest.partitions.some((p: { key: string }) => p.key === 'fr'), 'French has a partition of its own');
  const after1 = readFileSync(join(model, MODEL_LAYOUT.catalogue), 'utf8');
  const second = runCli(['update', '--data', grown, '--model', model]);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).changed, false);
  assert.equal(readFileSync(join(model, MODEL_LAYOUT.catalogue), 'utf8'), after1, 'the second update writes nothing');
  // Recommending from the updated index gives the same lists as updating in memory did.
  const a = join(tmp, 'after-update.csv');
  assert.equal(runCli(['recommend', '--data', grown, '--model', model, '--out', a, '--stage', 'retrieve', '--no-report']).status, 0);
  assert.deepEqual(readFileSync(a, 'utf8'), readFileSync(join(tmp, 'grown.csv'), 'utf8'));
});

test('bad input: a content id of another kind, a column training read, a broken index: one line, exit 2, nothing written', async () => {
  const kinds = join(tmp, 'kinds');
  const dataset = await loadDataset(before0);
  const changed = buildDataset(dataset.topics, dataset.content.map((c, i) => (i === 0 ? { ...c, kind: `${c.kind}-other` } : c)), new Map(dataset.topics.map((t, i) => [t.id, Array.from(dataset.links[i], (c) => dataset.content[c].id)] as [string, string[]]).filter(([, l]) => l.length)));
  await writeDataset(kinds, changed);
  const out = join(tmp, 'never.csv');
  const kind = runCli(['recommend', '--data', kinds, '--model', model, '--out', out]);
  assert.equal(kind.status, 2, kind.stderr);
  assert.match(kind.stderr, /had kind ".*" when the model in .* was trained and has kind ".*-other" now\. A new item needs a new id/);
  assert.equal(kind.stderr.trim().split('\n').filter((l) => /error/.test(l)).length, 1);
  // content.csv without the description column the model was trained with.
  const narrow = join(tmp, 'narrow');
  await writeDataset(narrow, dataset);
  const lines = readFileSync(join(narrow, 'content.csv'), 'utf8').split('\n');
  writeFileSync(join(narrow, 'content.csv'), `id,title,kind,language\n${dataset.content.map((c) => `${c.id},${c.title},${c.kind},${c.language}`).join('\n')}\n`);
  assert.ok(lines.length > 2);
  const schema = runCli(['update', '--data', narrow, '--model', model]);
  assert.equal(schema.status, 2, schema.stderr);
  assert.match(schema.stderr, /content\.csv: lacks the columns description, text that the model in .* was trained with: every item's text would change/);
  // A broken index: the current generation's manifest damaged.
  const current = (await openModel(model)).catalogue!.index;
  const manifest = join(model, current, 'manifest.json');
  const good = readFileSync(manifest, 'utf8');
  writeFileSync(manifest, '{');
  const broken = runCli(['recommend', '--data', grown, '--model', model, '--out', out]);
  assert.equal(broken.status, 2, broken.stderr);
  assert.match(broken.stderr, /manifest\.json must be valid JSON.*Rebuild the index/);
  writeFileSync(manifest, good);
  assert.ok(!existsSync(out));
});
