import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError, loadDataset, syntheticDataset, syntheticForest, syntheticTopicCount, writeSyntheticDataset, type Dataset } from '../../src/index.ts';
import { tempDir } from '../helpers.ts';

const { dir, cleanup } = tempDir();
after(cleanup);

const fingerprint = (d: Dataset) => createHash('sha256').update(JSON.stringify([d.topics, d.content, d.links.map((l) => Array.from(l))])).digest('hex');

test('syntheticDataset: the datasets other tests use are unchanged (same rows, same links)', () => {
  // Fingerprints taken before the generator was split into forest and content phases.
  const d = syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, seed: 7 });
  assert.deepEqual([d.topics.length, d.content.length, d.links.reduce((s, l) => s + l.length, 0)], [42, 199, 217]);
  assert.equal(fingerprint(d), '3b01c80c95e886af76ee81c8f54cc8d0d1083ac5c162dbcb7a50721d49981994');
  const fr = syntheticDataset({ channels: 2, branching: 3, depth: 2, contentPerLeaf: 6, seed: 3, languages: ['en', 'fr'] });
  assert.equal(fingerprint(fr), 'bcfc5b54b2a2b25dcc7e32e5807dd1264986c9148fb4b9694f1e68fe07ed983f');
});

test('syntheticDataset: seeded (same seed, same data; another seed, other data)', () => {
  const options = { channels: 3, branching: 3, depth: 2, content: 200, seed: 5 };
  assert.equal(fingerprint(syntheticDataset(options)), fingerprint(syntheticDataset(options)));
  assert.notEqual(fingerprint(syntheticDataset(options)), fingerprint(syntheticDataset({ ...options, seed: 6 })));
});

test('sizes: topics = channels * (1 + b + b^2 + ...), content exactly as asked, every leaf linked', () => {
  // 3 channels, branching 4, depth 2: 3 * (1 + 4 + 16) = 63 topics, 48 leaves.
  assert.equal(syntheticTopicCount(3, 4, 2), 63);
  assert.equal(syntheticTopicCount(90, 10, 3), 99_990);
  const d = syntheticDataset({ channels: 3, branching: 4, depth: 2, content: 1000, seed: 2, languages: ['en', 'es'] });
  assert.equal(d.topics.length, 63);
  assert.equal(d.content.length, 1000);
  const leaves = d.topics.filter((t) => t.level === 2);
  assert.equal(leaves.length, 48);
  for (const t of d.topics) assert.equal(t.hasContent, t.level === 2, `hasContent of ${t.id}`);
  for (const t of leaves) assert.ok(d.links[d.topicIndex.get(t.id)!].length >= 1, `${t.id} has content`);
  // Languages by channel in turn: ch0 en, ch1 es, ch2 en; content takes its leaf's language.
  assert.deepEqual([...new Set(d.topics.map((t) => `${t.channel}:${t.language}`))], ['ch0:en', 'ch1:es', 'ch2:en']);
  d.content.forEach((c, i) => assert.equal(c.id, `c${i}`));
  // An item's own leaf has its language (a second link may go to any leaf).
  const ownLanguage = new Uint8Array(d.content.length);
  for (let t = 0; t < d.topics.length; t++) for (const c of d.links[t]) if (d.content[c].language === d.topics[t].language) ownLanguage[c] = 1;
  assert.ok(ownLanguage.every((v) => v === 1));
});

test('content option: skew puts more items on the first leaves, 0 spreads them evenly', () => {
  const own = (skew: number) => syntheticForest({ channels: 1, branching: 10, depth: 1, content: 1000, skew, seed: 1 }).leaves.map((l) => l.items);
  const skewed = own(1);
  // Weights 1 + sqrt(10 / (i + 1)): leaf 0 weighs 4.16, leaf 9 weighs 2.0; 990 items beyond the first one each.
  assert.equal(skewed.reduce((s, n) => s + n, 0), 1000);
  assert.ok(skewed[0] > 1.8 * skewed[9], `first ${skewed[0]} vs last ${skewed[9]}`);
  assert.deepEqual(own(0), new Array(10).fill(100));
});

test('options are checked', () => {
  assert.throws(() => syntheticForest({ channels: 1, branching: 4, depth: 2, content: 10 }), (e: Error) => e instanceof ConfigError && /content must be an integer >= 16 \(got 10\)/.test(e.message));
  assert.throws(() => syntheticForest({ branching: 0 }), ConfigError);
  assert.throws(() => syntheticForest({ languages: [] }), ConfigError);
});

test('writeSyntheticDataset streams a LECR folder that loads as the in-memory dataset', async () => {
  const options = { channels: 4, branching: 3, depth: 2, content: 500, multiLinkRate: 0.3, seed: 9, languages: ['en', 'fr'] };
  const out = join(dir, 'synthetic');
  const summary = await writeSyntheticDataset(out, options);
  const loaded = await loadDataset(out);
  const memory = syntheticDataset(options);
  assert.deepEqual(loaded.topics, memory.topics);
  assert.deepEqual(loaded.content, memory.content);
  assert.deepEqual(loaded.links.map((l) => Array.from(l)), memory.links.map((l) => Array.from(l)));
  assert.deepEqual(summary, { topics: 52, content: 500, links: memory.links.reduce((s, l) => s + l.length, 0) });
  assert.ok(summary.links > 500, 'some items are linked twice');
});
