import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDataset, splitTopics, answersOf, UsageError, type Topic, type Content } from '../../src/index.ts';

/** Two channels: "big" with 30 linked topics, "small" with 10. */
function dataset() {
  const topics: Topic[] = [];
  const content: Content[] = [];
  const links = new Map<string, string[]>();
  const topic = (id: string, channel: string, parent: string): Topic => ({ id, title: id, description: '', channel, category: '', level: -1, language: 'en', parent, hasContent: false });
  for (const [channel, n] of [['big', 30], ['small', 10]] as const) {
    topics.push(topic(channel, channel, ''));
    for (let i = 0; i < n; i++) {
      topics.push(topic(`${channel}${i}`, channel, channel));
      content.push({ id: `c_${channel}${i}`, title: '', description: '', kind: '', text: '', language: 'en', copyrightHolder: '', license: '' });
      links.set(`${channel}${i}`, [`c_${channel}${i}`]);
    }
  }
  return buildDataset(topics, content, links);
}

test('a topic holdout is seeded, of the asked size, and hides exactly the held-out links', () => {
  const d = dataset();
  const a = splitTopics(d, { fraction: 0.25, seed: 7 });
  const b = splitTopics(d, { fraction: 0.25, seed: 7 });
  const c = splitTopics(d, { fraction: 0.25, seed: 8 });
  assert.deepEqual(a.heldOut, b.heldOut);
  assert.notDeepEqual(a.heldOut, c.heldOut);
  assert.equal(a.heldOut.length, 10);
  assert.equal(a.train.length, 30);
  for (const t of a.heldOut) {
    assert.equal(a.trainLinks[t].length, 0);
    assert.ok(d.links[t].length > 0);
  }
  for (const t of a.train) assert.deepEqual(a.trainLinks[t], d.links[t]);
  const answers = answersOf(d, a.heldOut);
  assert.equal(answers.size, 10);
});

test('a channel holdout holds out whole channels', () => {
  const d = dataset();
  const s = splitTopics(d, { fraction: 0.25, by: 'channel', seed: 1 });
  const channels = new Set(Array.from(s.heldOut, (t) => d.topics[t].channel));
  assert.deepEqual([...channels], ['small']);
  assert.equal(s.heldOut.length, 10);
  assert.ok(Array.from(s.train).every((t) => d.topics[t].channel === 'big'));
});

test('a channel holdout needs two channels; a bad fraction is refused', () => {
  const d = dataset();
  const one = splitTopics(d, { fraction: 0.5, by: 'topic', among: Array.from({ length: 31 }, (_, i) => i) });
  assert.ok(one.heldOut.length > 0);
  assert.throws(() => splitTopics(d, { fraction: 0.3, by: 'channel', among: Array.from({ length: 31 }, (_, i) => i) }), UsageError);
  assert.throws(() => splitTopics(d, { fraction: 1.5 }), /holdout fraction must be in \(0, 1\)/);
});
