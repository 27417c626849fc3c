import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { buildDataset, writeDataset, readRecommendations } from '../../src/index.ts';
import { runCli, tempDir } from '../helpers.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { loadDataset } from '../../src/data/lecr.ts';
import { buildForest } from '../../src/graph/forest.ts';
import { loadRetriever, modelContext, retrieve } from '../../src/pipeline/recommend.ts';
import { FEATURE_NAMES, rerankTable } from '../../src/pipeline/rerank.ts';
import { loadReranker, openModel, rerankerDir } from '../../src/pipeline/artifact.ts';
import { applyDecisionRule } from '../../src/rerank/threshold.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const data = join(tmp, 'data');
const model = join(tmp, 'model');
const config = join(tmp, 'config.json');

/** A small model: the pipeline end to end in seconds. */
const TINY_CONFIG = {
  lexical: { buckets: 1 << 14 },
  encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
  graphsage: { aggregator: 'mean', fanouts: [3, 2] },
  training: { epochs: 3, batchSize: 16, patience: 3 },
  index: { M: 8, efConstruction: 50, efSearch: 50 },
  // Lists as short as the catalogue is small (160 items): a 100-item pool would be most of it.
  retrieval: { topK: 10, lexicalTopK: 10, fusionDepth: 20, fusedTopK: 15 },
  rerank: { epochs: 2, hidden: 16, layers: 1, heads: 2, maxLength: 32 },
};

before(async () => {
  // 2 channels x (1 + 4 + 16) topics, 32 leaves with about 5 items each.
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 7 }));
  writeFileSync(config, JSON.stringify(TINY_CONFIG));
});

test('train writes the model, its index and the reranker', () => {
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', config]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.match(summary.modelId, /^tt-[0-9a-f]{12}$/);
  assert.ok(summary.validationRecall >= 0 && summary.validationRecall <= 1);
  for (const f of ['model.json', 'weights.bin', 'weights.json', 'index/manifest.json', 'reranker/decision-rule.json']) assert.ok(existsSync(join(model, f)), f);
  assert.ok(!existsSync(join(model, 'checkpoint')), 'the checkpoint is removed after a finished run');
  assert.match(r.stderr, /epoch 1\/3/);
});

test('recommend --topics held-out scores every stage and writes the LECR CSV', () => {
  const out = join(tmp, 'rec.csv');
  const r = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  for (const stage of ['neural', 'lexical', 'fused', 'reranked']) assert.ok(s[stage]['recall@10'] >= 0 && s[stage]['recall@10'] <= 1, stage);
  // Content titles repeat their leaf topic's words: the trained pipeline must find a good share.
  assert.ok(s.reranked.f2 > 0.3, `final F2 ${s.reranked.f2}`);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'topic_id,content_ids');
  assert.equal(lines.length - 1, s.topics);
  for (const line of lines.slice(1)) assert.match(line, /^t[\d.]+,(c\d+( c\d+)*)$/, 'every topic gets at least one item');
});

test('Arrow and Parquet exports carry stage scores, explanations and the model id', async () => {
  for (const ext of ['arrow', 'parquet']) {
    const out = join(tmp, `rec.${ext}`);
    const r = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const { table, metadata } = await readRecommendations(out);
    assert.ok(table.length > 0);
    assert.deepEqual([...table.stages.keys()], ['retrieval', 'lexical', 'fused', 'rerank']);
    assert.match(metadata!.modelId, /^tt-/);
    assert.equal(table.rank[0], 1);
  }
});

test('--stage retrieve stops after retrieval', async () => {
  const out = join(tmp, 'cand.arrow');
  const r = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out, '--stage', 'retrieve']);
  assert.equal(r.status, 0, r.stderr);
  const { table } = await readRecommendations(out);
  assert.deepEqual([...table.stages.keys()], ['retrieval', 'lexical', 'fused']);
});

test('--rerank-candidates N reranks only the first N fused candidates of each topic', () => {
  const out = join(tmp, 'rec-head.csv');
  const r = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out, '--rerank-candidates', '2']);
  assert.equal(r.status, 0, r.stderr);
  for (const line of readFileSync(out, 'utf8').trim().split('\n').slice(1)) assert.ok(line.split(',')[1].split(' ').length <= 2, line);
  const bad = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'z.csv'), '--rerank-candidates', 'all']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--rerank-candidates must be an integer from 0/);
});

test('reranking on worker threads gives the same probabilities and table as on this thread', async () => {
  await initRuntime();
  const dataset = await loadDataset(data);
  const forest = buildForest(dataset);
  const folder = await openModel(model);
  const retriever = await loadRetriever(folder, dataset, forest);
  // Every topic three times over: more than one chunk of 256 topics.
  const topics = Uint32Array.from({ length: 3 * dataset.topics.length }, (_, i) => i % dataset.topics.length);
  const candidates = await retrieve(retriever, topics);
  retriever.model.dispose();
  const context = modelContext(dataset, retriever.meta.heldOut);
  const { reranker, rule } = await loadReranker(folder, FEATURE_NAMES);
  try {
    const here = await rerankTable(dataset, forest, context, reranker, rule, topics, candidates, 10, { workers: 1 });
    const progress: number[] = [];
    const there = await rerankTable(dataset, forest, context, reranker, rule, topics, candidates, 10, { workers: 2, dir: rerankerDir(folder), onProgress: (done) => progress.push(done) });
    assert.equal(progress.at(-1), topics.length);
    assert.equal(there.probabilities.length, topics.length);
    there.probabilities.forEach((p, i) => p.forEach((v, j) => assert.ok(Math.abs(v - here.probabilities[i][j]) < 1e-6, `topic ${i}, candidate ${j}`)));
    assert.deepEqual(Array.from(there.table.content), Array.from(here.table.content));
    const head = await rerankTable(dataset, forest, context, reranker, rule, topics, candidates, 10, { workers: 1, maxCandidates: 3 });
    head.candidates.forEach((c, i) => {
      assert.deepEqual(Array.from(c.rows), Array.from(candidates[i].rows.subarray(0, 3)));
      assert.equal(head.probabilities[i].length, c.rows.length);
    });
    // Content competition: each row's score is p * p / (the item's best p over all topics), its rerank stage p.
    const best = new Map<number, number>();
    here.probabilities.forEach((p, i) => p.forEach((v, j) => best.set(candidates[i].rows[j], Math.max(best.get(candidates[i].rows[j]) ?? 0, v))));
    const competed = await rerankTable(dataset, forest, context, reranker, rule, topics, candidates, 10, { workers: 1, compete: 1 });
    const stage = competed.table.stages.get('rerank')!;
    let lowered = 0;
    for (let r = 0; r < competed.table.length; r++) {
      const p = stage[r];
      const expected = (p * p) / best.get(competed.table.content[r])!;
      assert.ok(Math.abs(competed.table.score[r] - expected) < 1e-6, `row ${r}: score ${competed.table.score[r]}, expected ${expected}`);
      if (expected < p - 1e-6) lowered++;
    }
    assert.ok(lowered > 0, 'some item is wanted by more than one topic');
    // The decision rule cut the competed scores: each topic keeps exactly what the rule keeps of them, in their order.
    let row = 0;
    competed.scores.forEach((s, i) => {
      const kept = Array.from(applyDecisionRule(rule, s), (j) => candidates[i].rows[j]);
      const got: number[] = [];
      while (row < competed.table.length && competed.table.topic[row] === i) got.push(competed.table.content[row++]);
      assert.deepEqual(got, kept, `topic ${i}`);
    });
    assert.equal(row, competed.table.length);
    // A pair context of another feature width is refused before any scoring.
    const wide = { ...context, product: { dim: 3, topics: new Float32Array(3 * dataset.topics.length), content: new Float32Array(3 * dataset.content.length) } };
    await assert.rejects(rerankTable(dataset, forest, wide, reranker, rule, topics, candidates, 10, { workers: 1 }), /reads \d+ side features per pair, but the pair context gives \d+/);
  } finally {
    reranker.dispose();
  }
});

test('a model for other data, or with corrupt weights, is a clear error', async () => {
  const other = join(tmp, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'topics.csv'), 'id,title\nt,T\n');
  writeFileSync(join(other, 'content.csv'), 'id,title\nc,C\n');
  writeFileSync(join(other, 'correlations.csv'), 'topic_id,content_ids\nt,c\n');
  // Files without the columns the model was trained with would change every item: refused in one line.
  const mismatch = runCli(['recommend', '--data', other, '--model', model, '--out', join(tmp, 'x.csv')]);
  assert.equal(mismatch.status, 2);
  assert.match(mismatch.stderr, /content\.csv: lacks the columns description, text, kind, language that the model in .* was trained with: every item's text would change/);
  // With the columns, a catalogue of nothing but new items is served, with the advice to retrain.
  const fresh = syntheticDataset({ channels: 1, branching: 2, depth: 1, contentPerLeaf: 3, seed: 99 });
  const renamed = (id: string) => `other-${id}`;
  await writeDataset(other, buildDataset(fresh.topics.map((t) => ({ ...t, id: renamed(t.id), parent: t.parent && renamed(t.parent) })), fresh.content.map((c) => ({ ...c, id: renamed(c.id) })),
    new Map(fresh.topics.map((t, i) => [renamed(t.id), Array.from(fresh.links[i], (c) => renamed(fresh.content[c].id))] as [string, string[]]).filter(([, l]) => l.length))));
  const drift = runCli(['recommend', '--data', other, '--model', model, '--out', join(tmp, 'x.csv')]);
  assert.equal(drift.status, 0, drift.stderr);
  assert.match(drift.stderr, /retraining suggested: 100\.0% of the items are new/);
  const bytes = readFileSync(join(model, 'weights.bin'));
  bytes[100] ^= 0xff;
  writeFileSync(join(model, 'weights.bin'), bytes);
  const corrupt = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'y.csv')]);
  assert.equal(corrupt.status, 2);
  assert.match(corrupt.stderr, /must have sha256 [0-9a-f]{12}\.\.\. \(got [0-9a-f]{12}\.\.\.; the file is corrupt\)/);
  assert.doesNotMatch(corrupt.stderr, /\n\s+at /);
  assert.ok(!existsSync(join(tmp, 'y.csv')));
});
