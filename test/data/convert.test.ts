import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertKhan, convertDebian, longDescription, relationNames, writeDataset, loadDataset, SOURCE_DEFAULTS } from '../../src/index.ts';
import { tempDir } from '../helpers.ts';

const KHAN = SOURCE_DEFAULTS.khan.source;
const DEBIAN = SOURCE_DEFAULTS.debian.source;
const { dir: tmp, cleanup } = tempDir();
after(cleanup);

describe('deb822 helpers', () => {
  test('relationNames strips versions, architectures and splits alternatives', () => {
    assert.deepEqual(relationNames('a (>= 1.0), b | c:any, d [amd64]'), ['a', 'b', 'c', 'd']);
    assert.deepEqual(relationNames(undefined), []);
  });
  test('longDescription drops the synopsis and keeps paragraph breaks', () => {
    assert.equal(longDescription('Short line\n First para\n continues.\n .\n Second para.'), 'First para continues.\nSecond para.');
  });
});

describe('Khan conversion', { skip: !existsSync(KHAN) && 'needs ../shared/data/khan-2014' }, () => {
  test('keeps every topic, item and placement', async () => {
    const d = await convertKhan(KHAN);
    assert.equal(d.topics.length, 1730);
    assert.equal(d.content.length, 7332);
    // 9,100 placements, 3 of which repeat an item under the same topic.
    assert.equal(d.links.reduce((s, l) => s + l.length, 0), 9097);
    const topicsPerItem = new Uint32Array(d.content.length);
    for (const l of d.links) for (const c of l) topicsPerItem[c]++;
    assert.equal(topicsPerItem.filter((n) => n > 1).length, 1562);
    assert.ok(d.content.every((c) => !/\s/.test(c.id)));
    assert.equal(d.topics[0].parent, '');
    assert.ok(d.topics.every((t) => t.channel === 'khan' && t.language === 'en'));
  });
  test('the bundled data/khan is what the converter writes (deterministic)', async () => {
    const out = join(tmp, 'khan');
    await writeDataset(out, await convertKhan(KHAN));
    for (const file of ['topics.csv', 'content.csv', 'correlations.csv']) {
      assert.equal(readFileSync(join(out, file), 'utf8'), readFileSync(join(SOURCE_DEFAULTS.khan.out, file), 'utf8'), file);
    }
  });
});

describe('Debian conversion', { skip: !existsSync(DEBIAN) && 'needs ../shared/data/debian-bookworm' }, () => {
  test('two channels, no TODO tags, links to existing packages, deterministic', async () => {
    const { dataset: d, stats } = await convertDebian(DEBIAN);
    assert.ok(d.content.length > 60000);
    const channels = new Set(d.topics.map((t) => t.channel));
    assert.deepEqual([...channels].sort(), ['blends', 'debtags']);
    assert.ok(d.topics.every((t) => !t.id.endsWith('TODO')));
    assert.ok(d.topicIndex.has('blends/med/med-bio'), 'Debian Med task med-bio');
    assert.ok(d.topicIndex.has('debtags/game::strategy'));
    const zeroAd = d.contentIndex.get('0ad')!;
    assert.ok(d.links[d.topicIndex.get('debtags/game::strategy')!].includes(zeroAd));
    assert.ok(d.content[zeroAd].text.includes('real-time strategy'));
    assert.equal(stats.debtagsLinks + stats.blendsLinks, d.links.reduce((s, l) => s + l.length, 0));
    const out1 = join(tmp, 'deb1');
    await writeDataset(out1, d);
    const again = await loadDataset(out1);
    assert.equal(again.content.length, d.content.length);
    const { dataset: d2 } = await convertDebian(DEBIAN);
    const out2 = join(tmp, 'deb2');
    await writeDataset(out2, d2);
    for (const file of ['topics.csv', 'correlations.csv']) assert.equal(readFileSync(join(out1, file), 'utf8'), readFileSync(join(out2, file), 'utf8'));
  });
});
