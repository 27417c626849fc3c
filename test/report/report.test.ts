/**
 * The run report of a small synthetic run, built in process: lexical
 * candidates stand in for the fused lists and their TF-IDF cosines for the
 * reranker's probabilities, so every section has real numbers without a
 * trained model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import {
  applyDecisionRule, answersOf, buildForest, buildLexicalIndex, fuseCandidates, lexicalSearch, RecommendationTableBuilder, splitTopics,
  type Dataset, type FusedCandidates, type RecommendationTable,
} from '../../src/index.ts';
import { scoreStages } from '../../src/pipeline/holdout.ts';
import { evaluationSection, exampleTopics, writeRunReport, SECTIONS, type RecommendRun, type RunReport } from '../../src/report/index.ts';
import { checkInChromium, DEFAULT_CHROMIUM } from '../../src/report/chromium.ts';
import { tempDir } from '../helpers.ts';

const { dir: tmp, cleanup } = tempDir();
after(cleanup);

let withAnswers: string;
let withoutAnswers: string;
let run: RecommendRun;

function syntheticRun(): RecommendRun {
  const dataset: Dataset = syntheticDataset({ channels: 2, branching: 3, depth: 2, contentPerLeaf: 4, languages: ['en', 'fr'], seed: 3 });
  // A title that must be escaped, not interpreted.
  dataset.topics[0].title = 'Root <b>&amp;</b> "quoted"';
  const forest = buildForest(dataset);
  const split = splitTopics(dataset, { fraction: 0.4, seed: 1 });
  const topics = split.heldOut;
  const lexical = buildLexicalIndex(dataset, { buckets: 1 << 14 });
  const empty = { rows: new Uint32Array(0), scores: new Float32Array(0) };
  const candidates: FusedCandidates[] = lexicalSearch(lexical, dataset, forest, topics, 12).map((l) => fuseCandidates(empty, l));
  const probabilities = candidates.map((c) => Float32Array.from(c.lexical, (x) => (Number.isNaN(x) ? 0 : x)));
  const rule = { threshold: 0.2, margin: 0.5, cap: 6 };
  const builder = new RecommendationTableBuilder(['lexical', 'rerank'], Array.from(topics, (t) => dataset.topics[t].id), dataset.content.map((c) => c.id));
  candidates.forEach((c, i) => {
    applyDecisionRule(rule, probabilities[i]).forEach((j, rank) => {
      builder.add({ topic: i, content: c.rows[j], rank: rank + 1, score: probabilities[i][j], stages: { lexical: c.lexical[j], rerank: probabilities[i][j] }, explanation: `lexical #${c.lexicalRank[j]}` });
    });
  });
  const table: RecommendationTable = builder.build();
  return { dataset, forest, topics, table, candidates, probabilities, rule, answers: answersOf(dataset, topics) };
}

function baseReport(runId: string): RunReport {
  return {
    runId,
    command: 'recommend',
    argv: ['recommend', '--data', 'synthetic'],
    startedAt: '2026-11-23T19:15:00.000Z',
    finishedAt: '2026-11-23T19:15:04.000Z',
    environment: { node: process.version, platform: 'linux-x64', cpus: 2, backend: 'cpu' },
    model: { id: 'tt-000000000000', dir: 'models/synthetic' },
    config: { retrieval: { topK: 12 } },
    dataset: { source: 'synthetic', topics: run.dataset.topics.length, content: run.dataset.content.length, links: 1, topicsWithContent: 1, channels: 2, languages: ['en', 'fr'], predicted: run.topics.length },
    stages: [{ name: 'load', seconds: 0.5, maxRssBytes: 2e8 }, { name: 'recommend', seconds: 2, maxRssBytes: 3e8 }, { name: 'rerank', seconds: 1.5, parent: 'recommend' }],
    peakRssBytes: 3e8,
    training: {
      history: [0, 1, 2].map((epoch) => ({ epoch, loss: 4 - epoch, validationRecall: 0.5 + epoch / 10, learningRate: 1e-3, seconds: 1, best: true })),
      recallK: 50, initialRecall: 0.4, bestEpoch: 2, examplesPerSecond: 1000, source: 'this run',
    },
    examples: [],
    outputs: [{ label: 'recommendations', path: 'work/out.csv' }],
  };
}

before(async () => {
  run = syntheticRun();
  const ids = Array.from(run.topics, (t) => run.dataset.topics[t].id);
  const scores = scoreStages(ids, run.answers!, run.candidates, { table: run.table, scores: run.probabilities! });
  const full = baseReport('20261123-191500-recommend');
  full.evaluation = evaluationSection(run, scores);
  full.examples = exampleTopics(run);
  withAnswers = await writeRunReport(tmp, full);
  const plain = baseReport('20261123-191600-recommend');
  plain.evaluationMissing = 'These topics have no answers hidden from the model, so there is nothing to score against.';
  plain.examples = exampleTopics({ ...run, answers: undefined });
  withoutAnswers = await writeRunReport(tmp, plain);
});

const svgCount = (html: string) => (html.match(/<svg[\s>]/g) ?? []).length;

test('the report goes to <root>/<run-id>/index.html', () => {
  assert.equal(withAnswers, join(tmp, '20261123-191500-recommend', 'index.html'));
  assert.ok(existsSync(withAnswers));
});

test('the page is self-contained: no scripts, no external links, styles inline', () => {
  for (const path of [withAnswers, withoutAnswers]) {
    const html = readFileSync(path, 'utf8');
    assert.doesNotMatch(html, /\s(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i, 'no http(s) or protocol-relative src/href');
    assert.doesNotMatch(html, /<script|<link\s|<img\s|<iframe|@import|url\(\s*['"]?(?:https?:)?\/\//i);
    assert.match(html, /<style>[^<]+<\/style>/);
    // Links stay inside the page.
    for (const [, target] of html.matchAll(/\shref="([^"]*)"/g)) assert.match(target, /^#[a-z]+$/, target);
  }
});

test('with answers: every section, and the plots as inline SVG', () => {
  const html = readFileSync(withAnswers, 'utf8');
  for (const [id, title] of SECTIONS) {
    assert.match(html, new RegExp(`<h2 id="${id}">`), id);
    assert.ok(html.includes(title), title);
  }
  // timings, loss, validation recall, recall@K, F2 against threshold, F2 per channel, language, level.
  assert.equal(svgCount(html), 8);
  assert.doesNotMatch(html, /class="missing"/);
  assert.match(html, /learned rule \(threshold 0\.200, margin 0\.5, cap 6\)/);
  // Every stage's recall curve is in the legend of the recall@K plot.
  for (const stage of ['lexical', 'neural', 'fused', 'reranked']) assert.match(html, new RegExp(`>${stage}</text>`), stage);
  // Groups: both channels and both languages.
  for (const group of ['ch0', 'ch1', 'en', 'fr']) assert.match(html, new RegExp(`<td>${group}</td>`), group);
  // Example topics with answers marked, and the escaped title.
  assert.match(html, /<td class="hit">\u2713<\/td>/);
  assert.ok(html.includes('Root &lt;b&gt;&amp;amp;&lt;/b&gt; &quot;quoted&quot;'));
  assert.ok(!html.includes('<b>&amp;</b>'));
});

test('without answers: the page says so instead of plotting', () => {
  const html = readFileSync(withoutAnswers, 'utf8');
  for (const [id] of SECTIONS) assert.match(html, new RegExp(`<h2 id="${id}">`), id);
  // timings, loss, validation recall; no recall@K, threshold or group plots.
  assert.equal(svgCount(html), 3);
  assert.equal((html.match(/nothing to score against/g) ?? []).length, 3);
  assert.doesNotMatch(html, /class="hit"/);
  assert.match(html, /<h2 id="examples">Example topics<\/h2>\s*<div class="example">/);
});

test('the evaluation matches the stage scores it came from', () => {
  const ids = Array.from(run.topics, (t) => run.dataset.topics[t].id);
  const scores = scoreStages(ids, run.answers!, run.candidates, { table: run.table, scores: run.probabilities! });
  const e = evaluationSection(run, scores)!;
  const curve = (stage: string) => e.recallCurves.find((c) => c.stage === stage)!.recall;
  // recall@10 from the curve equals scoreStages' recall@10 of the same lists.
  assert.ok(Math.abs(curve('lexical')[9] - scores.lexical['recall@10']) < 1e-9);
  assert.ok(Math.abs(curve('reranked')[9] - scores.reranked!['recall@10']) < 1e-9);
  // Curves never fall as K grows.
  for (const c of e.recallCurves) for (let k = 1; k < c.recall.length; k++) assert.ok(c.recall[k] >= c.recall[k - 1] - 1e-12, c.stage);
  // The group means over one attribute cover every scored topic once.
  const channelTopics = e.groups.filter((g) => g.by === 'channel').reduce((s, g) => s + g.topics, 0);
  assert.equal(channelTopics, e.topics);
  const weighted = e.groups.filter((g) => g.by === 'language').reduce((s, g) => s + g.f2 * g.topics, 0) / e.topics;
  assert.ok(Math.abs(weighted - scores.reranked!.f2) < 1e-9, `${weighted} vs ${scores.reranked!.f2}`);
});

test('example topics: the spread by F2 with answers, evenly spaced without; at most the asked items each', () => {
  const examples = exampleTopics(run, 3, 2);
  assert.equal(examples.length, 3);
  assert.ok(examples[0].f2! >= examples[1].f2! && examples[1].f2! >= examples[2].f2!, 'best first, worst last');
  for (const x of examples) {
    assert.ok(x.items.length <= 2 && x.recommended >= x.items.length);
    assert.deepEqual(x.items.map((i) => i.rank), x.items.map((_, j) => j + 1));
    assert.equal(x.missed!.count + x.items.filter((i) => i.hit).length <= x.gold!, true);
  }
  const plain = exampleTopics({ ...run, answers: undefined }, 3, 2);
  assert.deepEqual(plain.map((x) => x.topicId), [0, Math.round((run.topics.length - 1) / 2), run.topics.length - 1].map((i) => run.dataset.topics[run.topics[i]].id));
  assert.ok(plain.every((x) => x.gold === undefined && x.items.every((i) => i.hit === undefined)));
});

// Under CI Chromium must be there (.ci/run installs it): its absence fails the check instead of skipping it.
const noChromium = !existsSync(DEFAULT_CHROMIUM) && `no ${DEFAULT_CHROMIUM} (apt-get install chromium)`;
test('renders in headless Chromium', { skip: !process.env.CI && noChromium, timeout: 240_000 }, async () => {
  assert.equal(noChromium, false, 'Chromium must be installed under CI');
  const check = await checkInChromium(withAnswers, { screenshot: join(tmp, 'shot.png'), width: 1000, height: 3000 });
  assert.equal(check.svgInDom, 8);
  assert.deepEqual(check.sections, SECTIONS.map(([id]) => id));
  assert.equal(check.width, 1000);
  assert.equal(check.height, 3000);
});
