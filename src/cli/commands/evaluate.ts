import { evaluateFiles } from '../../eval/evaluate.ts';
import { UsageError } from '../../errors.ts';
import { optionalString, requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import { log } from '../log.ts';
import { LOG_JSON_OPTION } from '../run-report.ts';

export const evaluate: Command = {
  name: 'evaluate',
  summary: 'mean F2, precision, recall (LECR metric) and recall@K of predictions against answers',
  usage: '--predictions FILE --answers FILE [--k 10,50,100] [--log-json]',
  options: {
    predictions: { type: 'string', description: 'predictions: topic_id,content_ids CSV (ranked, best first), or a .arrow/.parquet export', valueName: 'FILE' },
    answers: { type: 'string', description: 'answers in the same format (e.g. correlations.csv of held-out topics)', valueName: 'FILE' },
    k: { type: 'string', description: 'cut-offs for recall@K, comma-separated (default: 10,50,100)', valueName: 'LIST' },
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: 'Prints one JSON object. Topics in the answers without a prediction score 0; predicted topics not in the answers are ignored.',
  async run(args) {
    const predictions = requireString(args, 'evaluate', 'predictions');
    const answers = requireString(args, 'evaluate', 'answers');
    const raw = optionalString(args, 'k') ?? '10,50,100';
    const ks = raw.split(',').map((s) => Number(s.trim()));
    if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new UsageError(`trellis evaluate: --k must be positive integers separated by commas (got ${JSON.stringify(raw)}).`);
    const t0 = performance.now();
    const result = await evaluateFiles(predictions, answers, ks);
    const seconds = (performance.now() - t0) / 1000;
    log(`scored ${result.topics} topics in ${seconds.toFixed(1)} s`, { topics: result.topics, seconds: Math.round(seconds * 1000) / 1000 });
    process.stdout.write(JSON.stringify(result) + '\n');
  },
};
