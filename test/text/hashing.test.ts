import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bucketOf,
  charNgrams,
  DEFAULT_HASHING_OPTIONS,
  EMPTY_BUCKET,
  featurize,
  featurizeBatch,
  hashingConfig,
  hashString,
  murmur3,
  uniqueIds,
  words,
} from '../../src/text/hashing.ts';
import { ConfigError } from '../../src/errors.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('murmur3 matches the reference x86 32-bit test vectors', () => {
  // From the reference test suites (SMHasher-derived), unsigned.
  const vectors: Array<[string, number, number]> = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['a', 0x9747b28c, 0x7fa09ea6],
    ['ab', 0x9747b28c, 0x74875592],
    ['abc', 0x9747b28c, 0xc84a62dd],
    ['abcd', 0x9747b28c, 0xf0478627],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['ππππππππ', 0x9747b28c, 0xd58063c1],
    ['a'.repeat(256), 0x9747b28c, 0x37405bdc],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ];
  for (const [input, seed, want] of vectors) assert.equal(murmur3(utf8(input), seed), want, JSON.stringify(input));
  // A sub-range hashes like the same bytes on their own.
  assert.equal(murmur3(utf8('xxHello, world!yy'), 0x9747b28c, 2, 15), 0x24884cba);
  assert.equal(hashString('ab', 0x9747b28c), 0x74875592);
});

test('n-grams of <word> by n, then position', () => {
  assert.deepEqual(charNgrams('cat', 3, 3), ['<ca', 'cat', 'at>']);
  assert.deepEqual(charNgrams('cat'), ['<ca', 'cat', 'at>', '<cat', 'cat>', '<cat>']);
  assert.deepEqual(charNgrams('a'), ['<a>']);
  // U+20000 is one code point of two UTF-16 units and four UTF-8 bytes: one trigram.
  assert.deepEqual(charNgrams('\u{20000}'), ['<\u{20000}>']);
});

test('words: NFKC, lower case, letters, marks and digits', () => {
  // The ligature "ﬁ" becomes "fi" under NFKC; Devanagari vowel signs (marks) stay inside the word.
  assert.deepEqual(words('Héllo, WORLD! नमस्ते 3.14 ﬁne'), ['héllo', 'world', 'नमस्ते', '3', '14', 'fine']);
  assert.deepEqual(words(' ... -- '), []);
});

test('featurize "cat": the word id, then the six n-gram ids, by hand', () => {
  const config = hashingConfig({ buckets: 1000, seed: 7 });
  const b = (s: string, seed: number) => bucketOf(hashString(s, seed), 1000);
  const want = [b('cat', config.wordSeed), ...['<ca', 'cat', 'at>', '<cat', 'cat>', '<cat>'].map((g) => b(g, config.ngramSeed))];
  assert.deepEqual([...featurize('Cat!', config)], want);
  for (const id of want) assert.ok(id >= 1 && id < 1000);
  // Word ids and n-gram ids use different seeds: the word "cat" and the trigram "cat" differ (here).
  assert.notEqual(want[0], want[2]);
  // Without word ids, only n-grams; a four-byte character hashes its whole bytes.
  const noWords = hashingConfig({ buckets: 1000, words: false });
  assert.deepEqual([...featurize('\u{20000}', noWords)], [b('<\u{20000}>', noWords.ngramSeed)]);
});

test('featurize is deterministic, seeded, and never empty', () => {
  const text = 'Fractions: adding and subtracting with unlike denominators';
  assert.deepEqual(featurize(text), featurize(text));
  assert.notDeepEqual(featurize(text, { seed: 1 }), featurize(text, { seed: 2 }));
  assert.deepEqual([...featurize('')], [EMPTY_BUCKET]);
  assert.deepEqual([...featurize('?!')], [EMPTY_BUCKET]);
  // buckets = 2: every feature lands in bucket 1.
  assert.deepEqual([...featurize('ab', { buckets: 2 })], [1, 1, 1, 1]); // word, "<ab", "ab>", "<ab>"
});

test('caps: the first maxWords words, at most maxFeatures ids', () => {
  // Each word "a" gives 2 ids (the word, "<a>"); 100 words, capped at 64 words.
  assert.equal(featurize('a '.repeat(100)).length, 128);
  assert.equal(featurize('a '.repeat(100), { maxWords: 3 }).length, 6);
  assert.equal(featurize('internationalisation '.repeat(50), { maxFeatures: 10 }).length, 10);
});

test('featurizeBatch is the CSR concatenation of featurize', () => {
  const texts = ['a cat', '', 'Dogs and cats', 'ok'];
  const config = hashingConfig({ buckets: 5000 });
  const batch = featurizeBatch(texts, config);
  const each = texts.map((t) => featurize(t, config));
  assert.equal(batch.rows, 4);
  assert.deepEqual([...batch.offsets], [0, ...each.map((_, i) => each.slice(0, i + 1).reduce((n, a) => n + a.length, 0))]);
  assert.deepEqual([...batch.ids], each.flatMap((a) => [...a]));
  assert.deepEqual([...batch.segments], each.flatMap((a, i) => Array(a.length).fill(i)));
  assert.deepEqual(featurizeBatch([], config), { rows: 0, ids: new Uint32Array(0), offsets: new Uint32Array([0]), segments: new Uint32Array(0) });
  // Many texts: the id buffer grows.
  const many = featurizeBatch(Array.from({ length: 500 }, (_, i) => `topic ${i} about fractions and decimals`), config);
  assert.equal(many.offsets[500], many.ids.length);
});

test('uniqueIds: first-seen order and local positions', () => {
  const { unique, local } = uniqueIds(new Uint32Array([5, 9, 5, 0, 9, 9]), 10);
  assert.deepEqual([...unique], [5, 9, 0]);
  assert.deepEqual([...local], [0, 1, 0, 2, 1, 1]);
});

test('options are checked once, with clear messages', () => {
  assert.ok(Object.isFrozen(DEFAULT_HASHING_OPTIONS));
  assert.equal(DEFAULT_HASHING_OPTIONS.buckets, 262144);
  assert.throws(() => hashingConfig({ buckets: 1 }), (e: unknown) => e instanceof ConfigError && e.message === 'trellis/text/hashing: buckets must be an integer in [2, 2^31] (got 1).');
  assert.throws(() => hashingConfig({ minN: 4, maxN: 3 }), /minN and maxN must be integers with 1 <= minN <= maxN \(got 4 and 3\)\./);
  assert.throws(() => hashingConfig({ ngrams: 3 } as never), /unknown key "ngrams"/);
});
