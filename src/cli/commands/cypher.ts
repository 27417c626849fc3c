import { UsageError } from '../../errors.ts';
import { optionalString, SHARED_OPTIONS, type Command } from '../command.ts';
import {
  withNeo4j, readNamedQuery, parseParamPairs, resolveQueryParams, formatTable, formatJson, listNamedQueries, MAX_CELL,
} from '../../graph/neo4j.ts';

export const cypher: Command = {
  name: 'cypher',
  summary: 'run a Cypher query (or a named one from graph/queries) and print the rows',
  usage: '"<query>" [--param key=value ...] [--json] [--write]\n--file graph/queries/NAME.cypher [--param key=value ...] [--json] [--write]',
  options: {
    file: { type: 'string', description: 'run the query in this file; a named query fills the defaults its header gives', valueName: 'FILE' },
    param: { type: 'string', multiple: true, description: 'a query parameter, repeatable; the value is parsed as JSON when it parses (numbers, booleans), else taken as a string', valueName: 'KEY=VALUE' },
    json: { type: 'boolean', description: 'print the rows as a JSON array instead of a table' },
    write: { type: 'boolean', description: 'allow the query to write (CREATE, MERGE, SET, DELETE, schema commands); without it the query runs in a read transaction and the server refuses any write' },
    help: SHARED_OPTIONS.help,
  },
  details: [
    `Tables cut cells at ${MAX_CELL} characters; --json prints full values.`,
    'Queries are read-only unless --write is given: a stray DELETE in a pasted query is refused by the server.',
    'Connection: NEO4J_URI (default bolt://127.0.0.1:7687), NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE.',
    '',
    `Named queries (graph/queries): ${listNamedQueries().join(', ')}.`,
    "Each file's header lists its parameters, e.g.:",
    '  trellis cypher --file graph/queries/breadcrumbs.cypher --param topicId=t_123',
  ].join('\n'),
  async run(args) {
    const file = optionalString(args, 'file');
    if (file && args.positionals.length > 0) throw new UsageError('trellis cypher: give a query or --file, not both.');
    if (!file && args.positionals.length !== 1) {
      throw new UsageError('trellis cypher: give one query (quoted) or --file FILE.', "Run 'trellis cypher --help' for the named queries.");
    }
    const given = parseParamPairs((args.values.param as string[] | undefined) ?? []);
    let text: string;
    let params = given;
    if (file) {
      const query = readNamedQuery(file);
      text = query.text;
      if (query.params.length > 0) params = resolveQueryParams(query, given);
    } else {
      text = args.positionals[0];
    }
    const result = await withNeo4j((client) => client.autoCommit(text, params, args.values.write ? 'write' : 'read'));
    process.stdout.write((args.values.json ? formatJson(result) : formatTable(result)) + '\n');
    const c = result.counters;
    const writes = [['nodes created', c.nodesCreated], ['nodes deleted', c.nodesDeleted], ['relationships created', c.relationshipsCreated],
      ['relationships deleted', c.relationshipsDeleted], ['properties set', c.propertiesSet]].filter(([, n]) => n !== 0);
    if (writes.length) process.stderr.write(`${writes.map(([k, n]) => `${n} ${k}`).join(', ')}\n`);
  },
};
