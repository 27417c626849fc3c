import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir, datasetDir, TINY } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

/** A bad-input run: exit 2, one line on stderr naming the problem, no stack trace. */
function assertCleanFailure(result: ReturnType<typeof runCli>, pattern: RegExp): void {
  assert.equal(result.status, 2, result.stderr);
  const errorLines = result.stderr.split('\n').filter((l) => l.includes('error'));
  assert.equal(errorLines.length, 1, result.stderr);
  assert.match(errorLines[0], pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('trellis CLI', () => {
  test('--help lists the commands and exits 0; no command exits 2', () => {
    const help = runCli(['--help']);
    assert.equal(help.status, 0);
    for (const name of ['demo', 'prepare', 'baseline', 'evaluate']) assert.match(help.stdout, new RegExp(`\\n  ${name} `));
    assert.equal(runCli([]).status, 2);
    const sub = runCli(['baseline', '--help']);
    assert.equal(sub.status, 0);
    assert.match(sub.stdout, /--top-k K/);
  });

  test('unknown commands and flags are usage errors (exit 2)', () => {
    assert.equal(runCli(['nope']).status, 2);
    assertCleanFailure(runCli(['baseline', '--data', TINY, '--bogus']), /Unknown option '--bogus'/);
    assertCleanFailure(runCli(['baseline', '--out', join(tmp, 'x.csv')]), /--data is required/);
    assertCleanFailure(runCli(['baseline', '--data', TINY, '--out', join(tmp, 'x.csv'), '--top-k', 'ten']), /--top-k must be an integer/);
  });

  test('baseline writes a LECR submission; evaluate scores it as one JSON object', () => {
    const out = join(tmp, 'pred.csv');
    const answers = join(tmp, 'answers.csv');
    const r = runCli(['baseline', '--data', TINY, '--out', out, '--top-k', '2', '--holdout', '0.5', '--answers-out', answers]);
    assert.equal(r.status, 0, r.stderr);
    const metrics = JSON.parse(r.stdout);
    assert.ok(metrics.recall && metrics.best);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'topic_id,content_ids');
    assert.equal(lines.length, 3); // 2 of the 4 linked topics held out
    for (const line of lines.slice(1)) assert.match(line, /^t_\w+,c_\w+( c_\w+)?$/);
    const e = runCli(['evaluate', '--predictions', out, '--answers', answers]);
    assert.equal(e.status, 0, e.stderr);
    const result = JSON.parse(e.stdout);
    assert.equal(result.topics, 2);
    assert.ok(result.f2 >= 0 && result.f2 <= 1);
    assert.ok('recall@10' in result.recall_at);
  });

  test('evaluate names a missing file in one line', () => {
    assertCleanFailure(runCli(['evaluate', '--predictions', join(tmp, 'missing.csv'), '--answers', join(TINY, 'correlations.csv')]), /missing\.csv: file not found/);
  });

  test('an unknown --graph source is a usage error', () => {
    assertCleanFailure(runCli(['train', '--graph', 'mongo']), /--graph must be one of csv, neo4j \(got "mongo"\)/);
  });

  test('evaluate of perfect predictions gives F2 = 1', () => {
    const answers = join(TINY, 'correlations.csv');
    const e = runCli(['evaluate', '--predictions', answers, '--answers', answers]);
    assert.equal(JSON.parse(e.stdout).f2, 1);
  });

  test('bad data: one line with file and line, exit 2, and no output file left behind', () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    datasetDir(dir, { 'correlations.csv': 'topic_id,content_ids\nt2,c1 c404\n' });
    const out = join(tmp, 'bad-out.csv');
    assertCleanFailure(runCli(['baseline', '--data', dir, '--out', out]), /correlations\.csv:2: unknown content id "c404"/);
    assert.equal(existsSync(out), false);
    assert.deepEqual(readdirSync(tmp).filter((f) => f.includes('bad-out')), []);
    const lenient = runCli(['baseline', '--data', dir, '--out', out, '--lenient']);
    assert.equal(lenient.status, 0, lenient.stderr);
    assert.match(lenient.stderr, /skipped 1 correlation rows/);
  });

  test('a missing data folder and a bad config are clean errors', () => {
    assertCleanFailure(runCli(['baseline', '--data', join(tmp, 'none'), '--out', join(tmp, 'o.csv')]), /does not exist/);
    const config = join(tmp, 'config.json');
    writeFileSync(config, JSON.stringify({ lexical: { bukets: 10 } }));
    assertCleanFailure(runCli(['baseline', '--data', TINY, '--out', join(tmp, 'o.csv'), '--config', config]), /unknown key "lexical.bukets"/);
  });

  test('env describes the backend, versions, threads, CPU, hnswlib and Neo4j, as lines or JSON', () => {
    const r = runCli(['env', '--json', '--backend', 'wasm']);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.backend.kind, 'wasm');
    assert.equal(info.backend.opThreads, 1);
    assert.equal(info.versions['@tensorflow/tfjs'], '4.22.0');
    assert.match(info.versions['hnswlib-node'], /^\d+\.\d+\.\d+$/);
    assert.ok(info.cpu.cores >= 1 && Array.isArray(info.cpu.features));
    assert.equal(typeof info.neo4j.ok, 'boolean');
    const lines = runCli(['env']);
    assert.equal(lines.status, 0, lines.stderr);
    for (const key of ['backend', 'threads', 'libtensorflow', 'cpu', 'gpu', 'hnswlib', 'neo4j']) assert.match(lines.stdout, new RegExp(`^\\s*${key}\\s`, 'm'), key);
  });

  test('presets sit between the defaults and an explicit config; an unknown one is a usage error', async () => {
    const { resolveRunConfig, PRESETS } = await import('../../src/config.ts');
    const quality = resolveRunConfig({}, 'config', 'quality');
    assert.equal(quality.encoder.kind, 'pretrained');
    assert.equal(quality.encoder.model, PRESETS.quality.encoder.model);
    assert.equal(quality.rerank.cutoff, 'learned-count');
    assert.equal(quality.rerank.compete, 'auto');
    // An explicit key wins over the preset; the preset's other keys stay.
    const mine = resolveRunConfig({ rerank: { cutoff: 'rule' } }, 'config', 'quality');
    assert.equal(mine.rerank.cutoff, 'rule');
    assert.equal(mine.rerank.crossFit, PRESETS.quality.rerank.crossFit);
    // The fast preset is the defaults with the stacker; both presets stack.
    const fast = resolveRunConfig({}, 'config', 'fast');
    assert.equal(fast.rerank.stack, true);
    assert.equal(quality.rerank.stack, true);
    assert.equal(resolveRunConfig({}).rerank.stack, false);
    assert.deepEqual(fast, { ...resolveRunConfig({}), rerank: { ...resolveRunConfig({}).rerank, stack: true } });
    assertCleanFailure(runCli(['train', '--data', TINY, '--preset', 'fastest']), /--preset must be one of fast, quality \(got "fastest"\)/);
  });
});

