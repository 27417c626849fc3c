import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { writeDataset } from '../../src/index.ts';
import { featureWidth, FEATURE_NAMES, FEATURES, keepNegatives, linkContext, pairFeatures, rerankContext, rerankFolds } from '../../src/pipeline/rerank.ts';
import type { FusedCandidates } from '../../src/retrieval/candidates.ts';
import { buildForest } from '../../src/graph/forest.ts';
import { CrossEncoder } from '../../src/rerank/cross-encoder.ts';
import { ArtifactError } from '../../src/errors.ts';
import { COUNT_FEATURES } from '../../src/rerank/cutoff.ts';
import { stackFeatureNames } from '../../src/rerank/stacker.ts';
import { initRuntime } from '../../src/runtime/backend.ts';
import { rngFor } from '../../src/random.ts';
import { runCli, tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

test('keepNegatives keeps every positive, at most k negatives per sampled topic, and all pairs of earlier topics', () => {
  // Topic 0 (not sampled): 1 positive, 4 negatives; topics 1 and 2: 2 positives, 6 negatives each.
  const topicIndex: number[] = [];
  const labels: number[] = [];
  const add = (t: number, pos: number, neg: number) => {
    for (let i = 0; i < pos + neg; i++) {
      topicIndex.push(t);
      labels.push(i < pos ? 1 : 0);
    }
  };
  add(0, 1, 4);
  add(1, 2, 6);
  add(2, 2, 6);
  const n = labels.length;
  const pairs = {
    topicIndex: Uint32Array.from(topicIndex),
    contentIndex: Uint32Array.from({ length: n }, (_, p) => p),
    features: Float32Array.from({ length: n * FEATURES }, (_, i) => Math.floor(i / FEATURES)),
    labels: Uint8Array.from(labels),
  };
  const kept = keepNegatives(pairs, 1, 3, rngFor(1, 'test'));
  const count = (t: number, label: number) => Array.from(kept.topicIndex).filter((x, p) => x === t && kept.labels![p] === label).length;
  assert.deepEqual([count(0, 1), count(0, 0)], [1, 4]);
  assert.deepEqual([count(1, 1), count(1, 0)], [2, 3]);
  assert.deepEqual([count(2, 1), count(2, 0)], [2, 3]);
  // Each kept pair carries its own features and content.
  kept.contentIndex.forEach((p, i) => assert.equal(kept.features[i * FEATURES], p));
  assert.equal(keepNegatives(pairs, 1, 0, rngFor(1, 'test')), pairs, '0 keeps everything');
});

test('rerank.crossFit trains one retriever per fold and adds their out-of-fold candidates to the reranker; rerank.members trains a seed ensemble; rerank.compete is stored with the rule', async () => {
  const data = join(tmp, 'data');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 }));
  const base = {
    lexical: { buckets: 1 << 14 },
    encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
    training: { epochs: 2, batchSize: 16, patience: 2 },
    index: { M: 8, efConstruction: 50, efSearch: 50 },
    retrieval: { topK: 10, lexicalTopK: 10 },
    // One split of the validation topics, tuned one way (crossTune, the default, is tested below): one cross-encoder per seed.
    rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32, tuneFolds: 0, crossTune: false },
  };
  const pairsOf = (stderr: string) => Number(/reranker: (\d+) training pairs from (\d+) topics/.exec(stderr)?.[1]);
  const topicsOf = (stderr: string) => Number(/reranker: (\d+) training pairs from (\d+) topics/.exec(stderr)?.[2]);
  writeFileSync(join(tmp, 'plain.json'), JSON.stringify(base));
  writeFileSync(join(tmp, 'cf.json'), JSON.stringify({ ...base, rerank: { ...base.rerank, crossFit: 2, crossFitNegatives: 4, members: 2, compete: 1 } }));
  const plain = runCli(['train', '--data', data, '--model', join(tmp, 'plain'), '--holdout', '0.25', '--config', join(tmp, 'plain.json')]);
  assert.equal(plain.status, 0, plain.stderr);
  const cf = runCli(['train', '--data', data, '--model', join(tmp, 'cf'), '--holdout', '0.25', '--config', join(tmp, 'cf.json')]);
  assert.equal(cf.status, 0, cf.stderr);
  assert.match(cf.stderr, /cross-fit fold 1\/2: \d+ topics/);
  assert.match(cf.stderr, /cross-fit fold 2\/2: \d+ topics/);
  assert.ok(topicsOf(cf.stderr) > 3 * topicsOf(plain.stderr), `${topicsOf(cf.stderr)} vs ${topicsOf(plain.stderr)} training topics`);
  assert.ok(pairsOf(cf.stderr) > pairsOf(plain.stderr));
  assert.match(cf.stderr, /reranker epoch 1\/1 \(member 2\/2\)/);
  assert.ok(existsSync(join(tmp, 'cf', 'reranker', 'member-1', 'weights.bin')));
  assert.ok(!existsSync(join(tmp, 'plain', 'reranker', 'member-1')));
  assert.match(cf.stderr, /decision rule: .*content competition 1: F2/);
  const ruleFile = join(tmp, 'cf', 'reranker', 'decision-rule.json');
  assert.equal(JSON.parse(readFileSync(ruleFile, 'utf8')).compete, 1);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'plain', 'reranker', 'decision-rule.json'), 'utf8')).compete, 0);
  const rec = runCli(['recommend', '--data', data, '--model', join(tmp, 'cf'), '--topics', 'held-out', '--out', join(tmp, 'cf.csv')]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stderr, /content competition 1 over \d+ topics/);
  assert.ok(JSON.parse(rec.stdout).reranked.f2 > 0);
  // A stored rule with a broken competition exponent is refused in one line.
  const stored = readFileSync(ruleFile, 'utf8');
  writeFileSync(ruleFile, JSON.stringify({ ...JSON.parse(stored), compete: 'high' }));
  const broken = runCli(['recommend', '--data', data, '--model', join(tmp, 'cf'), '--topics', 'held-out', '--out', join(tmp, 'broken.csv')]);
  writeFileSync(ruleFile, stored);
  assert.notEqual(broken.status, 0);
  assert.match(broken.stderr, /decision-rule\.json: compete must be a number >= 0/);
  assert.ok(!existsSync(join(tmp, 'broken.csv')));
});

/** A config file `name`.json in tmp for a few-second training on a synthetic catalogue, with `rerank` keys added. */
function writeTinyConfig(name: string, rerank: Record<string, unknown>): void {
  writeFileSync(join(tmp, `${name}.json`), JSON.stringify({
    lexical: { buckets: 1 << 14 },
    encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
    training: { epochs: 2, batchSize: 16, patience: 2 },
    index: { M: 8, efConstruction: 50, efSearch: 50 },
    retrieval: { topK: 10, lexicalTopK: 10 },
    rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32, ...rerank },
  }));
}

test("rerank.compete 'auto' tunes the cut with and without competition and keeps the better on the tuning topics", async () => {
  const data = join(tmp, 'data-auto');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 }));
  writeTinyConfig('auto', { compete: 'auto' });
  const run = runCli(['train', '--data', data, '--model', join(tmp, 'auto'), '--holdout', '0.25', '--config', join(tmp, 'auto.json')]);
  assert.equal(run.status, 0, run.stderr);
  const line = /content competition \(auto\): the decision rule tunes to F2 ([\d.]+) with exponent 0, ([\d.]+) with exponent 1 on the tuning topics; keeping (\d)/.exec(run.stderr);
  assert.ok(line, run.stderr);
  const [without, withIt, kept] = [Number(line[1]), Number(line[2]), Number(line[3])];
  // The better F2 wins; a tie keeps competition off.
  assert.equal(kept, withIt > without ? 1 : 0);
  const rule = JSON.parse(readFileSync(join(tmp, 'auto', 'reranker', 'decision-rule.json'), 'utf8'));
  assert.equal(rule.compete, kept);
  assert.equal(rule.tuneF2.toFixed(4), Math.max(without, withIt).toFixed(4));
});

test("rerank.cutoff 'learned-count' saves the count model beside the cut-off tuned without it, and recommend applies it", async () => {
  const data = join(tmp, 'data-count');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 13 }));
  writeTinyConfig('count', { cutoff: 'learned-count' });
  const model = join(tmp, 'count');
  const run = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', join(tmp, 'count.json')]);
  assert.equal(run.status, 0, run.stderr);
  const line = /per-topic cut-off \(expected F2\): calibration \S+ logit\(p\) \+ \S+, gold = the learned count x ([\d.]+) \(without it, .*: F2 ([\d.]+)\): F2 ([\d.]+) on the same topics \(used\)/.exec(run.stderr);
  assert.ok(line, run.stderr);
  const rule = JSON.parse(readFileSync(join(model, 'reranker', 'decision-rule.json'), 'utf8'));
  assert.deepEqual(rule.cutoff.count.features, [...COUNT_FEATURES]);
  assert.equal(rule.cutoff.count.scale, Number(line[1]));
  assert.equal(rule.withoutCount.f2.toFixed(4), line[2]);
  assert.equal(rule.cutoffF2.toFixed(4), line[3]);
  assert.equal(rule.withoutCount.cutoff.count, undefined);
  const out = join(tmp, 'count.csv');
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stderr, /per-topic cut-off, expected F2 with the learned count/);
  assert.ok(readFileSync(out, 'utf8').trim().split('\n').length > 1);
});

test('rerank.stack saves boosted trees over the cross-encoder; recommend applies them, and a damaged file is a one-line error', async () => {
  const data = join(tmp, 'data-stack');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 17 }));
  writeTinyConfig('stack', { stack: true, cutoff: 'expected-f2' });
  const model = join(tmp, 'stack');
  const run = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', join(tmp, 'stack.json')]);
  assert.equal(run.status, 0, run.stderr);
  const line = /stacker: boosted trees over (\d+) tuning pairs of (\d+) topics in [\d.]+ s; out-of-fold AUC ([\d.]+) \(the cross-encoder's ([\d.]+)\)/.exec(run.stderr);
  assert.ok(line, run.stderr);
  assert.ok(Number(line[1]) > 0 && Number(line[2]) >= 4, line[0]);
  const rule = JSON.parse(readFileSync(join(model, 'reranker', 'decision-rule.json'), 'utf8'));
  assert.equal(rule.stacker, 'stacker.json');
  const trees = JSON.parse(readFileSync(join(model, 'reranker', 'stacker.json'), 'utf8'));
  assert.deepEqual(trees.features, stackFeatureNames(FEATURE_NAMES));
  const out = join(tmp, 'stack.csv');
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', out]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stderr, /the cross-encoder stacked with boosted trees/);
  assert.doesNotMatch(rec.stderr, /wasm streaming compile failed/);
  assert.ok(readFileSync(out, 'utf8').trim().split('\n').length > 1);
  writeFileSync(join(model, 'reranker', 'stacker.json'), JSON.stringify({ ...trees, model: 'AAAA' }));
  const bad = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'stack-bad.csv')]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /stacker\.json: the stacker's model does not match its SHA-256 \(damaged file\)/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  assert.ok(!existsSync(join(tmp, 'stack-bad.csv')));
});

test('pairFeatures appends the elementwise product of the sentence vectors; rerankContext refuses vectors of another size', async () => {
  const dataset = syntheticDataset({ channels: 1, branching: 2, depth: 1, contentPerLeaf: 2, seed: 5 });
  const forest = buildForest(dataset);
  const dim = 3;
  const product = {
    dim,
    topics: Float32Array.from({ length: dataset.topics.length * dim }, (_, i) => i + 1),
    content: Float32Array.from({ length: dataset.content.length * dim }, (_, i) => 0.5 * (i % 5)),
  };
  const rows = Uint32Array.from([2, 0]);
  const n = rows.length;
  const candidates = { rows, fused: new Float32Array(n), neural: new Float32Array(n), lexical: new Float32Array(n), neuralRank: new Int32Array(n), lexicalRank: new Int32Array(n) };
  const t = 1;
  const plain = linkContext(dataset, dataset.links);
  const withProduct = linkContext(dataset, dataset.links, product);
  assert.equal(featureWidth(withProduct), FEATURES + dim);
  const f0 = pairFeatures(dataset, forest, plain, t, candidates, 10);
  const f = pairFeatures(dataset, forest, withProduct, t, candidates, 10);
  assert.equal(f.length, n * (FEATURES + dim));
  rows.forEach((c, j) => {
    const at = j * (FEATURES + dim);
    assert.deepEqual(Array.from(f.subarray(at, at + FEATURES)), Array.from(f0.subarray(j * FEATURES, (j + 1) * FEATURES)), 'named features unchanged');
    for (let d = 0; d < dim; d++) assert.equal(f[at + FEATURES + d], product.topics[t * dim + d] * product.content[c * dim + d]);
  });
  await initRuntime();
  const reranker = new CrossEncoder(FEATURES + dim, { hidden: 8, heads: 2, layers: 1, ffn: 8, headHidden: 8, vocabSize: 16, maxLength: 16, maxTopicTokens: 6 });
  try {
    assert.equal(rerankContext(plain, reranker, product, 'm').product, product);
    assert.throws(() => rerankContext(plain, reranker, undefined, 'm'), (e: Error) => e instanceof ArtifactError && /product of 3-d sentence vectors.*gives none/.test(e.message));
    assert.throws(() => rerankContext(plain, reranker, { ...product, dim: 4 }, 'm'), /gives 4-d vectors/);
  } finally {
    reranker.dispose();
  }
});

test('rerankFolds: one split by trainShare; with tuneFolds, every validation topic tunes the rule once, scored by a fold that never trained on it', async () => {
  const topics = Uint32Array.from({ length: 20 }, (_, i) => 3 * i + 1);
  const candidates = async (list: Uint32Array) => Array.from(list, (t) => ({ rows: Uint32Array.of(t) }) as unknown as FusedCandidates);
  const [plain, ...none] = await rerankFolds(topics, { tuneFolds: 0, trainShare: 0.7 }, 42, candidates);
  assert.equal(none.length, 0);
  assert.deepEqual([plain.trainTopics.length, plain.tuneTopics.length], [14, 6]);
  assert.deepEqual([...plain.trainTopics, ...plain.tuneTopics].sort((a, b) => a - b), Array.from(topics));
  // crossTune: the same split, then the split the other way round.
  const [same, swapped, ...more] = await rerankFolds(topics, { tuneFolds: 0, trainShare: 0.7, crossTune: true }, 42, candidates);
  assert.equal(more.length, 0);
  assert.deepEqual([same.trainTopics, same.tuneTopics], [plain.trainTopics, plain.tuneTopics]);
  assert.deepEqual([swapped.trainTopics, swapped.tuneTopics], [plain.tuneTopics, plain.trainTopics]);
  swapped.tuneTopics.forEach((t, i) => assert.equal(swapped.tuneCandidates[i].rows[0], t));
  const folds = await rerankFolds(topics, { tuneFolds: 3, trainShare: 0.7 }, 42, candidates);
  assert.equal(folds.length, 3);
  const tuned = folds.flatMap((f) => Array.from(f.tuneTopics)).sort((a, b) => a - b);
  assert.deepEqual(tuned, Array.from(topics), 'each topic tunes exactly once');
  for (const f of folds) {
    assert.ok(f.tuneTopics.length >= 6 && f.tuneTopics.length <= 7);
    assert.deepEqual([...f.trainTopics, ...f.tuneTopics].sort((a, b) => a - b), Array.from(topics), 'a fold trains on every other topic');
    for (const t of f.tuneTopics) assert.ok(!f.trainTopics.includes(t), `topic ${t} both trains and tunes`);
    f.trainTopics.forEach((t, i) => assert.equal(f.trainCandidates[i].rows[0], t));
    f.tuneTopics.forEach((t, i) => assert.equal(f.tuneCandidates[i].rows[0], t));
  }
});

test('rerank.tuneFolds trains one cross-encoder per fold (on worker threads, as on one), tunes the rule on every validation topic, and recommends with the folds together or with the first', async () => {
  const data = join(tmp, 'data-folds');
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 11 }));
  const config = {
    lexical: { buckets: 1 << 14 },
    encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
    training: { epochs: 2, batchSize: 16, patience: 2 },
    index: { M: 8, efConstruction: 50, efSearch: 50 },
    retrieval: { topK: 10, lexicalTopK: 10 },
    rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32, tuneFolds: 3 },
  };
  writeFileSync(join(tmp, 'folds.json'), JSON.stringify(config));
  const model = join(tmp, 'folds');
  const run = runCli(['train', '--data', data, '--model', model, '--holdout', '0.25', '--config', join(tmp, 'folds.json')]);
  assert.equal(run.status, 0, run.stderr);
  const validating = Number(/validating on (\d+)/.exec(run.stderr)?.[1]);
  for (let f = 1; f <= 3; f++) assert.match(run.stderr, new RegExp(`reranker \\(fold ${f}/3\\): \\d+ training pairs`));
  assert.match(run.stderr, /reranker epoch 1\/1 \(fold 3\/3\)/);
  assert.match(run.stderr, new RegExp(`out-of-fold AUC [\\d.]+ on ${validating} tuning topics; 3 members`));
  assert.match(run.stderr, new RegExp(`decision rule: .*F2 [\\d.]+ on ${validating} tuning topics`));
  for (const member of ['member-1', 'member-2']) assert.ok(existsSync(join(model, 'reranker', member, 'weights.bin')), member);
  const rec = runCli(['recommend', '--data', data, '--model', model, '--topics', 'held-out', '--out', join(tmp, 'folds.csv')]);
  assert.equal(rec.status, 0, rec.stderr);
  assert.ok(JSON.parse(rec.stdout).reranked.f2 > 0);
  // The folds' cross-encoders trained one after the other on the main thread: the same weights and rule.
  writeFileSync(join(tmp, 'folds-serial.json'), JSON.stringify({ ...config, rerank: { ...config.rerank, trainWorkers: 1 } }));
  const serialModel = join(tmp, 'folds-serial');
  const serial = runCli(['train', '--data', data, '--model', serialModel, '--holdout', '0.25', '--config', join(tmp, 'folds-serial.json')]);
  assert.equal(serial.status, 0, serial.stderr);
  assert.doesNotMatch(serial.stderr, /worker threads/);
  const parallel = /training 3 cross-encoders on (\d+) worker threads/.exec(run.stderr);
  if (availableParallelism() > 1) assert.ok(parallel, 'with more than one core the folds train on worker threads');
  for (const member of ['', 'member-1', 'member-2']) {
    const a = readFileSync(join(model, 'reranker', member, 'weights.bin'));
    const b = readFileSync(join(serialModel, 'reranker', member, 'weights.bin'));
    assert.ok(a.equals(b), `${member || 'member 0'}: weights differ between worker threads and the main thread`);
  }
  const rule = (stderr: string) => /decision rule: [^\n]*/.exec(stderr)?.[0];
  assert.equal(rule(serial.stderr), rule(run.stderr));
  // serveFolds 'one': the same folds tune the same rule, and only fold 1's cross-encoder is kept to serve.
  writeFileSync(join(tmp, 'folds-one.json'), JSON.stringify({ ...config, rerank: { ...config.rerank, serveFolds: 'one' } }));
  const oneModel = join(tmp, 'folds-one');
  const one = runCli(['train', '--data', data, '--model', oneModel, '--holdout', '0.25', '--config', join(tmp, 'folds-one.json')]);
  assert.equal(one.status, 0, one.stderr);
  assert.equal(rule(one.stderr), rule(run.stderr));
  assert.match(one.stderr, /fold 1's cross-encoder scores at recommend time/);
  assert.ok(readFileSync(join(oneModel, 'reranker', 'weights.bin')).equals(readFileSync(join(model, 'reranker', 'weights.bin'))));
  assert.ok(!existsSync(join(oneModel, 'reranker', 'member-1')), 'the other folds are not saved');
  const oneRec = runCli(['recommend', '--data', data, '--model', oneModel, '--topics', 'held-out', '--out', join(tmp, 'folds-one.csv')]);
  assert.equal(oneRec.status, 0, oneRec.stderr);
  // crossTune: one split's cross-encoder serves, the rule is tuned on every validation topic.
  const split = { ...config, rerank: { ...config.rerank, tuneFolds: 0, crossTune: false } };
  writeFileSync(join(tmp, 'split.json'), JSON.stringify(split));
  writeFileSync(join(tmp, 'split-cross.json'), JSON.stringify({ ...split, rerank: { ...split.rerank, crossTune: true } }));
  const plainRun = runCli(['train', '--data', data, '--model', join(tmp, 'split'), '--holdout', '0.25', '--config', join(tmp, 'split.json')]);
  const crossRun = runCli(['train', '--data', data, '--model', join(tmp, 'split-cross'), '--holdout', '0.25', '--config', join(tmp, 'split-cross.json')]);
  assert.equal(plainRun.status, 0, plainRun.stderr);
  assert.equal(crossRun.status, 0, crossRun.stderr);
  assert.match(crossRun.stderr, new RegExp(`decision rule: .*F2 [\\d.]+ on ${validating} tuning topics`));
  assert.match(crossRun.stderr, /fold 1's cross-encoder scores at recommend time/);
  assert.match(crossRun.stderr, /reranker \(fold 1\/2\): \d+ training pairs/);
  assert.match(crossRun.stderr, /reranker \(fold 2\/2, to tune the rule only\): \d+ training pairs/);
  assert.match(crossRun.stderr, /reranker epoch 1\/1 \(fold 2\/2\)/);
  assert.ok(readFileSync(join(tmp, 'split-cross', 'reranker', 'weights.bin')).equals(readFileSync(join(tmp, 'split', 'reranker', 'weights.bin'))), "the split's own cross-encoder serves");
  assert.ok(!existsSync(join(tmp, 'split-cross', 'reranker', 'member-1')));
  writeFileSync(join(tmp, 'folds-bad.json'), JSON.stringify({ ...config, rerank: { ...config.rerank, tuneFolds: 2.5 } }));
  const bad = runCli(['train', '--data', data, '--model', join(tmp, 'folds-bad'), '--config', join(tmp, 'folds-bad.json')]);
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /tuneFolds must be an integer from 0 to 10/);
});
