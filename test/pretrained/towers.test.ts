/**
 * The towers on pretrained features (encoder kind 'pretrained'), end to end
 * through the CLI with the tiny BERT fixture: vectors are cached once and
 * reused, the model records which encoder it read, and recommend refuses a
 * different encoder.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { writeDataset } from '../../src/index.ts';
import { FEATURES } from '../../src/pipeline/rerank.ts';
import { REPO, runCli, tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const data = join(tmp, 'data');
const encoderDir = join(tmp, 'tiny-bert');
const cacheDir = join(tmp, 'cache');

/** A config file for the tiny BERT: `encoder` merged into the encoder section, `sections` replacing whole sections. */
function config(name: string, encoder: Record<string, unknown>, sections: Record<string, unknown> = {}): string {
  const path = join(tmp, `${name}.json`);
  writeFileSync(path, JSON.stringify({
    lexical: { buckets: 1 << 14 },
    encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32, kind: 'pretrained', model: encoderDir, cacheDir, maxLength: 16, workers: 1, ...encoder },
    training: { epochs: 2, batchSize: 16, patience: 2 },
    index: { M: 8, efConstruction: 50, efSearch: 50 },
    retrieval: { topK: 10, lexicalTopK: 10 },
    rerank: { enabled: false },
    ...sections,
  }));
  return path;
}

before(async () => {
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 3, depth: 2, contentPerLeaf: 4, seed: 3 }));
  cpSync(join(REPO, 'test', 'fixtures', 'tiny-bert'), encoderDir, { recursive: true });
});

test('train reads pretrained vectors, caches them once, and records the encoder in the model', () => {
  const model = join(tmp, 'model-bag');
  const first = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', config('bag', {})]);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /0 of \d+ distinct texts cached .*, encoding \d+/);
  const meta = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
  assert.equal(meta.pretrained.dim, 32);
  assert.equal(meta.shape.pretrainedDim, 32);
  assert.match(meta.pretrained.id, /^[0-9a-f]{16}$/);
  const [folder] = readdirSync(cacheDir);
  const rows = statSync(join(cacheDir, folder, 'keys.bin')).size / 16;
  assert.equal(statSync(join(cacheDir, folder, 'vectors.f32')).size, rows * 32 * 4);
  assert.ok(rows > 50, `${rows} cached texts`);

  const second = runCli(['train', '--data', data, '--model', join(tmp, 'model-bag-2'), '--holdout', '0.25', '--config', config('bag', {})]);
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stderr, new RegExp(`${rows} of ${rows} distinct texts cached`));
  assert.equal(statSync(join(cacheDir, folder, 'keys.bin')).size, rows * 16, 'nothing is encoded twice');

  const out = join(tmp, 'rec.csv');
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out, '--stage', 'retrieve']);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).neural['recall@10'] > 0);
});

test('with bag false the towers read the pretrained vectors alone', () => {
  const model = join(tmp, 'model-alone');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', config('alone', { bag: false })]);
  assert.equal(r.status, 0, r.stderr);
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'alone.csv'), '--stage', 'retrieve']);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).neural['recall@10'] > 0);
});

test('recommend refuses a model whose pretrained encoder changed since training', () => {
  const model = join(tmp, 'model-changed');
  const changed = join(tmp, 'tiny-bert-changed');
  cpSync(encoderDir, changed, { recursive: true });
  assert.equal(runCli(['train', '--data', data, '--model', model, '--config', config('changed', { model: changed })]).status, 0);
  cpSync(join(REPO, 'test', 'fixtures', 'tiny-bert-f16', 'model.safetensors'), join(changed, 'model.safetensors'));
  const r = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'changed.csv'), '--stage', 'retrieve']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /is not the one the model was trained with/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  rmSync(changed, { recursive: true });
  const gone = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'changed.csv'), '--stage', 'retrieve']);
  assert.equal(gone.status, 2, gone.stderr);
  assert.match(gone.stderr, /reads the pretrained encoder in .*tiny-bert-changed, which is missing\. Restore that directory/);
});

test("a config with kind 'pretrained' and no model is a one-line error", () => {
  const path = join(tmp, 'nomodel.json');
  writeFileSync(path, JSON.stringify({ encoder: { kind: 'pretrained' } }));
  const r = runCli(['train', '--data', data, '--model', join(tmp, 'm'), '--config', path]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /encoder\.model must be a model folder or Hugging Face id when encoder\.kind is 'pretrained' \(got \"\"\)/);
});

test('fineTuneLayers trains the top transformer layer with the towers and recommend reloads it', async () => {
  const { loadWeights } = await import('../../src/runtime/weights.ts');
  const { parseSafetensors } = await import('../../src/pretrained/safetensors.ts');
  const model = join(tmp, 'model-fine');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', config('fine', { fineTuneLayers: 1, fineTuneLearningRate: 1e-3 })]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /fine-tuning the top 1 of 2 layers/);
  const weights = await loadWeights(model, 'weights');
  const names = weights.map((w) => w.name);
  assert.ok(names.includes('bert/encoder.layer.1.attention.self.query.kernel'), names.join(' '));
  assert.ok(!names.some((n) => n.startsWith('bert/encoder.layer.0.')), 'the frozen layer is not saved');
  // The trained kernel moved away from the checkpoint's (stored [out, in]; saved [in, out]).
  const original = parseSafetensors(readFileSync(join(encoderDir, 'model.safetensors'))).get('encoder.layer.1.attention.self.query.weight')!;
  const tuned = weights.find((w) => w.name === 'bert/encoder.layer.1.attention.self.query.kernel')!;
  let moved = 0;
  for (let o = 0; o < 32; o++) for (let i = 0; i < 32; i++) moved = Math.max(moved, Math.abs(tuned.values[i * 32 + o] - original.values![o * 32 + i]));
  assert.ok(moved > 1e-4, `largest change ${moved}`);
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'fine.csv'), '--stage', 'retrieve']);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).neural['recall@10'] > 0);
});

test('GraphSAGE in both towers over pretrained vectors (the neighbours\' content, an item\'s topics), with a fine-tuned layer too', () => {
  const path = config('hetero', { fineTuneLayers: 1, fineTuneLearningRate: 1e-3 }, { graphsage: { aggregator: 'hetero-attention', fanouts: [3], contentFanout: 2, contentTopics: 2 } });
  const model = join(tmp, 'model-hetero');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', path]);
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
  assert.deepEqual([meta.shape.graphsage, meta.shape.contentFanout, meta.shape.contentTopics, meta.shape.pretrainedDim], ['hetero-attention', 2, 2, 32]);
  const names = JSON.parse(readFileSync(join(model, 'weights.json'), 'utf8')).tensors.map((e: { name: string }) => e.name);
  assert.ok(names.includes('candidate/topics'), `the candidate tower's topic weights are saved: ${names.join(', ')}`);
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'hetero.csv'), '--stage', 'retrieve']);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).neural['recall@10'] > 0);
});

test('--encoder DIR selects the pretrained encoder; a wrong directory is one line naming what is missing', () => {
  const r = runCli(['train', '--data', data, '--model', join(tmp, 'm-enc'), '--encoder', join(tmp, 'no-such-model'), '--config', config('enc', { model: '' , kind: 'hashed' })]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /no-such-model: no such model directory, and not a Hugging Face model id \(org\/name\)\. Point --encoder/);
  assert.equal(r.stderr.trim().split('\n').filter((l) => /error/i.test(l)).length, 1);
  const ok = runCli(['train', '--data', data, '--model', join(tmp, 'm-enc'), '--encoder', encoderDir, '--config', config('enc', { model: '', kind: 'hashed' })]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'm-enc', 'model.json'), 'utf8')).pretrained.dim, 32);
});

test('rerank.sentenceProduct gives the reranker one side feature per sentence-vector dimension, and recommend reads them back', async () => {
  // Enough topics for the reranker's own training and tuning topics.
  const data = join(tmp, 'data-product');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 4, seed: 3 }));
  const path = config('product', {}, { rerank: { enabled: true, epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32, sentenceProduct: true } });
  const model = join(tmp, 'model-product');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', path]);
  assert.equal(r.status, 0, r.stderr);
  const reranker = JSON.parse(readFileSync(join(model, 'reranker', 'model.json'), 'utf8'));
  assert.equal(reranker.featureCount, FEATURES + 32, 'the 13 named features and the product of two 32-d vectors');
  const out = join(tmp, 'product.csv');
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(readFileSync(out, 'utf8').trim().split('\n').length > 1);
});

test("rerank.model 'pretrained' trains the encoder's top layer as the cross-encoder; recommend loads it from the model folder and the pretrained folder", async () => {
  const data = join(tmp, 'data-joint');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 4, seed: 5 }));
  const path = config('joint', {}, { rerank: { enabled: true, epochs: 1, model: 'pretrained', jointLayers: 1, maxLength: 24 } });
  const model = join(tmp, 'model-joint');
  const r = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', path]);
  assert.equal(r.status, 0, r.stderr);
  const reranker = JSON.parse(readFileSync(join(model, 'reranker', 'model.json'), 'utf8'));
  assert.equal(reranker.format, 'trellis-pretrained-cross-encoder');
  assert.equal(reranker.pretrained.dir, encoderDir);
  assert.deepEqual([reranker.config.jointLayers, reranker.config.maxTopicTokens, reranker.config.maxContentTokens], [1, 6, 14]);
  const out = join(tmp, 'joint.csv');
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).reranked.f2 >= 0);
  // A hashed encoder has no pretrained model to start the cross-encoder from.
  const bad = config('joint-bad', { kind: 'hashed', model: '' }, { rerank: { model: 'pretrained' } });
  const refused = runCli(['train', '--data', data, '--model', join(tmp, 'model-joint-bad'), '--config', bad]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /rerank\.model.*encoder\.kind is 'pretrained'/);
});
