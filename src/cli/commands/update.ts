import { openModel } from '../../pipeline/artifact.ts';
import { describeChanges } from '../../pipeline/catalogue.ts';
import { updateIndex } from '../../pipeline/update.ts';
import { initRuntime } from '../../runtime/backend.ts';
import { optionalString, requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import { BACKEND_OPTION, GRAPH_OPTION, graphSource, loadDataFrom, log } from '../context.ts';
import { progressCallback } from '../log.ts';
import { LOG_JSON_OPTION } from '../run-report.ts';
import { modelDirFrom } from './train.ts';

export const update: Command = {
  name: 'update',
  summary: "bring a trained model's content index to the catalogue as it is now, without retraining",
  usage: '--data DIR | --graph neo4j  [--model DIR] [--backend NAME] [--log-json]',
  options: {
    data: SHARED_OPTIONS.data,
    graph: GRAPH_OPTION,
    model: SHARED_OPTIONS.model,
    backend: BACKEND_OPTION,
    lenient: SHARED_OPTIONS.lenient,
    'log-json': LOG_JSON_OPTION,
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Compares the catalogue with what the model\'s index holds and changes only that: new and edited items are',
    'encoded with the trained towers and put into the index (a new language gets a partition of its own), items moved',
    'to another language change partition, removed items are marked deleted and never recommended. The index is saved',
    'as a new generation that catalogue.json commits atomically: an interrupted update leaves the previous index whole.',
    'Run twice on the same data, the second run changes nothing. `trellis recommend` does the same in memory on every',
    'run; update saves the work for later runs. Prints the changes and the drift since training as JSON on stdout,',
    'with a suggestion to retrain past 20% new items or topics, or 1% of the items in new languages.',
  ].join('\n'),
  async run(args) {
    const graph = graphSource(args, 'update');
    const dir = graph === 'neo4j' ? 'neo4j' : requireString(args, 'update', 'data');
    const modelDir = modelDirFrom(optionalString(args, 'model'), dir);
    const folder = await openModel(modelDir);
    const runtime = await initRuntime(optionalString(args, 'backend'));
    log(runtime.message);
    const { dataset, forest } = await loadDataFrom(args, 'update');
    const result = await updateIndex(folder, dataset, forest, { log, onEncode: progressCallback('pretrained encoding', 'texts') });
    const summary = describeChanges(result.changes.counts, result.drift);
    log(summary, { changes: result.changes.counts, drift: result.drift });
    log(result.saved
      ? `saved the index as ${result.saved.index} (generation ${result.saved.generation}) in ${modelDir} in ${result.seconds.total.toFixed(1)} s (${result.seconds.encode.toFixed(1)} s encoding)`
      : `the index of ${modelDir} already holds this catalogue: nothing written`);
    process.stdout.write(JSON.stringify({
      model: modelDir,
      index: result.saved?.index ?? folder.catalogue?.index,
      generation: result.saved?.generation ?? folder.catalogue?.generation,
      changed: result.saved !== undefined,
      changes: result.changes.counts,
      drift: result.drift,
      seconds: result.seconds,
    }) + '\n');
  },
};
