/**
 * The cross-encoder that starts from a pretrained encoder (tiny BERT
 * fixture): it learns pairs from their text alone, its lower-layer states
 * are the same kept or recomputed, it saves and loads (also as an ensemble
 * member), and it refuses pairs tokenised for another model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initRuntime } from '../../src/runtime/backend.ts';
import { mulberry32 } from '../../src/random.ts';
import { rocAuc } from '../../src/eval/auc.ts';
import { DataError, ArtifactError } from '../../src/errors.ts';
import { PretrainedCrossEncoder } from '../../src/rerank/pretrained-cross-encoder.ts';
import { RerankerEnsemble } from '../../src/rerank/ensemble.ts';
import { tokenizeTexts, type PairSet } from '../../src/rerank/tokens.ts';
import { REPO, tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const BERT = join(tmp, 'tiny-bert');

// The tiny vocabulary's words: content i names topic i's word; every topic meets every item.
const TOPICS = ['cat', 'mat', 'fraction', 'decimal', 'word', 'cafe'];
const CONTENTS = ['the cat sat', 'on the mat', 'adding fractions', 'a decimal', 'an unknown word', 'the cafe'];

function pairs(model: PretrainedCrossEncoder): PairSet {
  const rng = mulberry32(5);
  const n = TOPICS.length * CONTENTS.length;
  return {
    topics: model.tokenize(TOPICS),
    contents: model.tokenize(CONTENTS),
    topicIndex: Uint32Array.from({ length: n }, (_, p) => Math.floor(p / CONTENTS.length)),
    contentIndex: Uint32Array.from({ length: n }, (_, p) => p % CONTENTS.length),
    features: Float32Array.from({ length: n }, () => rng()), // noise: the labels are in the text only
    labels: Uint8Array.from({ length: n }, (_, p) => (Math.floor(p / CONTENTS.length) === p % CONTENTS.length ? 1 : 0)),
  };
}

before(async () => {
  await initRuntime();
  cpSync(join(REPO, 'test', 'fixtures', 'tiny-bert'), BERT, { recursive: true });
});

test('learns which item belongs to which topic from the text alone', async () => {
  const model = await PretrainedCrossEncoder.create(1, { dir: BERT, id: '' }, { jointLayers: 1, maxTopicTokens: 4, maxContentTokens: 8, seed: 3 });
  const set = pairs(model);
  const report = await model.train(set, { epochs: 60, batchSize: 12, learningRate: 1e-2, encoderLearningRate: 1e-3 });
  assert.ok(report.epochs.at(-1)!.trainLoss < report.epochs[0].trainLoss * 0.5, `loss ${report.epochs[0].trainLoss} -> ${report.epochs.at(-1)!.trainLoss}`);
  const auc = rocAuc(model.score(set), set.labels!);
  assert.ok(auc > 0.95, `AUC ${auc}`);

  // Saved and loaded (alone and as an ensemble's only member), it scores the same.
  const dir = join(tmp, 'reranker');
  await model.save(dir);
  const again = await PretrainedCrossEncoder.load(dir);
  assert.deepEqual(again.score(pairs(again)), model.score(set));
  const ensemble = await RerankerEnsemble.load(dir);
  assert.deepEqual(ensemble.score(pairs(again)), model.score(set));
  ensemble.dispose();
  again.dispose();

  // A pretrained folder that changed since training is refused.
  const file = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
  file.pretrained.id = 'something-else';
  writeFileSync(join(dir, 'model.json'), JSON.stringify(file));
  await assert.rejects(PretrainedCrossEncoder.load(dir), ArtifactError);
  model.dispose();
});

test('lower-layer states recomputed per call (no cache) score as kept ones do', async () => {
  const kept = await PretrainedCrossEncoder.create(1, { dir: BERT, id: '' }, { jointLayers: 1, seed: 1 });
  const none = await PretrainedCrossEncoder.create(1, { dir: BERT, id: '' }, { jointLayers: 1, seed: 1, cacheMiB: 0 });
  const a = pairs(kept);
  await kept.train(a, { epochs: 2, batchSize: 8 });
  await none.train(pairs(none), { epochs: 2, batchSize: 8 });
  assert.deepEqual(none.score(pairs(none)), kept.score(a));
  kept.dispose();
  none.dispose();
});

test('pairs tokenised for another model, or naming texts that are not there, are refused', async () => {
  const model = await PretrainedCrossEncoder.create(1, { dir: BERT, id: '' }, { jointLayers: 1 });
  const set = pairs(model);
  await model.train(set, { epochs: 1 });
  assert.throws(() => model.score({ ...set, topics: tokenizeTexts(TOPICS, 1 << 10, 8) }), DataError);
  assert.throws(() => model.score({ ...set, topicIndex: set.topicIndex.map((t) => t + 100) }), DataError);
  assert.throws(() => model.score({ ...set, features: new Float32Array(3) }), DataError);
  model.dispose();
});
