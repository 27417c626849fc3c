/**
 * A grown catalogue without retraining, against a model retrained on it.
 *
 *   node --import tsx scripts/bench-catalogue.ts --data data/khan [--hide 0.2] [--seed 42] [--config FILE] [--work work/bench/catalogue]
 *
 * The topics with content are split as everywhere (25% held out, seed 42).
 * Then a seeded share (--hide, 20%) of the content items is hidden, with all
 * their links: the catalogue of "last week". Model A trains on it; model B
 * on the whole catalogue; both with the same held-out topics, whose links
 * neither sees. Both recommend for the held-out topics on the whole
 * catalogue: model A's index learns of the hidden items only then, as new
 * items (encoded by its towers, put into its index), exactly as
 * `trellis recommend` does with a grown catalogue; then `updateIndex` (the
 * job of `trellis update`) saves model A's index and is timed. Prints final
 * F2, precision, recall and the fused recall@50 of both, and what share of
 * the held-out topics' links are hidden items; writes
 * <work>/<dataset>.json.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import { runScript } from './script.ts';
import {
  buildDataset, buildForest, initRuntime, loadDataset, openModel, recommendTopics, resolveRunConfig, rngFor, runTraining,
  scoreStages, shuffleInPlace, splitTopics, updateIndex, UsageError, type Dataset, type Split,
} from '../src/index.ts';

const NAME = 'bench-catalogue';

/** The dataset without the `hidden` content rows and their links. */
function withoutItems(dataset: Dataset, hidden: Set<number>): Dataset {
  const content = dataset.content.filter((_, c) => !hidden.has(c));
  const correlations = new Map<string, string[]>();
  dataset.topics.forEach((t, i) => {
    const ids = Array.from(dataset.links[i]).filter((c) => !hidden.has(c)).map((c) => dataset.content[c].id);
    if (ids.length) correlations.set(t.id, ids);
  });
  return buildDataset(dataset.topics, content, correlations, dataset.dir);
}

/** The split of `full` carried to another dataset of the same topics: the same held-out topic ids. */
function sameSplit(full: Split, from: Dataset, to: Dataset): Split {
  const held = new Set(Array.from(full.heldOut, (t) => to.topicIndex.get(from.topics[t].id)!));
  const trainLinks = to.links.map((l, t) => (held.has(t) ? new Uint32Array(0) : l));
  const train = Uint32Array.from(to.topics.keys()).filter((t) => !held.has(t) && to.links[t].length > 0);
  return { trainLinks, heldOut: Uint32Array.from(held).sort(), train };
}

await runScript(NAME, {
  data: { type: 'string', default: 'data/khan' },
  hide: { type: 'string', default: '0.2' },
  seed: { type: 'string', default: '42' },
  config: { type: 'string' },
  work: { type: 'string', default: 'work/bench/catalogue' },
}, async (values) => {
  const hide = Number(values.hide);
  if (!(hide > 0 && hide < 1)) throw new UsageError(`${NAME}: --hide must be a fraction in (0, 1) (got ${values.hide}).`);
  const seed = Number(values.seed);
  const given = values.config ? (JSON.parse(readFileSync(String(values.config), 'utf8')) as Record<string, unknown>) : {};
  const config = resolveRunConfig(given, String(values.config ?? 'config'));
  const runtime = await initRuntime();
  const full = await loadDataset(String(values.data));
  const name = basename(resolve(String(values.data)));
  const work = resolve(String(values.work));
  mkdirSync(work, { recursive: true });
  const fullForest = buildForest(full);
  const split = splitTopics(full, { fraction: 0.25, seed });
  const hidden = new Set(shuffleInPlace(Array.from(full.content.keys()), rngFor(seed, 'bench-catalogue/hide')).slice(0, Math.round(hide * full.content.length)));
  const lastWeek = withoutItems(full, hidden);
  const heldLinks = split.heldOut.reduce((s, t) => s + full.links[t].length, 0);
  const heldHidden = split.heldOut.reduce((s, t) => s + Array.from(full.links[t]).filter((c) => hidden.has(c)).length, 0);
  const log = (line: string) => process.stderr.write(`[${NAME}] ${line}\n`);
  log(`${runtime.message}; ${name}: ${full.content.length} items, ${hidden.size} hidden (${(100 * hide).toFixed(0)}%); ${split.heldOut.length} held-out topics, ${heldHidden} of their ${heldLinks} links are hidden items`);

  const run = async (label: string, dataset: Dataset) => {
    const modelDir = join(work, `${name}-${label}`);
    rmSync(modelDir, { recursive: true, force: true });
    const t0 = performance.now();
    await runTraining({ dataset, forest: buildForest(dataset), config, seed, modelDir, split: sameSplit(split, full, dataset), splitSpec: { fraction: 0.25, by: 'topic' }, backend: runtime.kind, log: (line) => log(`${label}: ${line}`) });
    const trainSeconds = (performance.now() - t0) / 1000;
    const folder = await openModel(modelDir);
    const t1 = performance.now();
    const result = await recommendTopics(folder, full, fullForest, split.heldOut, { stage: config.rerank.enabled ? 'full' : 'retrieve', log: (line) => log(`${label}: ${line}`) });
    const recommendSeconds = (performance.now() - t1) / 1000;
    const ids = Array.from(split.heldOut, (t) => full.topics[t].id);
    const answers = new Map(Array.from(split.heldOut, (t) => [full.topics[t].id, full.links[t]]));
    const scores = scoreStages(ids, answers, result.candidates, result.scores ? { table: result.table, scores: result.scores } : undefined);
    let update: { seconds: number; encode: number; changes: unknown } | undefined;
    if (label === 'grown') {
      const u = await updateIndex(folder, full, fullForest, { log: (line) => log(`${label}: ${line}`) });
      update = { seconds: u.seconds.total, encode: u.seconds.encode, changes: u.changes.counts };
    }
    return { label, trainItems: dataset.content.length, trainSeconds, recommendSeconds, catalogue: result.catalogue, scores, update };
  };
  const grown = await run('grown', lastWeek);
  const retrained = await run('retrained', full);
  const record = { createdAt: new Date().toISOString(), backend: runtime.message, dataset: name, hide, seed, config: given, hidden: hidden.size, heldOut: split.heldOut.length, heldLinks, heldHidden, runs: [grown, retrained], loadAverage: loadavg() };
  writeFileSync(join(work, `${name}.json`), JSON.stringify(record, null, 1));
  const row = (r: typeof grown) => {
    const s = r.scores;
    return `| ${r.label === 'grown' ? `trained on ${r.trainItems} items (${(100 * hide).toFixed(0)}% hidden), served the whole catalogue` : `retrained on all ${r.trainItems} items`} | ${s.fused['recall@50'].toFixed(4)} | ${s.reranked ? s.reranked.f2.toFixed(4) : '-'} | ${s.reranked ? s.reranked.precision.toFixed(3) : '-'} | ${s.reranked ? s.reranked.recall.toFixed(3) : '-'} | ${r.trainSeconds.toFixed(0)} |`;
  };
  console.log(`${name}: ${split.heldOut.length} held-out topics; ${heldHidden} of their ${heldLinks} links (${((100 * heldHidden) / heldLinks).toFixed(1)}%) are items model A never saw; ${runtime.message}\n`);
  console.log('| model | fused recall@50 | final F2 | precision | recall | train s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(row(grown));
  console.log(row(retrained));
  const f2 = (r: typeof grown) => r.scores.reranked?.f2 ?? r.scores.fused.f2AtBestTopK;
  console.log(`\nWithout retraining minus retrained: final F2 ${(f2(grown) - f2(retrained)).toFixed(4)}, fused recall@50 ${(grown.scores.fused['recall@50'] - retrained.scores.fused['recall@50']).toFixed(4)}.`);
  if (grown.update) console.log(`trellis update of model A's index to the whole catalogue: ${grown.update.seconds.toFixed(1)} s (${grown.update.encode.toFixed(1)} s encoding), changes ${JSON.stringify(grown.update.changes)}.`);
});
