/**
 * Does content competition (rerank.compete, src/rerank/compete.ts) help the
 * F2 decision rule of a trained model? Scores every reranked candidate of the
 * model's held-out topics once, then for each exponent gamma:
 *
 *   oracle     the best rule searched on all held-out topics (an upper bound
 *              for any threshold/margin/cap rule on these scores);
 *   2-fold CV  rules searched on one half of the topics, scored on the other,
 *              over --repeats random halvings (competition over all topics);
 *   tune N     rules searched on N random topics with competition among those
 *              N only (as `trellis train` tunes on its tuning topics), scored
 *              on the rest with competition over all held-out topics (as
 *              `trellis recommend --topics held-out` runs).
 *
 *   node --import tsx scripts/probe-compete.ts --data data/khan --model MODEL [--gammas 0,0.5,1,2] [--repeats 10] [--tune 62] [--seed 1]
 *
 * The model must have a reranker and held-out topics (trained with --holdout).
 */
import { openModelAndData, runScript } from './script.ts';
import { evaluateRule, packCandidates, recommendTopics, rngFor, searchDecisionRule, shuffleInPlace, UsageError } from '../src/index.ts';
import { competeScores } from '../src/internal.ts';

const NAME = 'probe-compete';

await runScript(NAME, {
  data: { type: 'string' },
  model: { type: 'string' },
  gammas: { type: 'string', default: '0,0.25,0.5,1,1.5,2' },
  repeats: { type: 'string', default: '10' },
  tune: { type: 'string', default: '62' },
  seed: { type: 'string', default: '1' },
}, async (values) => {
  const entries = String(values.gammas).split(',');
  const gammas = entries.map(Number);
  if (entries.some((e) => e.trim() === '') || gammas.some((g) => !(g >= 0 && Number.isFinite(g)))) {
    throw new UsageError(`${NAME}: --gammas must be a comma-separated list of numbers >= 0 (got ${values.gammas}).`);
  }
  const repeats = Number(values.repeats);
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new UsageError(`${NAME}: --repeats must be a positive integer (got ${values.repeats}).`);
  const tuneCount = Number(values.tune);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`${NAME}: --seed must be an integer (got ${values.seed}).`);
  const { folder, dataset, forest } = await openModelAndData(NAME, values, {
    backend: 'auto',
    check: ({ meta }, modelDir) => {
      if (meta.heldOut.length === 0) throw new UsageError(`${NAME}: the model in ${modelDir} has no held-out topics (train it with --holdout).`);
      if (!(Number.isInteger(tuneCount) && tuneCount >= 2 && tuneCount < meta.heldOut.length)) throw new UsageError(`${NAME}: --tune must be an integer from 2 to ${meta.heldOut.length - 1}.`);
    },
  });
  const meta = folder.meta;
  const topics = Uint32Array.from(meta.heldOut, (id) => dataset.topicIndex.get(id)!);
  const result = await recommendTopics(folder, dataset, forest, topics, { stage: 'full', log: (line) => console.error(`[${NAME}] ${line}`) });
  const probabilities = result.probabilities!;
  const rows = result.candidates.map((c) => c.rows);
  const gold = Array.from(topics, (t) => new Set(dataset.links[t]));
  const labels = rows.map((r, i) => Array.from(r, (c) => (gold[i].has(c) ? 1 : 0)));
  const withGold = [...topics.keys()].filter((i) => gold[i].size > 0);
  const pack = (subset: number[], scoreOf: (i: number) => Float32Array) => packCandidates(subset.map((i) => ({ scores: scoreOf(i), labels: labels[i], goldCount: gold[i].size })));
  // Scores of topics (indices into `topics`) competed among `among` only.
  const competedAmong = (among: number[], gamma: number) => {
    const competed = competeScores(among.map((i) => probabilities[i]), among.map((i) => rows[i]), gamma);
    const at = new Map(among.map((i, k) => [i, k]));
    return (i: number) => competed[at.get(i)!];
  };
  console.log(`${withGold.length} held-out topics with links, ${probabilities.reduce((s, p) => s + p.length, 0)} reranked candidates\n`);
  console.log('| gamma | oracle rule | 2-fold CV | tune ' + tuneCount + ' -> rest |');
  console.log('|---:|---:|---:|---:|');
  for (const gamma of gammas) {
    // Competition over every held-out topic, as `recommend --topics held-out` scores them.
    const full = competedAmong(withGold, gamma);
    const oracle = searchDecisionRule(pack(withGold, full)).f2;
    const rng = rngFor(seed, 'probe-compete');
    let cv = 0;
    let tuned = 0;
    for (let r = 0; r < repeats; r++) {
      const order = shuffleInPlace([...withGold], rng);
      const half = order.length >> 1;
      for (const [a, b] of [[order.slice(0, half), order.slice(half)], [order.slice(half), order.slice(0, half)]]) {
        cv += evaluateRule(searchDecisionRule(pack(a, full)).rule, pack(b, full)).f2 / 2;
      }
      const tune = order.slice(0, tuneCount);
      tuned += evaluateRule(searchDecisionRule(pack(tune, competedAmong(tune, gamma))).rule, pack(order.slice(tuneCount), full)).f2;
    }
    console.log(`| ${gamma} | ${oracle.toFixed(4)} | ${(cv / repeats).toFixed(4)} | ${(tuned / repeats).toFixed(4)} |`);
  }
});
