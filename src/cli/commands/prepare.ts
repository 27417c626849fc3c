import { prepareSource, SOURCES, SOURCE_DEFAULTS } from '../../data/prepare.ts';
import { UsageError } from '../../errors.ts';
import { log } from '../context.ts';
import { optionalString, SHARED_OPTIONS, type Command } from '../command.ts';

export const prepare: Command = {
  name: 'prepare',
  summary: 'convert a raw source (khan, debian) into a LECR dataset folder',
  usage: 'khan|debian [--source DIR] [--out DIR]',
  options: {
    source: { type: 'string', description: 'raw source folder (default: ../shared/data/khan-2014 or ../shared/data/debian-bookworm)', valueName: 'DIR' },
    out: { type: 'string', description: 'output folder (default: data/khan or data/debian)', valueName: 'DIR' },
    help: SHARED_OPTIONS.help,
  },
  details: [
    'Sources:',
    `  khan    Khan Academy topic tree (topics.json, exercises.json) -> ${SOURCE_DEFAULTS.khan.out}`,
    `  debian  Debian packages with debtags and Pure Blends tasks -> ${SOURCE_DEFAULTS.debian.out}`,
  ].join('\n'),
  async run(args) {
    const [name, ...extra] = args.positionals;
    if (!name || extra.length) throw new UsageError(`trellis prepare: name one source, ${SOURCES.join(' or ')}.`, "Run 'trellis prepare --help'.");
    const t0 = performance.now();
    const result = await prepareSource(name, optionalString(args, 'source'), optionalString(args, 'out'));
    log(`prepared ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    process.stdout.write(`wrote ${result.out}: ${Object.entries(result.summary).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
  },
};
