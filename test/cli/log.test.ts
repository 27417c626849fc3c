import { test, describe, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { configureLog, emit, epochProgress, log, progress, stepProgress } from '../../src/cli/log.ts';
import { commandHelp } from '../../src/cli/command.ts';
import { COMMANDS } from '../../src/cli/commands/index.ts';
import { runCli, tempDir, TINY } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

/** Captures the logger's lines; JSON mode with a fixed clock unless `format` says otherwise. */
function capture(format: 'json' | 'text' = 'json'): string[] {
  const lines: string[] = [];
  configureLog({ format, tty: false, write: (line) => void lines.push(...line.split('\n').filter((l) => l !== '')), now: () => new Date('2026-11-23T19:15:00.000Z') });
  return lines;
}

afterEach(() => configureLog({ format: 'text', tty: process.stderr.isTTY === true, write: (line) => void process.stderr.write(line), now: () => new Date() }));

describe('logger', () => {
  test('JSON mode: one object per line, with the time and the event', () => {
    const lines = capture();
    log('loading data', { topics: 3 });
    emit('stage', { stage: 'load', seconds: 0.5 });
    assert.deepEqual(lines.map((l) => JSON.parse(l)), [
      { t: '2026-11-23T19:15:00.000Z', event: 'log', message: 'loading data', topics: 3 },
      { t: '2026-11-23T19:15:00.000Z', event: 'stage', stage: 'load', seconds: 0.5 },
    ]);
  });

  test('JSON progress: an event at every tenth and at the end, with rate and ETA', () => {
    const lines = capture();
    const bar = progress('rerank', 95, { unit: 'topics' });
    for (let done = 1; done <= 95; done++) bar.update(done);
    bar.stop();
    const events = lines.map((l) => JSON.parse(l));
    // 9.5, 19, ... 85.5 are crossed at 10, 19, 29, 38, 48, 57, 67, 76, 86; then 95 is the end.
    assert.deepEqual(events.map((e) => e.done), [10, 19, 29, 38, 48, 57, 67, 76, 86, 95]);
    for (const e of events) {
      assert.equal(e.event, 'progress');
      assert.equal(e.step, 'rerank');
      assert.equal(e.total, 95);
      assert.equal(e.unit, 'topics');
      assert.ok(e.rate === null || e.rate >= 0);
      assert.ok(e.eta === null || e.eta >= 0);
    }
    assert.equal(events.at(-1).eta, 0);
  });

  test('the rate is measured from the first update, and unknown until a second', () => {
    const lines = capture();
    const bar = progress('lexical search', 10);
    bar.update(0);
    bar.update(10);
    const start = progress('rerank', 10);
    start.update(10);
    const events = lines.map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.step, e.done, e.eta]), [['lexical search', 10, 0], ['rerank', 10, 0]]);
    assert.ok(events[0].rate === null || events[0].rate > 0);
    assert.equal(events[1].rate, null);
  });

  test('a step that jumps straight to its end reports once', () => {
    const lines = capture();
    const onProgress = stepProgress();
    onProgress('lexical search', 42, 42);
    onProgress('rerank', 256, 500);
    onProgress('rerank', 500, 500);
    assert.deepEqual(lines.map((l) => [JSON.parse(l).step, JSON.parse(l).done]), [['lexical search', 42], ['rerank', 256], ['rerank', 500]]);
  });

  test('epoch progress carries the epoch and the batch loss', () => {
    const lines = capture();
    const onStep = epochProgress();
    for (let step = 1; step <= 4; step++) onStep(1, step, 4, 2.5 - step / 10);
    const events = lines.map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => [e.step, e.epoch, e.done, e.loss]), [['epoch', 2, 1, 2.4], ['epoch', 2, 2, 2.3], ['epoch', 2, 3, 2.2], ['epoch', 2, 4, 2.1]]);
  });

  test('plain mode off a terminal: status lines as they are, progress as "<step>: done/total unit"', () => {
    const lines = capture('text');
    log('loading data');
    emit('stage', { stage: 'load' }); // no text: JSON only
    const bar = progress('push links', 4, { unit: 'batches' });
    for (let done = 1; done <= 4; done++) bar.update(done);
    assert.equal(lines[0], 'loading data');
    assert.equal(lines.length, 5);
    // No rate from a single update: the step's start is unknown.
    assert.equal(lines[1], 'push links: 1/4 batches');
    assert.match(lines[2], /^push links: 2\/4 batches( \([\d.]+\/s, ETA \d+ s\))?$/);
    assert.match(lines[4], /^push links: 4\/4 batches( \([\d.]+\/s\))?$/);
  });
});

describe('--log-json on the command line', () => {
  test('baseline: stderr is JSON lines (logs and progress), stdout keeps the results', () => {
    const r = runCli(['baseline', '--data', TINY, '--out', join(tmp, 'b.csv'), '--holdout', '0.5', '--log-json']);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn')).map((l) => JSON.parse(l));
    assert.ok(events.length >= 4);
    for (const e of events) assert.match(e.t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(events.some((e) => e.event === 'log' && e.message.startsWith('loaded ') && e.topics === 7));
    assert.ok(events.some((e) => e.event === 'progress' && e.step === 'lexical search' && e.done === e.total));
    assert.ok(JSON.parse(r.stdout).recall, 'the metrics are on stdout');
  });

  test('an error is one JSON line, before or after the command name', () => {
    for (const args of [['--log-json', 'baseline', '--data', join(tmp, 'none'), '--out', join(tmp, 'x.csv')], ['baseline', '--data', join(tmp, 'none'), '--out', join(tmp, 'x.csv'), '--log-json']]) {
      const r = runCli(args);
      assert.equal(r.status, 2);
      const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));
      const error = JSON.parse(lines.at(-1)!);
      assert.equal(error.event, 'error');
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /does not exist/);
      for (const line of lines) JSON.parse(line);
    }
  });

  test('a usage error with --log-json is a JSON line too', () => {
    const r = runCli(['baseline', '--log-json', '--bogus']);
    assert.equal(r.status, 2);
    assert.match(JSON.parse(r.stderr.trim().split('\n').at(-1)!).message, /Unknown option '--bogus'/);
  });

  test('help names --log-json for every command with long steps, and the report options where there is a report', () => {
    assert.match(runCli(['--help']).stdout, /--log-json/);
    for (const name of ['train', 'recommend', 'demo', 'evaluate', 'baseline', 'graph push']) {
      const help = commandHelp(COMMANDS.find((c) => c.name === name)!);
      assert.match(help, /\n  --log-json  /, name);
      const reports = ['train', 'recommend', 'demo'].includes(name);
      assert.equal(/--report DIR/.test(help) && /--no-report/.test(help) && /reports\/<run-id>\/index\.html/.test(help), reports, name);
    }
  });
});
