import { loadData, log } from '../context.ts';
import { stepProgress } from '../log.ts';
import { LOG_JSON_OPTION } from '../run-report.ts';
import { intOption, optionalString, requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import {
  withNeo4j, pushDataset, pushRecommendations, readRecommendationFile, totals,
  type BatchListener, type PushReport, type StepCounts,
} from '../../graph/neo4j.ts';

/** The push report as an aligned table (stdout). */
function reportTable(report: PushReport): string {
  const rows: [string, StepCounts][] = Object.entries(report.steps) as [string, StepCounts][];
  rows.push(['total', totals(report)]);
  const seconds = (step: string) => (step === 'total' ? report.seconds : (report.stepSeconds as Record<string, number>)[step] ?? 0).toFixed(2);
  const head = ['step', 'rows', 'created', 'updated', 'deleted', 'seconds'];
  const cells = rows.map(([step, c]) => [step, String(c.rows), String(c.created), String(c.updated), String(c.deleted), seconds(step)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [line(head), ...cells.map(line)].join('\n');
}

export const graphPush: Command = {
  name: 'graph push',
  summary: 'write a dataset (and recommendations) into Neo4j; idempotent',
  usage: '--data DIR [--recommendations FILE] [--model-id ID] [--stage NAME] [--prune] [--log-json]',
  options: {
    data: SHARED_OPTIONS.data,
    recommendations: { type: 'string', description: 'recommendations to store as RECOMMENDS: LECR submission .csv (score = 1/rank), or .arrow/.parquet', valueName: 'FILE' },
    'model-id': { type: 'string', description: "model id on the RECOMMENDS relationships (default: 'default'); a push replaces that model's recommendations of the listed topics", valueName: 'ID' },
    stage: { type: 'string', description: "pipeline stage on the RECOMMENDS relationships (default: 'final')", valueName: 'NAME' },
    prune: { type: 'boolean', description: 'delete channels, topics and content that are not in the dataset, so the graph mirrors it' },
    'batch-size': { type: 'string', description: 'rows per transaction (default: 5000)', valueName: 'N' },
    progress: { type: 'boolean', description: "a line per committed batch ('graph push: <step> <batch>/<batches>') instead of a progress bar per step" },
    lenient: { ...SHARED_OPTIONS.lenient, description: 'skip correlation rows and recommendations that name unknown ids (and say how many) instead of failing' },
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Connection: NEO4J_URI (default bolt://127.0.0.1:7687), NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.',
    "Start a local server with 'npm run neo4j:start'.",
    '',
    'Every batch is one transaction of MERGEs that leaves its topics exactly as the dataset says, so',
    'a second push changes nothing, and a push that was interrupted and run again ends with the same graph.',
  ].join('\n'),
  async run(args) {
    const dir = requireString(args, 'graph push', 'data');
    const batchSize = intOption(args, 'graph push', 'batch-size', 5000, 1, 1_000_000);
    const lenient = args.values.lenient === true;
    const { dataset } = await loadData(dir, lenient);
    const file = optionalString(args, 'recommendations');
    const recommendations = file ? await readRecommendationFile(file, dataset, { lenient }) : undefined;
    if (recommendations && (recommendations.skippedTopics || recommendations.skippedContent)) {
      log(`skipped ${recommendations.skippedTopics} topics and ${recommendations.skippedContent} content items of ${file} that the dataset does not have (--lenient)`);
    }
    await withNeo4j(async (client) => {
      log(`pushing to ${client.connection.uri} ...`);
      const bars = stepProgress('batches');
      const onBatch: BatchListener = args.values.progress
        ? (event) => log(`graph push: ${event.step} ${event.batch}/${event.batches}`, { step: event.step, batch: event.batch, batches: event.batches, rows: event.rows })
        : (event) => bars(`push ${event.step}`, event.batch, event.batches);
      const report = await pushDataset(client, dataset, { batchSize, prune: args.values.prune === true }, onBatch);
      if (recommendations) {
        const t0 = performance.now();
        report.steps.recommendations = await pushRecommendations(client, recommendations.topics, {
          model: optionalString(args, 'model-id') ?? 'default',
          stage: optionalString(args, 'stage') ?? 'final',
          batchSize,
        }, onBatch);
        report.stepSeconds.recommendations = (performance.now() - t0) / 1000;
        report.seconds += report.stepSeconds.recommendations;
      }
      const sum = totals(report);
      process.stdout.write(reportTable(report) + '\n');
      const changes = sum.created + sum.updated + sum.deleted;
      process.stdout.write(`pushed ${sum.rows} rows in ${report.seconds.toFixed(1)} s (${Math.round(sum.rows / Math.max(report.seconds, 1e-9))} rows/s); ` +
        `${changes === 0 ? 'the graph already held this data: nothing changed' : `${changes} changes`}\n`);
    });
  },
};
