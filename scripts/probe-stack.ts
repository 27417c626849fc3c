/**
 * Writes a model's held-out pairs for scripts/probe-stack.py, the pre-check
 * of a second stage over the cross-encoder: one CSV row per (held-out topic,
 * candidate) with its label, the topic's number of links, the cross-encoder's
 * probability, the deployed score (competed as the model competes), the 13
 * side features (pipeline/rerank.ts FEATURE_NAMES) and the topic's place in
 * the tree. Held-out links are hidden from the side features, as recommend
 * hides them. For a model trained without rerank.stack.
 *
 *   node --import tsx scripts/probe-stack.ts --data data/khan --model MODEL --out work/probe/stack-42.csv
 */
import { openModelAndData, runScript } from './script.ts';
import { childrenOf, FEATURE_NAMES, openModel, pairFeatures, recommendTopics, UsageError, writeFileAtomic } from '../src/index.ts';
import { candidateDepth, linkContext, topicPriors } from '../src/internal.ts';

const NAME = 'probe-stack';

await runScript(NAME, { data: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' } }, async (values) => {
  if (typeof values.out !== 'string') throw new UsageError(`${NAME}: --out FILE is required.`);
  const { modelDir, dataset, forest } = await openModelAndData(NAME, values, { backend: 'auto' });
  const folder = await openModel(modelDir);
  if (folder.meta.config.rerank.stack) throw new UsageError(`${NAME}: the model in ${modelDir} already stacks its cross-encoder (rerank.stack); the probe reads the cross-encoder's own probabilities.`);
  if (folder.meta.heldOut.length === 0) throw new UsageError(`${NAME}: the model in ${modelDir} has no held-out topics (train it with --holdout).`);
  const topics = Uint32Array.from(folder.meta.heldOut, (id) => dataset.topicIndex.get(id)!);
  const result = await recommendTopics(folder, dataset, forest, topics, { stage: 'full', log: (line) => console.error(`[${NAME}] ${line}`) });
  const held = new Set(topics);
  const links = dataset.links.map((l, t) => (held.has(t) ? new Uint32Array(0) : l));
  const priors = topicPriors(forest, links, topics);
  const context = linkContext(dataset, links);
  const k = candidateDepth(folder.meta.config.retrieval);
  const width = FEATURE_NAMES.length;
  const lines = [['topic', 'content', 'label', 'gold', 'p', 'score', ...FEATURE_NAMES.map((_, f) => `f${f}`), 'sibItems', 'sibs', 'depth', 'children'].join(',')];
  topics.forEach((t, i) => {
    const c = result.candidates[i];
    const f = pairFeatures(dataset, forest, context, t, c, k);
    const gold = new Set(dataset.links[t]);
    for (let j = 0; j < c.rows.length; j++) {
      lines.push([i, c.rows[j], gold.has(c.rows[j]) ? 1 : 0, gold.size, result.probabilities![i][j], result.scores![i][j], ...f.subarray(j * width, (j + 1) * width), priors[i].siblingItems, priors[i].siblings, priors[i].depth, childrenOf(forest, t).length].join(','));
    }
  });
  await writeFileAtomic(values.out, async (sink) => sink.write(`${lines.join('\n')}\n`));
  console.error(`[${NAME}] wrote ${lines.length - 1} pairs of ${topics.length} held-out topics to ${values.out}`);
});
