import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { DataError, UsageError } from '../../src/errors.ts';
import { mulberry32 } from '../../src/random.ts';
import {
  readRecommendations,
  writeRecommendations,
  RECOMMENDATION_EXTENSIONS,
} from '../../src/io/export.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import {
  RecommendationTableBuilder,
  checkRecommendationTable,
  encodeUtf8Column,
  recommendationRows,
  type RecommendationTable,
} from '../../src/io/table.ts';

const METADATA = { modelId: 'khan-2014/sage-v1', seed: 42, config: { retrieval: { k: 50 }, threshold: { t: 0.31, m: 0.2, cap: 10 }, note: 'ümlaut ✓' } };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-io-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small table touching every edge: unicode ids, empty explanations, NaN stage scores, a topic without rows. */
function handMadeTable(): RecommendationTable {
  const b = new RecommendationTableBuilder(['retrieval', 'lexical', 'rerank'], ['t_ä', 't_empty', 't_日本', 't_😀']);
  b.add({ topic: 't_ä', content: 'c_1', score: 0.9, stages: { retrieval: 0.81, rerank: 0.9 }, explanation: 'retrieval' });
  b.add({ topic: 't_ä', content: 'c_ü2', score: 0.5, stages: { lexical: 3.25 }, explanation: 'lexical; sibling t_日本' });
  b.add({ topic: 't_日本', content: 'c_1', score: 0.25, explanation: '' });
  b.add({ topic: 't_😀', content: 'c_🧪', score: -1, stages: { retrieval: -0.5, lexical: 0, rerank: 1e-30 }, explanation: 'parent t_ä — 🧪' });
  return b.build();
}

/** A random table; rows grouped by topic as the pipeline writes them. */
function randomTable(seed: number, topics: number, maxPerTopic: number): RecommendationTable {
  const rng = mulberry32(seed);
  const alphabet = ['a', 'b', 'é', 'ß', '中', '🙂', '0', '_', ',', '"'];
  const word = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rng() * alphabet.length)]).join('');
  const topicIds = Array.from({ length: topics }, (_, i) => `t${i}_${word(3)}`);
  const contentIds = Array.from({ length: topics * 2 }, (_, i) => `c${i}${word(2)}`);
  const b = new RecommendationTableBuilder(['retrieval', 'rerank'], topicIds, contentIds);
  for (let t = 0; t < topics; t++) {
    const k = Math.floor(rng() * (maxPerTopic + 1));
    for (let r = 0; r < k; r++) {
      b.add({
        topic: t,
        content: Math.floor(rng() * contentIds.length),
        score: rng(),
        stages: { retrieval: rng() < 0.3 ? NaN : rng(), rerank: rng() < 0.5 ? NaN : rng() * 10 },
        explanation: rng() < 0.4 ? '' : word(Math.floor(rng() * 12)),
      });
    }
  }
  return b.build();
}

/** Topics of `table` that have rows, in first-row order: what a row-per-recommendation file keeps. */
function topicsWithRows(table: RecommendationTable): string[] {
  const seen = new Set<string>();
  for (let i = 0; i < table.length; i++) seen.add(table.topicIds[table.topic[i]]);
  return [...seen];
}

async function leftovers(folder: string): Promise<string[]> {
  return (await readdir(folder)).sort();
}

describe('Arrow and Parquet round trips', () => {
  for (const ext of ['.arrow', '.parquet']) {
    test(`${ext}: a hand-made table reads back equal, metadata included`, async () => {
      const table = handMadeTable();
      const path = join(dir, `hand${ext}`);
      await writeRecommendations(path, table, METADATA);
      const back = await readRecommendations(path);
      assert.deepEqual(back.metadata, METADATA);
      assert.deepEqual(recommendationRows(back.table), recommendationRows(table));
      assert.deepEqual([...back.table.stages.keys()], ['retrieval', 'lexical', 'rerank']);
      // The topic without rows has no place in a row-per-recommendation file.
      assert.deepEqual(back.table.topicIds, ['t_ä', 't_日本', 't_😀']);
      assert.ok(Number.isNaN(back.table.stages.get('lexical')![0]));
      assert.equal(recommendationRows(back.table)[2].explanation, '');
    });

    test(`${ext}: random tables over several record batches read back equal`, async () => {
      for (const seed of [1, 2, 3]) {
        const table = randomTable(seed, 40, 6);
        const path = join(dir, `random-${seed}${ext}`);
        await writeRecommendations(path, table, { ...METADATA, seed }, { batchRows: 7 });
        const back = await readRecommendations(path);
        assert.deepEqual(recommendationRows(back.table), recommendationRows(table));
        assert.deepEqual(back.table.topicIds, topicsWithRows(table));
        assert.equal(back.metadata?.seed, seed);
        checkRecommendationTable('test', back.table);
      }
    });

    test(`${ext}: an empty table is a valid file`, async () => {
      const table = new RecommendationTableBuilder(['rerank'], ['t1']).build();
      const path = join(dir, `empty${ext}`);
      await writeRecommendations(path, table, METADATA);
      const back = await readRecommendations(path);
      assert.equal(back.table.length, 0);
      assert.deepEqual([...back.table.stages.keys()], ['rerank']);
      assert.deepEqual(back.metadata, METADATA);
    });
  }

  test('the Arrow export is the IPC file format (magic at both ends)', async () => {
    const path = join(dir, 'magic.arrow');
    await writeRecommendations(path, handMadeTable(), METADATA);
    const bytes = await readFile(path);
    assert.equal(bytes.subarray(0, 6).toString('latin1'), 'ARROW1');
    assert.equal(bytes.subarray(bytes.length - 6).toString('latin1'), 'ARROW1');
  });
});

describe('LECR submission CSV', () => {
  test('one line per topic in topicIds order, content ids in rank order, empty rows kept', async () => {
    // Rows added out of order: the writer groups by topic and sorts by rank.
    const b = new RecommendationTableBuilder([], ['t_3', 't_1', 't_2', 't_0']);
    b.add({ topic: 't_1', content: 'c_b', rank: 2, score: 0.4 });
    b.add({ topic: 't_2', content: 'c_a', rank: 1, score: 0.9 });
    b.add({ topic: 't_1', content: 'c_c', rank: 3, score: 0.1 });
    b.add({ topic: 't_1', content: 'c_a', rank: 1, score: 0.8 });
    b.add({ topic: 't_0', content: 'c_d', rank: 1, score: 0.7 });
    const path = join(dir, 'submission.csv');
    await writeRecommendations(path, b.build(), METADATA);
    // t_3 has no recommendation and keeps its line; t_1's ids follow ranks 1, 2, 3.
    const expected = ['topic_id,content_ids', 't_3,', 't_1,c_a c_b c_c', 't_2,c_a', 't_0,c_d', ''].join('\n');
    assert.equal(await readFile(path, 'utf8'), expected);
  });

  test('fields are quoted only when needed, and csv-parse reads them back', async () => {
    const b = new RecommendationTableBuilder([], ['plain', 'with,comma', 'with "quote"', 'multi\nline', 'ü']);
    b.add({ topic: 'with,comma', content: 'c1', score: 1 });
    b.add({ topic: 'with,comma', content: 'c,2', score: 1 });
    b.add({ topic: 'with "quote"', content: 'c"3', score: 1 });
    b.add({ topic: 'ü', content: 'c1', score: 1 });
    const path = join(dir, 'quoted.csv');
    await writeRecommendations(path, b.build(), METADATA);
    const text = await readFile(path, 'utf8');
    assert.equal(
      text,
      'topic_id,content_ids\nplain,\n"with,comma","c1 c,2"\n"with ""quote""","c""3"\n"multi\nline",\nü,c1\n',
    );
    assert.deepEqual(parse(text), [
      ['topic_id', 'content_ids'],
      ['plain', ''],
      ['with,comma', 'c1 c,2'],
      ['with "quote"', 'c"3'],
      ['multi\nline', ''],
      ['ü', 'c1'],
    ]);
  });

  test('reads back into a table: topics in file order (with empty ones), ranks from the order', async () => {
    const table = randomTable(7, 30, 5);
    const path = join(dir, 'random.csv');
    await writeRecommendations(path, table, METADATA);
    const back = await readRecommendations(path);
    assert.equal(back.metadata, null);
    assert.deepEqual(back.table.topicIds, table.topicIds);
    const key = (t: RecommendationTable) => recommendationRows(t).map((r) => `${r.topicId}|${r.rank}|${r.contentId}`).sort();
    assert.deepEqual(key(back.table), key(table));
  });

  test('a content id with whitespace is a DataError and writes nothing', async () => {
    const b = new RecommendationTableBuilder([], ['t1']);
    b.add({ topic: 't1', content: 'c 1', score: 1 });
    const path = join(dir, 'space', 'bad.csv');
    await assert.rejects(writeRecommendations(path, b.build(), METADATA), (error: Error) => {
      assert.ok(error instanceof DataError);
      assert.equal(error.message, 'io/writeRecommendations: a content id must be non-empty and hold no whitespace (got "c 1").');
      return true;
    });
    await assert.rejects(readdir(join(dir, 'space')), { code: 'ENOENT' });
  });

  test('a rank repeated within a topic is a DataError', async () => {
    const b = new RecommendationTableBuilder([], ['t1']);
    b.add({ topic: 't1', content: 'c1', rank: 1, score: 1 });
    b.add({ topic: 't1', content: 'c2', rank: 1, score: 1 });
    await assert.rejects(writeRecommendations(join(dir, 'dup-rank.csv'), b.build(), METADATA), {
      name: 'DataError',
      message: 'io/csv: rank must be unique within a topic (got rank 1 twice for topic "t1").',
    });
  });
});

describe('input checks', () => {
  test('an unknown extension is a UsageError listing the supported ones', async () => {
    await assert.rejects(writeRecommendations(join(dir, 'out.json'), handMadeTable(), METADATA), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.equal(error.message, 'io/writeRecommendations: the output file must end in .csv, .arrow, .parquet (got ".json").');
      return true;
    });
    await assert.rejects(readRecommendations(join(dir, 'noext')), UsageError);
    assert.deepEqual(RECOMMENDATION_EXTENSIONS, ['.csv', '.arrow', '.parquet']);
    assert.ok(!(await readdir(dir)).includes('out.json'));
  });

  test('an inconsistent table is a DataError naming the column', async () => {
    const table = { ...handMadeTable(), rank: new Int32Array(2) };
    await assert.rejects(writeRecommendations(join(dir, 'bad.arrow'), table, METADATA), {
      name: 'DataError',
      message: 'io/writeRecommendations: table.rank must have table.length = 4 entries (got 2).',
    });
    const outOfRange = { ...handMadeTable(), content: Uint32Array.of(0, 1, 0, 9) };
    await assert.rejects(writeRecommendations(join(dir, 'bad.arrow'), outOfRange, METADATA), {
      name: 'DataError',
      message: 'io/writeRecommendations: table.content[3] must be < contentIds.length = 3 (got 9).',
    });
  });

  test('metadata that is not JSON-serialisable is a UsageError', async () => {
    await assert.rejects(writeRecommendations(join(dir, 'bad.arrow'), handMadeTable(), { ...METADATA, config: { big: 1n } }), {
      name: 'UsageError',
      message: /^io\/writeRecommendations: metadata.config must be JSON-serialisable/,
    });
  });

  test('encodeUtf8Column keeps multi-byte characters', () => {
    const column = encodeUtf8Column(['', 'ä', '😀x']);
    assert.deepEqual([...column.offsets], [0, 0, 2, 7]);
  });
});

describe('interrupted exports leave no file', () => {
  /** An Int32Array whose subarray() throws once `armed`: the Arrow writer slices rank once per record batch. */
  class FailingRanks extends Int32Array {
    armed = false;
    onFail: () => void = () => {};
    override subarray(begin?: number, end?: number): Int32Array<ArrayBuffer> {
      if (this.armed && (begin ?? 0) > 0) {
        this.onFail();
        throw new Error('row source failed');
      }
      return super.subarray(begin, end);
    }
  }

  for (const ext of ['.arrow', '.parquet']) {
    test(`${ext}: a row source failing after the first record batch`, async () => {
      const folder = await mkdtemp(join(dir, 'fail-'));
      const table = randomTable(11, 200, 5);
      const rank = new FailingRanks(table.rank.length);
      rank.set(table.rank);
      rank.armed = true;
      let seenWhileFailing: string[] = [];
      rank.onFail = () => {
        seenWhileFailing = readdirSync(folder);
      };
      const path = join(folder, `out${ext}`);
      await assert.rejects(writeRecommendations(path, { ...table, rank }, METADATA, { batchRows: 64 }), /row source failed/);
      assert.equal(seenWhileFailing.length, 1, 'a temporary file exists while the export runs');
      assert.match(seenWhileFailing[0], new RegExp(`^\\.out\\${ext}\\.\\d+\\.[0-9a-f]{8}\\.tmp$`));
      assert.deepEqual(await leftovers(folder), []);
    });
  }

  test('.csv: a row source failing after part of the file is on disk', async () => {
    const folder = await mkdtemp(join(dir, 'fail-'));
    // 60k topics (~1.7 MB): the first MB is flushed to disk before the failure near the end.
    const base = randomTable(12, 60_000, 4);
    let tmpBytes = 0;
    const failAt = String(base.topicIds.length - 10);
    const topicIds = new Proxy(base.topicIds as string[], {
      get(target, key, receiver) {
        // The checks read every id before the file is opened; fail on the read that finds bytes on disk.
        if (key === failAt) {
          const files = readdirSync(folder);
          tmpBytes = files.length === 1 ? statSync(join(folder, files[0])).size : 0;
          if (tmpBytes > 0) throw new Error('row source failed');
        }
        return Reflect.get(target, key, receiver);
      },
    });
    const path = join(folder, 'out.csv');
    await assert.rejects(writeRecommendations(path, { ...base, topicIds }, METADATA), /row source failed/);
    assert.ok(tmpBytes > 0, `part of the CSV was on disk when the row source failed (got ${tmpBytes} bytes)`);
    assert.deepEqual(await leftovers(folder), []);
  });

  test('a process killed (SIGTERM) mid-write leaves neither target nor temporary file', async () => {
    const folder = await mkdtemp(join(dir, 'kill-'));
    const target = join(folder, 'out.arrow');
    const atomicUrl = new URL('../../src/io/atomic.ts', import.meta.url).href;
    const script = join(folder, '..', `child-${process.pid}.mjs`);
    await writeFile(
      script,
      `import { writeFileAtomic } from ${JSON.stringify(atomicUrl)};
await writeFileAtomic(${JSON.stringify(target)}, async (sink) => {
  await sink.write(new Uint8Array(3 << 20).fill(7));
  process.stdout.write('writing\\n');
  await new Promise(() => setInterval(() => {}, 1000));
});`,
    );
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('writing') && resolve());
      child.on('exit', () => reject(new Error('the child ended before writing')));
    });
    const during = await leftovers(folder);
    assert.equal(during.length, 1);
    assert.ok(statSync(join(folder, during[0])).size >= 3 << 20, 'the child had written to its temporary file');
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    assert.deepEqual(await leftovers(folder), []);
    await rm(script);
  });

  test('writeFileAtomic replaces an existing target only on success', async () => {
    const folder = await mkdtemp(join(dir, 'replace-'));
    const path = join(folder, 'file.txt');
    await writeFileAtomic(path, async (sink) => sink.write('first'));
    await assert.rejects(
      writeFileAtomic(path, async (sink) => {
        await sink.write('second, half');
        throw new Error('stop');
      }),
      /stop/,
    );
    assert.equal(await readFile(path, 'utf8'), 'first');
    assert.deepEqual(await leftovers(folder), ['file.txt']);
  });
});
