import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkModelMeta, checkpointStore, loadFusion, loadReranker, openModel, readModelMeta, saveFusion, MODEL_FORMAT, MODEL_LAYOUT,
} from '../../src/pipeline/artifact.ts';
import { FUSION_FEATURES, FUSION_FEATURE_NAMES } from '../../src/retrieval/fusion.ts';
import { DEFAULT_RUN_CONFIG } from '../../src/config.ts';
import { ArtifactError } from '../../src/errors.ts';
import { loadWeights, saveWeights } from '../../src/runtime/weights.ts';
import { tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

/** An ArtifactError of one line whose message matches `pattern`. */
function artifactError(pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof ArtifactError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.toLine().includes('\n'));
    return true;
  };
}

/** A model.json as training writes it (the fields the reader checks). */
function meta(overrides: Record<string, unknown> = {}) {
  return {
    format: MODEL_FORMAT,
    modelId: 'tt-000000000000',
    seed: 42,
    config: DEFAULT_RUN_CONFIG,
    shape: { encoder: { vocab: 16, dim: 4, hidden: 4, maxFeatures: 8 }, graphsage: 'off', layers: 0, kinds: 1, languages: 1 },
    kinds: [''],
    languages: [''],
    dataset: { content: 2, contentChecksum: 'abc', topics: 2 },
    heldOut: [],
    training: { history: [], bestEpoch: 0, bestRecall: 0, initialRecall: 0, examplesPerSecond: 0, seconds: 0, backend: 'wasm' },
    createdAt: '2026-12-04T00:00:00.000Z',
    ...overrides,
  };
}

test('model.json is schema-checked when read: missing, corrupt or foreign files are one-line errors', async () => {
  const dir = join(tmp, 'meta');
  await assert.rejects(readModelMeta(dir), artifactError(/no trained model here \(model\.json is missing\)/));
  mkdirSync(dir, { recursive: true });
  const path = join(dir, MODEL_LAYOUT.meta);
  writeFileSync(path, '{"format": "trellis-two');
  await assert.rejects(readModelMeta(dir), artifactError(/model\.json: not valid JSON \(corrupt file\)/));
  writeFileSync(path, JSON.stringify(meta({ format: 'other/1' })));
  await assert.rejects(readModelMeta(dir), artifactError(/model\.json: format must be trellis-two-tower\/1 \(got "other\/1"\)/));
  writeFileSync(path, JSON.stringify(meta({ shape: { encoder: { vocab: 16 }, graphsage: 'off', layers: 0, kinds: 1, languages: 1 } })));
  await assert.rejects(readModelMeta(dir), artifactError(/shape\.encoder\.dim must be a non-negative integer/));
  writeFileSync(path, JSON.stringify(meta({ heldOut: 'all' })));
  await assert.rejects(readModelMeta(dir), artifactError(/heldOut must be a list of topic ids/));
  assert.throws(() => checkModelMeta([], 'x/model.json', 'hint'), artifactError(/x\/model\.json: must hold a JSON object/));
  writeFileSync(path, JSON.stringify(meta({ config: { ...DEFAULT_RUN_CONFIG, retrieval: { ...DEFAULT_RUN_CONFIG.retrieval, fusion: 'rrf' } } })));
  const folder = await openModel(dir);
  assert.equal(folder.meta.modelId, 'tt-000000000000');
  assert.equal(folder.fusion, undefined);
  assert.equal(folder.hasReranker, false);
  await assert.rejects(loadReranker(folder, ['a']), artifactError(/the model has no reranker/));
});

test('fusion.json round-trips; a missing, corrupt or foreign file is an ArtifactError', async () => {
  const dir = join(tmp, 'fusion');
  const model = { weights: Array.from({ length: FUSION_FEATURES }, (_, i) => i / 10), bias: -2 };
  await assert.rejects(loadFusion(dir), artifactError(/fusion\.json: missing/));
  mkdirSync(dir, { recursive: true });
  await saveFusion(dir, model, { topics: 3 });
  assert.deepEqual(await loadFusion(dir), model);
  const path = join(dir, MODEL_LAYOUT.fusion);
  writeFileSync(path, '{not json');
  await assert.rejects(loadFusion(dir), artifactError(/not valid JSON/));
  writeFileSync(path, JSON.stringify({ features: ['a'], ...model }));
  await assert.rejects(loadFusion(dir), artifactError(/other features/));
  writeFileSync(path, JSON.stringify({ features: FUSION_FEATURE_NAMES, weights: [1], bias: 0 }));
  await assert.rejects(loadFusion(dir), artifactError(/finite numbers/));
  // The learned fusion of model.json is loaded (and checked) when the folder is opened.
  writeFileSync(join(dir, MODEL_LAYOUT.meta), JSON.stringify(meta()));
  await assert.rejects(openModel(dir), artifactError(/fusion\.json: weights must be 13 finite numbers/));
});

test('a corrupt decision-rule.json is a one-line error, not a SyntaxError', async () => {
  const dir = join(tmp, 'rule');
  mkdirSync(join(dir, MODEL_LAYOUT.reranker), { recursive: true });
  writeFileSync(join(dir, MODEL_LAYOUT.meta), JSON.stringify(meta({ config: { ...DEFAULT_RUN_CONFIG, retrieval: { ...DEFAULT_RUN_CONFIG.retrieval, fusion: 'rrf' } } })));
  const rule = join(dir, MODEL_LAYOUT.reranker, MODEL_LAYOUT.rule);
  writeFileSync(rule, '{"rule": {"thresh');
  const folder = await openModel(dir);
  assert.equal(folder.hasReranker, true);
  await assert.rejects(loadReranker(folder, ['a']), artifactError(/decision-rule\.json: not valid JSON \(corrupt file\)/));
  writeFileSync(rule, JSON.stringify({ rule: { threshold: 0.5, margin: 0, cap: 3 }, compete: 0, features: ['b'] }));
  await assert.rejects(loadReranker(folder, ['a']), artifactError(/trained with other side features \(b\)/));
  writeFileSync(rule, JSON.stringify({ rule: { threshold: 'high' }, compete: 0, features: ['a'] }));
  await assert.rejects(loadReranker(folder, ['a']), artifactError(/decision-rule\.json must be \{ threshold/));
});

test('checkpoints: none is undefined, a corrupt state.json is a one-line error, a saved one loads back', async () => {
  const dir = join(tmp, 'ckpt');
  const store = checkpointStore(dir);
  const expect = { weights: [{ name: 'w', shape: [2] }], best: [{ name: 'w', shape: [2] }] };
  assert.equal(await store.load(expect), undefined);
  const weights = [{ name: 'w', shape: [2], values: Float32Array.from([1, 2]) }];
  const state = { fingerprint: 'f', epoch: 1, step: 3, bestEpoch: 0, bestRecall: 0.5, sinceBest: 0, history: [] };
  await store.save({ state, weights, optimizer: [{ name: 'm', shape: [1], values: Float32Array.from([7]) }], best: weights });
  const loaded = await store.load(expect);
  assert.deepEqual(loaded?.state, state);
  assert.deepEqual(Array.from(loaded!.weights[0].values), [1, 2]);
  assert.deepEqual(Array.from(loaded!.best![0].values), [1, 2]);
  await assert.rejects(store.load({ weights: [{ name: 'w', shape: [3] }], best: [] }), artifactError(/must match the model's configuration \(got w\[2\] for w\[3\]\)/));
  writeFileSync(join(dir, MODEL_LAYOUT.checkpoint, 'state.json'), '{"finger');
  await assert.rejects(store.load(expect), artifactError(/state\.json: not valid JSON \(corrupt file\)/));
  writeFileSync(join(dir, MODEL_LAYOUT.checkpoint, 'state.json'), '[]');
  await assert.rejects(store.load(expect), artifactError(/state\.json: must hold a checkpoint state/));
});

test('weights: one format with a version; the earlier two-tower and cross-encoder manifests still load', async () => {
  const dir = join(tmp, 'weights');
  mkdirSync(dir, { recursive: true });
  const arrays = [{ name: 'a', shape: [2], values: Float32Array.from([1, 2]) }, { name: 'b', shape: [1, 1], values: Float32Array.from([3]) }];
  const manifest = await saveWeights(dir, 'w', arrays);
  assert.deepEqual([manifest.format, manifest.version, manifest.file, manifest.dtype, manifest.bytes], ['trellis-weights', 2, 'w.bin', 'float32', 12]);
  // Returned in the order asked for.
  const back = await loadWeights(dir, 'w', [{ name: 'b', shape: [1, 1] }, { name: 'a', shape: [2] }]);
  assert.deepEqual(back.map((a) => [a.name, Array.from(a.values)]), [['b', [3]], ['a', [1, 2]]]);
  await assert.rejects(loadWeights(dir, 'w', [{ name: 'a', shape: [2] }]), artifactError(/got b\[1,1\], which the model does not have/));
  // The two-tower's first layout: 'trellis-weights/1', no file name or dtype.
  const { format: _f, version: _v, file: _file, dtype: _d, ...rest } = manifest;
  writeFileSync(join(dir, 'w.json'), JSON.stringify({ format: 'trellis-weights/1', ...rest }));
  assert.equal((await loadWeights(dir, 'w')).length, 2);
  // The cross-encoder's first layout: file and dtype, no format.
  writeFileSync(join(dir, 'w.json'), JSON.stringify({ file: 'w.bin', dtype: 'float32', ...rest }));
  assert.equal((await loadWeights(dir, 'w')).length, 2);
  writeFileSync(join(dir, 'w.json'), JSON.stringify({ ...manifest, version: 9 }));
  await assert.rejects(loadWeights(dir, 'w'), artifactError(/must be a trellis-weights manifest \(got format "trellis-weights" version 9\)/));
  writeFileSync(join(dir, 'w.json'), JSON.stringify({ ...manifest, file: '../w.bin' }));
  await assert.rejects(loadWeights(dir, 'w'), artifactError(/not a plain file name/));
});
