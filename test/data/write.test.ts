import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadDataset, writeDataset } from '../../src/index.ts';
import { TINY, tempDir } from '../helpers.ts';

const { dir, cleanup } = tempDir();
after(cleanup);

test('writeDataset -> loadDataset round trip keeps every field and link', async () => {
  const original = await loadDataset(TINY);
  const out = join(dir, 'copy');
  await writeDataset(out, original);
  const copy = await loadDataset(out);
  assert.deepEqual(copy.topics, original.topics);
  assert.deepEqual(copy.content, original.content);
  assert.deepEqual(copy.links.map((l) => Array.from(l)), original.links.map((l) => Array.from(l)));
});
