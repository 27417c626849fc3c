/**
 * Which inputs does the learned fusion (retrieval.fusion 'learned',
 * src/retrieval/fusion.ts) need? For a model trained with it and with
 * held-out topics: builds the candidate pools of the validation topics (as
 * `trellis train` does, their links hidden) and of the held-out topics, then
 * for each feature group refits the fusion on the validation pools with that
 * group left out and scores the held-out topics' fused lists: recall@10/50/100
 * and mean F2 at the best top-k. The `all` row is the same fit with every
 * feature, as `trellis train` fits it (so it matches the model's own fusion).
 * The reciprocal-rank-fusion row joins the neural and lexical top 50.
 *
 *   node --import tsx scripts/probe-fusion.ts --data data/khan --model MODEL
 */
import { openModelAndData, runScript } from './script.ts';
import { deriveSeed, evaluateRanked, loadRetriever, rankedById, readModelMeta, retrieve, splitTopics, UsageError } from '../src/index.ts';
import { fitFusion, FUSION_FEATURE_NAMES, FUSION_FEATURES, fusionPools, linkContext, modelContext, scorePool, type FusionPool } from '../src/internal.ts';

const NAME = 'probe-fusion';

const GROUPS: Record<string, string[]> = {
  'sentence vectors': ['sentence_cosine', 'log_sentence_rank'],
  placement: ['unplaced', 'log_popularity'],
  'parent and sibling links': ['parent_links', 'log_sibling_links'],
  'sibling margin and parent cosine': ['sibling_margin', 'parent_cosine'],
  hubness: ['hubness'],
  'placement, links, cosines to the tree, hubness': ['unplaced', 'log_popularity', 'parent_links', 'log_sibling_links', 'sibling_margin', 'parent_cosine', 'hubness'],
};

await runScript(NAME, { data: { type: 'string' }, model: { type: 'string' } }, async (values) => {
  const { folder, dataset, forest } = await openModelAndData(NAME, values, {
    backend: 'auto',
    check: ({ meta }, modelDir) => {
      if (meta.heldOut.length === 0) throw new UsageError(`${NAME}: the model in ${modelDir} has no held-out topics (train it with --holdout).`);
      if (meta.config.retrieval.fusion !== 'learned') throw new UsageError(`${NAME}: the model in ${modelDir} was not trained with retrieval.fusion 'learned'.`);
    },
  });
  const meta = folder.meta;
  const log = (line: string) => console.error(`[${NAME}] ${line}`);
  const retriever = await loadRetriever(folder, dataset, forest, { log });
  const visible = modelContext(dataset, meta.heldOut);
  // The validation split `trellis train` made (same seed, same links).
  const linked = Uint32Array.from(dataset.topics.keys()).filter((t) => visible.links[t].length > 0);
  const validation = splitTopics(dataset, { fraction: meta.config.training.validationFraction, seed: deriveSeed(meta.seed, 'validation'), among: linked }, visible.links);
  const heldOut = Uint32Array.from(meta.heldOut, (id) => dataset.topicIndex.get(id)!);
  const fitPools = await fusionPools(retriever, validation.heldOut, { visible: linkContext(dataset, validation.trainLinks), log });
  const testPools = await fusionPools(retriever, heldOut, { visible, log });
  const rrf = await retrieve({ ...retriever, meta: { ...meta, config: { ...meta.config, retrieval: { ...meta.config.retrieval, fusion: 'rrf', unplacedTopK: 0, sentenceTopK: 0 } } } }, heldOut, { visible });
  retriever.model.dispose();
  const ids = Array.from(heldOut, (t) => dataset.topics[t].id);
  const answers = new Map(Array.from(heldOut, (t, i) => [ids[i], dataset.links[t]]));
  const row = (label: string, lists: { rows: Uint32Array }[]) => {
    const m = evaluateRanked(rankedById(ids, lists), answers, [10, 50, 100], []);
    console.log(`| ${label} | ${m.recall['recall@10'].toFixed(4)} | ${m.recall['recall@50'].toFixed(4)} | ${m.recall['recall@100'].toFixed(4)} | ${m.best.f2.toFixed(4)} (${m.best.k}) |`);
  };
  const masked = (pools: FusionPool[], drop: Set<number>) =>
    pools.map((pool) => {
      const features = pool.features.slice();
      for (let j = 0; j < pool.candidates.rows.length; j++) for (const f of drop) features[j * FUSION_FEATURES + f] = 0;
      return { ...pool, features };
    });
  const labels = fitPools.map((pool, i) => {
    const gold = new Set(dataset.links[validation.heldOut[i]]);
    return Uint8Array.from(pool.candidates.rows, (r) => (gold.has(r) ? 1 : 0));
  });
  console.log(`fitted on ${fitPools.length} validation topics, scored on ${heldOut.length} held-out topics\n`);
  console.log('| fusion | recall@10 | recall@50 | recall@100 | F2 at best top-k (k) |');
  console.log('|---|---:|---:|---:|---:|');
  row('reciprocal rank fusion, neural 50 + lexical 50', rrf);
  for (const [label, names] of [['all features', []] as [string, string[]], ...Object.entries(GROUPS).map(([g, n]) => [`without ${g}`, n] as [string, string[]])]) {
    const drop = new Set(names.map((name) => FUSION_FEATURE_NAMES.indexOf(name as (typeof FUSION_FEATURE_NAMES)[number])));
    const model = fitFusion(masked(fitPools, drop).map((p, i) => ({ features: p.features, labels: labels[i] })));
    row(label, masked(testPools, drop).map((pool) => scorePool(pool, model, meta.config.retrieval.fusedTopK)));
  }
});
