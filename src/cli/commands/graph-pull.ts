import { writeDataset } from '../../data/write.ts';
import { log } from '../context.ts';
import { requireString, SHARED_OPTIONS, type Command } from '../command.ts';
import { withNeo4j, loadDatasetFromNeo4j } from '../../graph/neo4j.ts';

export const graphPull: Command = {
  name: 'graph pull',
  summary: 'read topics, hierarchy and curated links from Neo4j into a LECR folder',
  usage: '--out DIR',
  options: {
    out: { ...SHARED_OPTIONS.out, description: 'folder to write topics.csv, content.csv and correlations.csv to', valueName: 'DIR' },
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Connection: NEO4J_URI (default bolt://127.0.0.1:7687), NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.',
    'Topics and content keep the order they were pushed in, so pulling what was pushed gives the same files.',
    'RECOMMENDS relationships are not part of the LECR folder; query them with trellis cypher.',
  ].join('\n'),
  async run(args) {
    const out = requireString(args, 'graph pull', 'out');
    const t0 = performance.now();
    const dataset = await withNeo4j(async (client) => {
      log(`reading ${client.connection.uri} ...`);
      return loadDatasetFromNeo4j(client);
    });
    await writeDataset(out, dataset);
    const links = dataset.links.reduce((s, l) => s + l.length, 0);
    process.stdout.write(`wrote ${out}: ${dataset.topics.length} topics, ${dataset.content.length} content items, ${links} links ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  },
};
