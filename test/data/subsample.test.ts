import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, syntheticDataset, type Dataset } from '../../src/index.ts';
import { subsampleDataset } from '../../src/internal.ts';

// 6 channels, branching 4, depth 2: 6 * (1 + 4 + 16) = 126 topics, 96 linked leaves,
// 2,000 items (about 21 per leaf) of which 10% are linked to a second leaf as well.
const full = syntheticDataset({ channels: 6, branching: 4, depth: 2, content: 2000, multiLinkRate: 0.1, seed: 3 });

const linkedTopics = (d: Dataset) => d.links.filter((l) => l.length > 0).length;
const linkIds = (d: Dataset, t: number) => Array.from(d.links[t], (c) => d.content[c].id).sort();
const fingerprint = (d: Dataset) => JSON.stringify([d.topics.map((t) => t.id), d.content.map((c) => c.id), d.links.map((l) => Array.from(l))]);

function checkValid(sample: Dataset): void {
  for (const t of sample.topics) {
    if (t.parent !== '') assert.ok(sample.topicIndex.has(t.parent), `the parent of ${t.id} is kept`);
  }
  for (let t = 0; t < sample.topics.length; t++) {
    const id = sample.topics[t].id;
    // Every link's endpoints are in the sample, and a kept topic keeps every link it had.
    for (const c of sample.links[t]) assert.ok(c < sample.content.length);
    assert.deepEqual(linkIds(sample, t), linkIds(full, full.topicIndex.get(id)!), `links of ${id}`);
  }
  for (const c of sample.content) assert.ok(full.contentIndex.has(c.id));
}

test('subsampleDataset: about the requested linked topics, exactly the requested items, a valid forest', () => {
  const sample = subsampleDataset(full, { topics: 30, content: 1000, seed: 1 });
  const kept = linkedTopics(sample);
  assert.ok(kept <= 30 && kept >= 24, `linked topics ${kept}`);
  assert.equal(sample.content.length, 1000);
  checkValid(sample);
  // Whole subtrees: a kept inner topic keeps all its children unless it is only there as an ancestor
  // of a smaller subtree taken deeper down; in this forest every level-1 topic holds 4 linked leaves.
  const level1 = sample.topics.filter((t) => t.level === 1).map((t) => t.id);
  const complete = level1.filter((id) => full.topics.filter((t) => t.parent === id).every((t) => sample.topicIndex.has(t.id)));
  assert.ok(complete.length >= Math.floor(kept / 4) - 1, `${complete.length} whole level-1 subtrees of ${level1.length}`);
});

test('subsampleDataset: when the linked items would pass the item budget, topics are dropped, not links', () => {
  const sample = subsampleDataset(full, { topics: 90, content: 300, seed: 5 });
  assert.equal(sample.content.length, 300);
  assert.ok(linkedTopics(sample) < 20, `linked topics ${linkedTopics(sample)}`);
  assert.ok(linkedTopics(sample) >= 1);
  checkValid(sample);
});

test('subsampleDataset: a budget beyond the dataset keeps all of it', () => {
  const sample = subsampleDataset(full, { topics: 1000, content: 5000, seed: 2 });
  assert.equal(fingerprint(sample), fingerprint(full));
});

test('subsampleDataset: deterministic per seed, another seed gives another sample', () => {
  const options = { topics: 30, content: 800 };
  const a = subsampleDataset(full, { ...options, seed: 7 });
  assert.equal(fingerprint(a), fingerprint(subsampleDataset(full, { ...options, seed: 7 })));
  const b = subsampleDataset(full, { ...options, seed: 8 });
  assert.notEqual(fingerprint(a), fingerprint(b));
  assert.notDeepEqual(a.topics.map((t) => t.id), b.topics.map((t) => t.id));
});

test('subsampleDataset: options are checked', () => {
  assert.throws(() => subsampleDataset(full, { topics: 0, content: 10 }), (e: Error) => e instanceof ConfigError && e.message === 'trellis/data/subsample: topics must be a positive integer (got 0).');
  assert.throws(() => subsampleDataset(full, { topics: 10, content: 2.5 }), (e: Error) => e instanceof ConfigError && /content must be a positive integer \(got 2.5\)/.test(e.message));
});
