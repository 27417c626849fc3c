/**
 * Dataset loading and the lexical baseline, per dataset folder: sizes, load
 * time (median of 3 loads), TF-IDF index build time, and recall@K / F2 of the
 * lexical retriever on a 25% topic holdout (seed 42).
 * Usage: npx tsx scripts/bench-data.ts [--data DIR]... (default data/khan and data/debian when present)
 */
import { existsSync } from 'node:fs';
import { runScript } from './script.ts';
import { answersOf, buildForest, buildLexicalIndex, evaluateRanked, formatTable, lexicalSearch, loadDataset, rankedById, splitTopics } from '../src/index.ts';

await runScript('bench-data', { data: { type: 'string', multiple: true } }, async (values) => {
  const dirs = (values.data as string[] | undefined) ?? ['data/khan', 'data/debian'].filter((d) => existsSync(d));
  const sizes: (string | number)[][] = [];
  const quality: (string | number)[][] = [];
  for (const dir of dirs) {
    const times: number[] = [];
    let dataset = await loadDataset(dir);
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      dataset = await loadDataset(dir);
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    const forest = buildForest(dataset);
    const links = dataset.links.reduce((s, l) => s + l.length, 0);
    const channels = new Set(dataset.topics.map((t) => t.channel)).size;
    sizes.push([dir, dataset.topics.length, channels, dataset.content.length, links, times[1]]);
    const split = splitTopics(dataset, { fraction: 0.25, seed: 42 });
    const t0 = performance.now();
    const index = buildLexicalIndex(dataset);
    const t1 = performance.now();
    const lists = lexicalSearch(index, dataset, forest, split.heldOut, 100);
    const t2 = performance.now();
    const m = evaluateRanked(rankedById(Array.from(split.heldOut, (t) => dataset.topics[t].id), lists), answersOf(dataset, split.heldOut), [10, 50, 100], []);
    quality.push([dir, split.heldOut.length, m.recall['recall@10'], m.recall['recall@50'], m.recall['recall@100'], m.best.f2, m.best.k, (t1 - t0) / 1000, split.heldOut.length / ((t2 - t1) / 1000)]);
  }
  console.log(formatTable(['dataset', 'topics', 'channels', 'content', 'links', 'load s (median of 3)'], sizes, 2));
  console.log();
  console.log(formatTable(['dataset', 'held-out topics', 'recall@10', 'recall@50', 'recall@100', 'F2 best top-k', 'k', 'index build s', 'queries/s'], quality, 3));
});
