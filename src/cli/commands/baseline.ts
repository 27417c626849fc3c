import { resolveRunConfig } from '../../config.ts';
import { answersOf } from '../../eval/split.ts';
import { evaluateRanked, rankedById } from '../../eval/metrics.ts';
import { writeRecommendations } from '../../io/export.ts';
import { buildLexicalIndex, lexicalSearch } from '../../retrieval/lexical.ts';
import { candidatesTable } from '../../retrieval/table.ts';
import { RecommendationTableBuilder } from '../../io/table.ts';
import { intOption, optionalString, readConfigFile, requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import { loadData, log, seedFromArgs, splitFromArgs, SPLIT_OPTIONS, topicsToPredict } from '../context.ts';
import { progress } from '../log.ts';
import { LOG_JSON_OPTION } from '../run-report.ts';
import type { Candidates } from '../../retrieval/candidates.ts';

export const baseline: Command = {
  name: 'baseline',
  summary: 'lexical (TF-IDF) top-k content for each topic: the baseline and a candidate source',
  usage: '--data DIR --out FILE [--top-k K] [--holdout F [--split-by topic|channel] [--answers-out FILE]] [--log-json]',
  options: {
    data: SHARED_OPTIONS.data,
    out: { ...SHARED_OPTIONS.out, description: 'recommendations file: .csv (topic_id,content_ids), .arrow or .parquet' },
    'top-k': { type: 'string', description: 'candidates per topic (default: 50)', valueName: 'K' },
    ...SPLIT_OPTIONS,
    'answers-out': { type: 'string', description: 'with --holdout: also write the held-out answers (LECR CSV) for trellis evaluate', valueName: 'FILE' },
    seed: SHARED_OPTIONS.seed,
    config: SHARED_OPTIONS.config,
    lenient: SHARED_OPTIONS.lenient,
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Predicts for the held-out topics with --holdout, else for the topics in sample_submission.csv',
    'when the folder has one, else for every topic. With --holdout it prints recall@K and F2 as JSON.',
    'Config file section "lexical": buckets, charMin, charMax, wordWeight, maxChars, charChars.',
  ].join('\n'),
  async run(args) {
    const dir = requireString(args, 'baseline', 'data');
    const out = requireString(args, 'baseline', 'out');
    const k = intOption(args, 'baseline', 'top-k', 50, 1, 100000);
    const seed = seedFromArgs(args, 'baseline');
    const config = resolveRunConfig(readConfigFile(optionalString(args, 'config')), optionalString(args, 'config') ?? 'config');
    const { dataset, forest } = await loadData(dir, args.values.lenient === true);
    const split = splitFromArgs(args, 'baseline', dataset, seed);
    const topics = topicsToPredict(dataset, split);
    const t0 = performance.now();
    // The index only sees content text, never links, so held-out answers cannot leak into it.
    const index = buildLexicalIndex(dataset, config.lexical);
    const t1 = performance.now();
    log(`lexical index of ${dataset.content.length} content items in ${((t1 - t0) / 1000).toFixed(1)} s`);
    // Topic by topic, so chunks give the same lists as one call.
    const candidates: Candidates[] = [];
    const bar = progress('lexical search', topics.length, { unit: 'topics' });
    bar.update(0);
    for (let at = 0; at < topics.length; at += 256) {
      const chunk = topics.subarray(at, Math.min(topics.length, at + 256));
      for (const list of lexicalSearch(index, dataset, forest, chunk, k)) candidates.push(list);
      bar.update(at + chunk.length);
    }
    bar.stop();
    const t2 = performance.now();
    log(`lexical retrieval for ${topics.length} topics in ${((t2 - t1) / 1000).toFixed(1)} s`);
    const table = candidatesTable(dataset, topics, candidates, 'lexical');
    await writeRecommendations(out, table, { modelId: 'lexical-tfidf', seed, config: { lexical: config.lexical, topK: k } });
    log(`wrote ${table.length} rows to ${out} in ${((performance.now() - t2) / 1000).toFixed(1)} s`);
    if (split) {
      const answers = answersOf(dataset, split.heldOut);
      const metrics = evaluateRanked(rankedById(Array.from(topics, (t) => dataset.topics[t].id), candidates), answers, [10, 50, 100].filter((x) => x <= k), [5, 10, 20].filter((x) => x <= k), Math.min(k, 50));
      process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
      const answersOut = optionalString(args, 'answers-out');
      if (answersOut) {
        const builder = new RecommendationTableBuilder([], [], dataset.content.map((c) => c.id));
        for (const t of split.heldOut) {
          dataset.links[t].forEach((c) => builder.add({ topic: dataset.topics[t].id, content: c, score: NaN }));
        }
        await writeRecommendations(answersOut, builder.build(), { modelId: 'answers', seed, config: {} });
        log(`wrote ${answersOut}`);
      }
    }
  },
};
