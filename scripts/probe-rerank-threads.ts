/**
 * Does scoring on two worker threads pay on the native backend? Reranks the
 * same topics of a trained model with `rerankWorkers` 1 and 2, alternated
 * --rounds times, and prints each run's reranking and total seconds.
 *
 *   node --import tsx scripts/probe-rerank-threads.ts --data data/khan --model models/demo-khan [--topics 1200] [--rounds 2]
 *
 * The topics are the dataset's rows 200 to 200 + --topics (any topics will
 * do: the question is speed, not quality). Run it alone on the machine.
 */
import { openModelAndData, runScript } from './script.ts';
import { recommendTopics, UsageError } from '../src/index.ts';

const NAME = 'probe-rerank-threads';

await runScript(NAME, {
  data: { type: 'string' },
  model: { type: 'string' },
  topics: { type: 'string', default: '1200' },
  rounds: { type: 'string', default: '2' },
}, async (values) => {
  const count = Number(values.topics);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(rounds) || rounds < 1) throw new UsageError(`${NAME}: --topics and --rounds must be positive integers.`);
  const { folder, dataset, forest } = await openModelAndData(NAME, values);
  const from = Math.min(200, Math.max(0, dataset.topics.length - count));
  const topics = Uint32Array.from({ length: Math.min(count, dataset.topics.length - from) }, (_, i) => from + i);
  for (let r = 0; r < rounds; r++) {
    for (const workers of [1, 2]) {
      const t = performance.now();
      let line = '';
      await recommendTopics(folder, dataset, forest, topics, { stage: 'full', rerankWorkers: workers, log: (l) => { if (l.startsWith('reranked')) line = l; } });
      console.log(`round ${r + 1}, ${workers} thread(s): ${((performance.now() - t) / 1000).toFixed(1)} s in all; ${line}`);
    }
  }
});
