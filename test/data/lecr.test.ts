import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadDataset, DataError } from '../../src/index.ts';
import { TINY, tempDir, datasetDir, GOOD_TOPICS, GOOD_CONTENT } from '../helpers.ts';

const { dir: root, cleanup } = tempDir();
after(cleanup);
let n = 0;
/** A dataset folder with the good files, some replaced. */
function folder(files: Record<string, string | Uint8Array>): string {
  const dir = join(root, String(n++));
  mkdirSync(dir, { recursive: true });
  return datasetDir(dir, files);
}

/** Asserts that loading rejects with a DataError whose message matches. */
async function rejects(dir: string, pattern: RegExp, options = {}): Promise<void> {
  await assert.rejects(loadDataset(dir, options), (error: unknown) => {
    assert.ok(error instanceof DataError, `expected a DataError, got ${error}`);
    assert.match(error.message, pattern);
    assert.equal(error.exitCode, 2);
    return true;
  });
}

describe('loadDataset on well-formed input', () => {
  test('reads the tiny fixture: BOM, CRLF, quoted commas, quotes and newlines, extra column', async () => {
    const d = await loadDataset(TINY);
    assert.equal(d.topics.length, 7);
    assert.equal(d.content.length, 7);
    assert.equal(d.topics[0].id, 't_root'); // the BOM is not part of the first header name
    assert.equal(d.topics[0].description, 'All of science, for everyone');
    assert.equal(d.topics[2].description, 'The cell: structure\r\nand function');
    assert.equal(d.content[1].text, 'Organelles: the "parts" of a cell');
    assert.equal(d.topics[5].title, 'Matemáticas');
    assert.deepEqual(Array.from(d.links[d.topicIndex.get('t_cell')!], (c) => d.content[c].id), ['c_cell1', 'c_cell2']);
    assert.equal(d.topics[1].hasContent, false);
    assert.equal(d.topics[2].level, 2);
    assert.equal(d.sampleTopics, undefined);
  });

  test('optional columns may be missing; channel falls back to the root id', async () => {
    const dir = folder({
      'topics.csv': 'id,title,parent\nr,Root,\nk,Kid,r\n',
      'content.csv': 'id,title\nc1,One\n',
      'correlations.csv': 'topic_id,content_ids\nk,c1\n',
    });
    const d = await loadDataset(dir);
    assert.equal(d.topics[1].channel, 'r');
    assert.equal(d.topics[1].level, -1);
    assert.equal(d.content[0].kind, '');
  });

  test('sample_submission.csv lists the topics to predict', async () => {
    const dir = folder({ 'sample_submission.csv': 'topic_id,content_ids\nt2,\n' });
    assert.deepEqual((await loadDataset(dir)).sampleTopics, ['t2']);
  });
});

describe('loadDataset rejects bad input with file, line and hint', () => {
  test('a missing file', async () => {
    await rejects(folder({}).replace(/\d+$/, 'nope'), /does not exist/);
  });
  test('missing required columns', async () => {
    await rejects(folder({ 'topics.csv': 'identifier,title\nt1,x\n' }), /topics\.csv:1: missing required column id/);
  });
  test('duplicate topic ids', async () => {
    await rejects(folder({ 'topics.csv': GOOD_TOPICS + 't1,Again,,c,source,0,en,,False\n' }), /topics\.csv:4: duplicate topic id "t1" \(first seen on line 2\)/);
  });
  test('duplicate content ids', async () => {
    await rejects(folder({ 'content.csv': GOOD_CONTENT + 'c2,Again,,video,,en,,\n' }), /content\.csv:4: duplicate content id "c2"/);
  });
  test('a parent that names an unknown topic', async () => {
    await rejects(folder({ 'topics.csv': GOOD_TOPICS + 't3,Orphan,,c,source,1,en,t9,False\n' }), /topics\.csv:4: topic "t3" names an unknown parent "t9"/);
  });
  test('a cycle in the parent links', async () => {
    const topics = 'id,title,parent\na,A,\nb,B,c\nc,C,d\nd,D,b\n';
    await rejects(folder({ 'topics.csv': topics }), /topics\.csv:\d: the parent links form a cycle: (b -> c -> d -> b|c -> d -> b -> c|d -> b -> c -> d)/);
  });
  test('a self-parent is a cycle too', async () => {
    await rejects(folder({ 'topics.csv': 'id,title,parent\na,A,a\n' }), /cycle: a -> a/);
  });
  test('correlations naming an unknown topic', async () => {
    await rejects(folder({ 'correlations.csv': 'topic_id,content_ids\nt9,c1\n' }), /correlations\.csv:2: unknown topic id "t9"/);
  });
  test('correlations naming an unknown content id', async () => {
    await rejects(folder({ 'correlations.csv': 'topic_id,content_ids\nt2,c1 c9\n' }), /correlations\.csv:2: unknown content id "c9" for topic "t2"/);
  });
  test('--lenient skips bad correlation rows and counts them', async () => {
    const dir = folder({ 'correlations.csv': 'topic_id,content_ids\nt2,c1 c9\nt9,c1\nt1,c2\n' });
    const d = await loadDataset(dir, { lenient: true });
    assert.equal(d.skippedCorrelations, 2);
    assert.equal(d.links[0].length, 1);
    assert.equal(d.links[1].length, 0);
  });
  test('an empty file', async () => {
    await rejects(folder({ 'content.csv': '' }), /content\.csv: the file is empty/);
  });
  test('a header-only topics file', async () => {
    await rejects(folder({ 'topics.csv': 'id,title\n' }), /no topics/);
  });
  test('a garbled file: an unclosed quote', async () => {
    await rejects(folder({ 'content.csv': GOOD_CONTENT + 'c3,"never closed,,video,,en,,\n' }), /content\.csv:\d+: malformed CSV: a quoted field is never closed/);
  });
  test('a garbled file: a row with too many fields', async () => {
    await rejects(folder({ 'content.csv': GOOD_CONTENT + 'c3,a,b,c,d,e,f,g,h,i\n' }), /content\.csv:4: malformed CSV: the row has a different number of fields/);
  });
  test('a binary file', async () => {
    await rejects(folder({ 'topics.csv': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]) }), /topics\.csv:1: the file is not valid UTF-8/);
  });
  test('invalid UTF-8 names its line', async () => {
    const bytes = Buffer.concat([Buffer.from(GOOD_CONTENT), Buffer.from('c3,Caf'), Buffer.from([0xe9]), Buffer.from(',,video,,en,,\n')]);
    await rejects(folder({ 'content.csv': bytes }), /content\.csv:4: the file is not valid UTF-8 \(byte 0xe9\)/);
  });
  test('a NUL byte', async () => {
    await rejects(folder({ 'content.csv': GOOD_CONTENT + 'c3,a\u0000b,,video,,en,,\n' }), /content\.csv:4: the file holds a NUL byte/);
  });
  test('a content id with white space', async () => {
    await rejects(folder({ 'content.csv': GOOD_CONTENT + '"c 3",x,,video,,en,,\n' }), /content\.csv:4: content id "c 3" contains white space/);
  });
  test('an invalid level', async () => {
    await rejects(folder({ 'topics.csv': GOOD_TOPICS + 't3,X,,c,source,two,en,t1,False\n' }), /topics\.csv:4: level must be a non-negative integer/);
  });
  test('a topic listed twice in correlations', async () => {
    await rejects(folder({ 'correlations.csv': 'topic_id,content_ids\nt2,c1\nt2,c2\n' }), /correlations\.csv:3: topic id "t2" appears twice/);
  });
});
