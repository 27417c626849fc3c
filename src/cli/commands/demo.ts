import { fileURLToPath } from 'node:url';
import { resolveRunConfig } from '../../config.ts';
import { answersOf, splitTopics } from '../../eval/split.ts';
import { evaluateRanked, rankedById } from '../../eval/metrics.ts';
import { formatTable } from '../../eval/report.ts';
import { buildLexicalIndex, lexicalSearch } from '../../retrieval/lexical.ts';
import { numberOption, optionalString, SHARED_OPTIONS, type Command } from '../command.ts';
import { loadData, log, seedFromArgs } from '../context.ts';

const BUNDLED = fileURLToPath(new URL('../../../data/khan', import.meta.url));

export const demo: Command = {
  name: 'demo',
  summary: 'the main job on the bundled Khan Academy data: hold out 25% of topics, recommend, score',
  usage: '[--data DIR] [--holdout F] [--seed N]',
  options: {
    data: { ...SHARED_OPTIONS.data, description: 'dataset folder (default: the bundled data/khan)' },
    holdout: { type: 'string', description: 'fraction of topics with content to hold out (default: 0.25)', valueName: 'F' },
    seed: SHARED_OPTIONS.seed,
    help: SHARED_OPTIONS.help,
  },
  async run(args) {
    const dir = optionalString(args, 'data') ?? BUNDLED;
    const seed = seedFromArgs(args, 'demo');
    const fraction = numberOption(args, 'demo', 'holdout', 0.25, 0.01, 0.99);
    const config = resolveRunConfig({});
    const { dataset, forest } = await loadData(dir, false);
    const split = splitTopics(dataset, { fraction, seed });
    log(`held out ${split.heldOut.length} topics (seed ${seed}); their links are hidden from every stage`);
    const t0 = performance.now();
    const index = buildLexicalIndex(dataset, config.lexical);
    const candidates = lexicalSearch(index, dataset, forest, split.heldOut, 100);
    const seconds = (performance.now() - t0) / 1000;
    const ids = Array.from(split.heldOut, (t) => dataset.topics[t].id);
    const m = evaluateRanked(rankedById(ids, candidates), answersOf(dataset, split.heldOut), [10, 50, 100], [5, 10, 20]);
    const rows: (string | number)[][] = [];
    for (const [cut, s] of Object.entries(m.atK)) rows.push([`lexical ${cut}`, s.f2, s.precision, s.recall]);
    rows.push([`lexical best top-k (k=${m.best.k})`, m.best.f2, m.best.precision, m.best.recall]);
    process.stdout.write(`\nHeld-out topics: ${split.heldOut.length} of ${dataset.topics.length}; lexical retrieval took ${seconds.toFixed(1)} s.\n\n`);
    process.stdout.write(formatTable(['stage', 'F2', 'precision', 'recall'], rows) + '\n\n');
    process.stdout.write(formatTable(['stage', 'recall@10', 'recall@50', 'recall@100'], [['lexical', m.recall['recall@10'], m.recall['recall@50'], m.recall['recall@100']]]) + '\n');
  },
};
