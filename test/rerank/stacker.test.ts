import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossFitStacker, Stacker, stackFeatureNames, stackFeatures, STACK_LIST_FEATURES } from '../../src/rerank/stacker.ts';
import { rocAuc } from '../../src/eval/auc.ts';
import { contentBest } from '../../src/rerank/compete.ts';
import { ArtifactError } from '../../src/errors.ts';
import { rngFor } from '../../src/random.ts';

const logit = (p: number) => Math.log(p / (1 - p));

test('stackFeatures: the pair against its topic, the item against the other topics, the named side features and the topic', () => {
  // Topic 0 holds items 7, 8, 9; topic 1 holds items 9 and 5. Two side values per pair, the first named.
  const p = [Float32Array.from([0.2, 0.8, 0.6]), Float32Array.from([0.9, 0.1])];
  const rows = [[7, 8, 9], [9, 5]];
  const side = [Float32Array.from([1, -1, 2, -1, 3, -1]), Float32Array.from([4, -1, 5, -1])];
  const topics = [{ siblingItems: 3, siblings: 2, depth: 1, children: 0 }, { siblingItems: 0, siblings: 0, depth: 2, children: 4 }];
  const x = stackFeatures(p, rows, side, 2, 1, topics);
  const width = STACK_LIST_FEATURES.length + 1 + 4;
  assert.equal(x.length, 5 * width);
  const row = (r: number) => Array.from(x.subarray(r * width, (r + 1) * width));
  const close = (a: number[], b: number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `feature ${i}: ${v} against ${b[i]}`));
  // Topic 0, item 9 (p 0.6): second in its topic, 1.6 in all, two above 0.5; item 9's best is 0.9 (topic 1).
  const ratio = 0.6 / 0.9;
  close(row(2), [logit(0.6), Math.log(2), logit(0.6) - logit(0.8), 0.6 / 1.6, Math.log(1.6 + 1e-3), Math.log(3), ratio, logit(0.6 * ratio), 3, Math.log(4), 2, 1, 0]);
  // Topic 1, item 9 (p 0.9): first, its own best; item 5 is nobody else's.
  close(row(3), [logit(0.9), 0, 0, 0.9, Math.log(1 + 1e-3), Math.log(2), 1, logit(0.9), 4, 0, 0, 2, Math.log(5)]);
  close(row(4).slice(6, 8), [1, logit(0.1)]);
  assert.deepEqual(stackFeatureNames(['a']), [...STACK_LIST_FEATURES, 'a', 'log_sibling_items', 'siblings', 'depth', 'log_children']);
  assert.throws(() => stackFeatures(p, rows, side.slice(1), 2, 1, topics), /one of each per topic/);
  // A chunk of the run's topics, given the run's best p per item, gets the rows the whole run gets.
  assert.deepEqual(stackFeatures(p.slice(0, 1), rows.slice(0, 1), side.slice(0, 1), 2, 1, topics.slice(0, 1), contentBest(p, rows)), x.subarray(0, 3 * width));
  assert.notDeepEqual(stackFeatures(p.slice(0, 1), rows.slice(0, 1), side.slice(0, 1), 2, 1, topics.slice(0, 1)), x.subarray(0, 3 * width));
});

/** Pairs whose label the second side feature decides (with noise) while the cross-encoder's p is noise. */
function synthetic(topics: number, perTopic: number, seed: number) {
  const rng = rngFor(seed, 'test/stacker');
  const p: Float32Array[] = [];
  const rows: number[][] = [];
  const side: Float32Array[] = [];
  const labels: number[] = [];
  for (let t = 0; t < topics; t++) {
    p.push(Float32Array.from({ length: perTopic }, () => 0.05 + 0.9 * rng()));
    rows.push(Array.from({ length: perTopic }, (_, j) => t * perTopic + j));
    const s = new Float32Array(perTopic * 2);
    for (let j = 0; j < perTopic; j++) {
      s[j * 2] = rng();
      s[j * 2 + 1] = rng();
      labels.push(s[j * 2 + 1] > 0.8 === rng() > 0.05 ? 1 : 0);
    }
    side.push(s);
  }
  const info = Array.from({ length: topics }, () => ({ siblingItems: 1, siblings: 1, depth: 1, children: 0 }));
  return { x: stackFeatures(p, rows, side, 2, 2, info), labels: Uint8Array.from(labels), p: Float32Array.from(p.flatMap((v) => Array.from(v))), names: stackFeatureNames(['a', 'b']) };
}

test('Stacker learns what the cross-encoder missed, round-trips through JSON, and refuses other features or a damaged model', async () => {
  const train = synthetic(40, 25, 1);
  const test = synthetic(40, 25, 2);
  const model = await Stacker.fit(train.x, train.labels, train.names, 7);
  try {
    const q = model.predict(test.x);
    assert.ok(rocAuc(q, test.labels) > 0.85, `stacked AUC ${rocAuc(q, test.labels)}`);
    assert.ok(rocAuc(test.p, test.labels) < 0.6, `the cross-encoder's AUC ${rocAuc(test.p, test.labels)}`);
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    const back = await Stacker.fromJSON(json, train.names, 'stacker.json');
    try {
      assert.deepEqual(back.predict(test.x), q);
    } finally {
      back.dispose();
    }
    await assert.rejects(Stacker.fromJSON(json, [...train.names].reverse(), 'stacker.json'), (e: unknown) => e instanceof ArtifactError && /stacker\.json: the stacker reads features/.test(e.message));
    const damaged = { ...json, model: Buffer.from(Buffer.from(json.model, 'base64').map((b, i) => (i === 40 ? b ^ 1 : b))).toString('base64') };
    await assert.rejects(Stacker.fromJSON(damaged, train.names, 'stacker.json'), (e: unknown) => e instanceof ArtifactError && /does not match its SHA-256/.test(e.message));
    await assert.rejects(Stacker.fromJSON({ kind: 'lightgbm' } as never, train.names, 'stacker.json'), ArtifactError);
  } finally {
    model.dispose();
  }
  await assert.rejects(Stacker.fit(train.x.subarray(1), train.labels, train.names, 7), /feature values for/);
});

test('crossFitStacker: every pair scored by trees that never saw its topic, the same for the same seed', async () => {
  const data = synthetic(24, 20, 3);
  const sizes = Array.from({ length: 24 }, () => 20);
  const a = await crossFitStacker(data.x, data.labels, sizes, data.names, 5);
  const b = await crossFitStacker(data.x, data.labels, sizes, data.names, 5);
  try {
    assert.deepEqual(a.outOfFold, b.outOfFold);
    assert.ok(a.outOfFold.every((v) => v > 0 && v < 1));
    const inSample = a.stacker.predict(data.x);
    // Trees fitted on every topic score their own pairs better than trees that never saw them.
    assert.ok(rocAuc(inSample, data.labels) > rocAuc(a.outOfFold, data.labels), `${rocAuc(inSample, data.labels)} against ${rocAuc(a.outOfFold, data.labels)}`);
    assert.ok(rocAuc(a.outOfFold, data.labels) > 0.85);
  } finally {
    a.stacker.dispose();
    b.stacker.dispose();
  }
});
