import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitTfidf, transformTfidf, wordTokens } from '../../src/index.ts';

test('word tokens are lowercased and Unicode-aware', () => {
  assert.deepEqual(wordTokens("Newton's Laws: Matemáticas 101!"), ['newton', 's', 'laws', 'matemáticas', '101']);
});

test('rows have unit norm and sorted buckets; an empty text gives an empty row', () => {
  const docs = ['the cell membrane', 'cell nucleus and membrane', 'newton laws of motion', ''];
  const model = fitTfidf(docs, { buckets: 1 << 16 });
  const m = transformTfidf(model, docs);
  for (let r = 0; r < 3; r++) {
    let norm = 0;
    for (let i = m.indptr[r]; i < m.indptr[r + 1]; i++) {
      norm += m.values[i] ** 2;
      if (i > m.indptr[r]) assert.ok(m.indices[i] > m.indices[i - 1]);
    }
    assert.ok(Math.abs(norm - 1) < 1e-5, `row ${r} norm ${norm}`);
  }
  assert.equal(m.indptr[4] - m.indptr[3], 0);
});

test('smoothed IDF: a feature in every document weighs less than a rare one', () => {
  const docs = ['cell alpha', 'cell beta', 'cell gamma'];
  const model = fitTfidf(docs, { buckets: 1 << 16, wordWeight: 1 });
  const m = transformTfidf(model, ['cell alpha']);
  // With only the word block: unigram "cell" has idf log(4/4)+1 = 1, "alpha" log(4/2)+1 = 1.693,
  // bigram "cell alpha" also 1.693; the largest weight is not the common word.
  const values = Array.from(m.values).sort((a, b) => a - b);
  const norm = Math.sqrt(1 + 2 * 1.6931 ** 2);
  assert.ok(Math.abs(values[0] - 1 / norm) < 1e-3);
  assert.ok(Math.abs(values[2] - 1.6931 / norm) < 1e-3);
});
