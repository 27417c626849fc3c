/**
 * Where is a trained model's final F2 lost: in how many items each topic
 * keeps, or in the order the reranker puts them in? Scores the model's
 * held-out topics once (as `trellis recommend --topics held-out` does) and
 * reports, as mean F2 over the topics with links:
 *
 *   deployed       what the model recommends (its rule or per-topic cut-off);
 *   without count  with a learned count (rerank.cutoff 'learned-count'): the
 *                  cut-off tuned on the same topics without one;
 *   known count    the expected-F2 cut-off (src/rerank/cutoff.ts) with the
 *                  model's calibration but each topic's true number of links
 *                  as its expected gold count (needs a tuned cut-off);
 *   top-k = count  each topic's first k candidates, k its true link count;
 *   best k         each topic cut at its own best k (an oracle).
 *
 * The last three read the held-out answers: they are ceilings, never choices.
 * With --also MODEL2 (trained on the same split), it also reports how well
 * each model's reranker orders the candidates, and the mean of the two
 * probabilities: recall@10, F2 at the best single top-k, and best-k F2.
 *
 *   node --import tsx scripts/probe-ceiling.ts --data data/khan --model MODEL [--also MODEL2]
 */
import { openModelAndData, runScript } from './script.ts';
import { bestTopK, f2Score, MODEL_LAYOUT, openModel, recallAtK, recommendTopics, UsageError, type Dataset, type TopicForest } from '../src/index.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keepCount, parseCutoff, rerankerDir, topicPriors } from '../src/internal.ts';

const NAME = 'probe-ceiling';
const log = (line: string) => console.error(`[${NAME}] ${line}`);

/** Held-out topics of the model in `dir`, scored by its full pipeline. */
async function score(dir: string, dataset: Dataset, forest: TopicForest) {
  const folder = await openModel(dir);
  if (folder.meta.heldOut.length === 0) throw new UsageError(`${NAME}: the model in ${dir} has no held-out topics (train it with --holdout).`);
  const topics = Uint32Array.from(folder.meta.heldOut, (id) => dataset.topicIndex.get(id)!);
  return { topics, result: await recommendTopics(folder, dataset, forest, topics, { stage: 'full', log }) };
}

/** F2 of keeping the first k of `order` (indices into `rows`), for k = 0..n. */
function f2ByK(order: ArrayLike<number>, rows: ArrayLike<number>, gold: ReadonlySet<number>): Float64Array {
  const out = new Float64Array(order.length + 1);
  let hits = 0;
  for (let k = 1; k <= order.length; k++) {
    hits += gold.has(rows[order[k - 1]]) ? 1 : 0;
    out[k] = f2Score(hits / k, hits / gold.size);
  }
  return out;
}

const sortedBy = (scores: ArrayLike<number>) => Array.from({ length: scores.length }, (_, j) => j).sort((x, y) => scores[y] - scores[x] || x - y);

await runScript(NAME, { data: { type: 'string' }, model: { type: 'string' }, also: { type: 'string' } }, async (values) => {
  const { modelDir, dataset, forest } = await openModelAndData(NAME, values, { backend: 'auto' });
  const { topics, result } = await score(modelDir, dataset, forest);
  const gold = Array.from(topics, (t) => new Set(dataset.links[t]));
  const linked = [...topics.keys()].filter((i) => gold[i].size > 0);
  const rows = result.candidates.map((c) => c.rows);
  const kept = new Map<number, number>();
  for (let r = 0; r < result.table.length; r++) kept.set(result.table.topic[r], (kept.get(result.table.topic[r]) ?? 0) + 1);
  const mean = (f: (i: number) => number) => linked.reduce((s, i) => s + f(i), 0) / linked.length;
  const curves = linked.map((i) => {
    const order = sortedBy(result.scores![i]);
    return { i, order, f2: f2ByK(order, rows[i], gold[i]) };
  });
  const at = new Map(curves.map((c) => [c.i, c]));
  const cutoff = result.cutoff;
  console.log(`${linked.length} held-out topics with links; mean F2 of`);
  console.log(`| cut | F2 |\n|---|---:|`);
  console.log(`| deployed (${cutoff ? 'per-topic cut-off' : 'global rule'}) | ${mean((i) => at.get(i)!.f2[kept.get(i) ?? 0]).toFixed(4)} |`);
  if (cutoff) {
    const sorted = (i: number) => Float64Array.from(at.get(i)!.order, (j) => result.scores![i][j]);
    const stored = JSON.parse(readFileSync(join(rerankerDir({ dir: modelDir }), MODEL_LAYOUT.rule), 'utf8')) as { withoutCount?: { cutoff: unknown } };
    if (cutoff.count && stored.withoutCount) {
      // The cut-off tuned without a learned count on the same topics, with the siblings' items as the model sees them (held-out links hidden).
      const plain = parseCutoff(stored.withoutCount.cutoff);
      const heldOut = new Set(topics);
      const priors = topicPriors(forest, dataset.links.map((l, t) => (heldOut.has(t) ? new Uint32Array(0) : l)), topics);
      console.log(`| the cut-off tuned without a learned count (gamma ${plain.gamma}, delta ${plain.delta}) | ${mean((i) => at.get(i)!.f2[keepCount(plain, sorted(i), priors[i])]).toFixed(4)} |`);
    }
    const known = { ...cutoff, gamma: 0, delta: 1, count: undefined };
    console.log(`| known count (calibration kept, gold = true count) | ${mean((i) => at.get(i)!.f2[keepCount(known, sorted(i), { siblingItems: gold[i].size, siblings: 0, depth: 0 })]).toFixed(4)} |`);
  }
  console.log(`| top-k, k = true count | ${mean((i) => { const c = at.get(i)!; return c.f2[Math.min(gold[i].size, c.order.length)]; }).toFixed(4)} |`);
  console.log(`| best k per topic (oracle) | ${mean((i) => Math.max(...at.get(i)!.f2)).toFixed(4)} |`);
  if (!values.also) return;
  const other = await score(String(values.also), dataset, forest);
  if (other.topics.length !== topics.length || other.topics.some((t, i) => t !== topics[i])) throw new UsageError(`${NAME}: --also must be trained on the same split as --model (its held-out topics differ).`);
  // The second model's probabilities on the first model's candidates (0 for a candidate it did not retrieve).
  const otherP = linked.map((i) => {
    const p = new Map<number, number>();
    other.result.candidates[i].rows.forEach((c, j) => p.set(c, other.result.probabilities![i][j]));
    return Float32Array.from(rows[i], (c) => p.get(c) ?? 0);
  });
  const variants: [string, (k: number) => ArrayLike<number>][] = [
    ['--model', (k) => result.probabilities![linked[k]]],
    ['--also', (k) => otherP[k]],
    ['mean of the two', (k) => result.probabilities![linked[k]].map((p, j) => (p + otherP[k][j]) / 2)],
  ];
  const ids = linked.map((i) => dataset.topics[topics[i]].id);
  const answers = new Map(linked.map((i, k) => [ids[k], dataset.links[topics[i]]]));
  console.log(`\n| reranker | recall@10 | F2 at the best single top-k (k) | best k per topic |\n|---|---:|---:|---:|`);
  for (const [name, probabilities] of variants) {
    const orders = linked.map((_, k) => sortedBy(probabilities(k)));
    const ranked = new Map(linked.map((i, k) => [ids[k], Uint32Array.from(orders[k], (j) => rows[i][j])]));
    const best = bestTopK(ranked, answers, 50);
    const oracle = orders.reduce((sum, order, k) => sum + Math.max(...f2ByK(order, rows[linked[k]], gold[linked[k]])), 0) / linked.length;
    console.log(`| ${name} | ${recallAtK(ranked, answers, [10])['recall@10'].toFixed(4)} | ${best.f2.toFixed(4)} (${best.k}) | ${oracle.toFixed(4)} |`);
  }
});
