/** Run reports from the commands that write them, on a small synthetic dataset and a tiny model. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { writeDataset } from '../../src/index.ts';
import { runCli, tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);
const data = join(tmp, 'data');
const model = join(tmp, 'model');
const config = join(tmp, 'config.json');
const reports = join(tmp, 'reports');

const TINY_CONFIG = {
  lexical: { buckets: 1 << 14 },
  encoder: { vocab: 1 << 12, dim: 16, hidden: 16, maxFeatures: 32 },
  graphsage: { aggregator: 'off' },
  training: { epochs: 2, batchSize: 16, patience: 2 },
  index: { M: 8, efConstruction: 50, efSearch: 50 },
  retrieval: { topK: 10, lexicalTopK: 10 },
  rerank: { epochs: 1, hidden: 16, layers: 1, heads: 2, maxLength: 32 },
};

let demo: ReturnType<typeof runCli>;

before(async () => {
  await writeDataset(data, syntheticDataset({ channels: 2, branching: 4, depth: 2, contentPerLeaf: 5, languages: ['en', 'fr'], seed: 7 }));
  writeFileSync(config, JSON.stringify(TINY_CONFIG));
  demo = runCli(['demo', '--data', data, '--model', model, '--config', config, '--report', reports, '--log-json']);
});

const svgCount = (html: string) => (html.match(/<svg[\s>]/g) ?? []).length;

test('demo ends by printing where its report is; the report has every plot', () => {
  assert.equal(demo.status, 0, demo.stderr);
  const last = demo.stdout.trim().split('\n').at(-1)!;
  const match = /^Run report \(open in a browser\): (.+)$/.exec(last);
  assert.ok(match, last);
  const path = match[1];
  assert.match(path, /[\\/]\d{8}-\d{6}-demo[\\/]index\.html$/);
  assert.ok(path.startsWith(reports));
  const html = readFileSync(path, 'utf8');
  // timings, loss, validation recall, recall@K, F2 against threshold, F2 per channel, language, level.
  assert.equal(svgCount(html), 8);
  assert.doesNotMatch(html, /class="missing"/);
  assert.doesNotMatch(html, /\s(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
  for (const stage of ['load', 'train', 'two-tower epochs', 'recommend', 'rerank', 'export', 'score']) assert.match(html, new RegExp(`<td>(\u2003)?${stage}</td>`), stage);
});

test('demo --log-json: stderr is JSON lines with progress, stages and the report', () => {
  const events = demo.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn')).map((l) => JSON.parse(l));
  const steps = new Set(events.filter((e) => e.event === 'progress').map((e) => e.step));
  for (const step of ['epoch', 'lexical search', 'rerank']) assert.ok(steps.has(step), step);
  const stages = events.filter((e) => e.event === 'stage').map((e) => e.stage);
  for (const stage of ['load', 'train', 'recommend', 'export', 'score', 'report']) assert.ok(stages.includes(stage), stage);
  const report = events.find((e) => e.event === 'report');
  assert.ok(report && existsSync(report.path));
  assert.ok(events.find((e) => e.event === 'stage' && e.stage === 'train').maxRssMB > 0);
});

test('recommend without answers says so in its report; --no-report writes none', () => {
  const before = readdirSync(reports).length;
  const quiet = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'a.csv'), '--no-report']);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(readdirSync(reports).length, before);
  assert.doesNotMatch(quiet.stderr, /run report/);

  const r = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'b.csv'), '--report', reports]);
  assert.equal(r.status, 0, r.stderr);
  const path = /^run report: (.+)$/m.exec(r.stderr)?.[1];
  assert.ok(path && existsSync(path), r.stderr);
  const html = readFileSync(path, 'utf8');
  assert.equal((html.match(/nothing to score against/g) ?? []).length, 3);
  // timings and the model's two training curves, no held-out plots.
  assert.equal(svgCount(html), 3);
  assert.match(html, /<h2 id="examples">Example topics<\/h2>\s*<div class="example">/);
});

test('--report must name a folder, and excludes --no-report', () => {
  const file = join(tmp, 'a-file');
  writeFileSync(file, '');
  for (const args of [['--report', file], ['--report', reports, '--no-report']]) {
    const r = runCli(['recommend', '--data', data, '--model', model, '--out', join(tmp, 'c.csv'), ...args]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /trellis recommend: error: --report (must name a folder|and --no-report exclude each other)/);
    assert.ok(!existsSync(join(tmp, 'c.csv')));
  }
});
