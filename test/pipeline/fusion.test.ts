import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { writeDataset } from '../../src/index.ts';
import { FUSION_FEATURE_NAMES } from '../../src/retrieval/fusion.ts';
import { runCli, tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

const base = {
  lexical: { buckets: 1 << 14 },
  encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
  training: { epochs: 2, batchSize: 16, patience: 2 },
  index: { M: 8, efConstruction: 50, efSearch: 50 },
  retrieval: { topK: 10, lexicalTopK: 10, fusion: 'learned', fusionDepth: 30, fusedTopK: 12 },
  rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32 },
};

const candidatesPerTopic = (csv: string) => readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((line) => line.split(',')[1].split(' ').length);

test('learned fusion: fitted on the validation topics, saved with the model, ranks the cross-fitted candidates and the recommendations', async () => {
  const data = join(tmp, 'data');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 13 }));
  const fittedOn = (stderr: string) => Number(/learned fusion fitted on (\d+) topics/.exec(stderr)?.[1]);
  const validating = (stderr: string) => Number(/validating on (\d+)/.exec(stderr)?.[1]);

  writeFileSync(join(tmp, 'retrieval-only.json'), JSON.stringify({ ...base, rerank: { enabled: false } }));
  const plain = runCli(['train', '--data', data, '--model', join(tmp, 'plain'), '--holdout', '0.25', '--config', join(tmp, 'retrieval-only.json')]);
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(fittedOn(plain.stderr), validating(plain.stderr));
  // A model saved before retrieval.fusion existed (no key, no fusion.json) joins its lists by reciprocal rank fusion.
  const metaFile = join(tmp, 'plain', 'model.json');
  const saved = JSON.parse(readFileSync(metaFile, 'utf8'));
  delete saved.config.retrieval.fusion;
  delete saved.config.retrieval.fusionDepth;
  delete saved.config.retrieval.fusedTopK;
  writeFileSync(metaFile, JSON.stringify(saved));
  rmSync(join(tmp, 'plain', 'fusion.json'));
  const old = runCli(['recommend', '--data', data, '--model', join(tmp, 'plain'), '--topics', 'held-out', '--out', join(tmp, 'old.csv')]);
  assert.equal(old.status, 0, old.stderr);
  assert.doesNotMatch(old.stderr, /deep/);
  assert.ok(candidatesPerTopic(join(tmp, 'old.csv')).some((n) => n > 12), 'the union of the neural and lexical top 10, not the fusion\'s 12');

  writeFileSync(join(tmp, 'cf.json'), JSON.stringify({ ...base, rerank: { ...base.rerank, crossFit: 2 } }));
  const model = join(tmp, 'cf');
  const cf = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', join(tmp, 'cf.json')]);
  assert.equal(cf.status, 0, cf.stderr);
  assert.equal(fittedOn(cf.stderr), validating(cf.stderr));
  // The cross-fitted topics' pools, ranked by the fitted fusion, join the reranker's training topics.
  assert.match(cf.stderr, /cross-fit fold 2\/2/);
  assert.ok(Number(/reranker(?: \(fold 1\/\d+\))?: \d+ training pairs from (\d+) topics/.exec(cf.stderr)?.[1]) > 3 * validating(cf.stderr), cf.stderr);
  const stored = JSON.parse(readFileSync(join(model, 'fusion.json'), 'utf8'));
  assert.deepEqual(stored.features, FUSION_FEATURE_NAMES);
  assert.equal(stored.topics, fittedOn(cf.stderr));

  const retrieved = join(tmp, 'retrieved.csv');
  const r = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', retrieved, '--stage', 'retrieve']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /retrieved candidates for \d+ topics, 30 deep/);
  assert.ok(candidatesPerTopic(retrieved).every((n) => n <= 12));
  assert.ok(candidatesPerTopic(retrieved).some((n) => n === 12));
  // Content titles repeat their leaf topic's words: the fused list must find most links.
  assert.ok(JSON.parse(r.stdout).fused['recall@10'] > 0.5, r.stdout);
  const short = join(tmp, 'short.csv');
  assert.equal(runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', short, '--stage', 'retrieve', '--top-k', '4']).status, 0);
  assert.ok(candidatesPerTopic(short).every((n) => n <= 4));
  const full = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'full.csv')]);
  assert.equal(full.status, 0, full.stderr);
  assert.ok(JSON.parse(full.stdout).reranked.f2 > 0.3, full.stdout);

  // A damaged fusion file is refused in one line, before anything is written.
  writeFileSync(join(model, 'fusion.json'), JSON.stringify({ ...stored, weights: [1, 2] }));
  const broken = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'broken.csv')]);
  assert.equal(broken.status, 2);
  assert.match(broken.stderr, /fusion\.json: weights must be 13 finite numbers/);
  assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!existsSync(join(tmp, 'broken.csv')));
});

test('with too few validation topics the fusion is skipped and the model is saved with reciprocal rank fusion', async () => {
  const data = join(tmp, 'few');
  await writeDataset(data, syntheticDataset({ channels: 1, branching: 3, depth: 2, contentPerLeaf: 3, seed: 5 }));
  writeFileSync(join(tmp, 'few.json'), JSON.stringify({ ...base, training: { ...base.training, validationFraction: 0.05 }, rerank: { enabled: false } }));
  const model = join(tmp, 'few-model');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', join(tmp, 'few.json')]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /learned fusion: skipped, \d validation topics are too few to fit it on \(need 4\); candidates are joined by reciprocal rank fusion/);
  assert.equal(JSON.parse(readFileSync(join(model, 'model.json'), 'utf8')).config.retrieval.fusion, 'rrf');
  assert.ok(!existsSync(join(model, 'fusion.json')));
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'few.csv')]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.doesNotMatch(rec.stderr, /deep/);
});
