#!/usr/bin/env node
/**
 * `trellis`: the command-line program. A thin wrapper: parse, validate, call
 * into src/. Exit codes: 0 ok, 2 bad input or usage, 1 internal error.
 */
import { TrellisError } from '../errors.ts';
import { COMMANDS } from './commands/index.ts';
import { commandHelp, parseCommandArgs } from './command.ts';
import { configureLog, emit, logFormat } from './log.ts';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'trellis - graph-aware content recommendations for topic trees',
    '',
    'Usage: trellis [--log-json] <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --log-json  status and progress on stderr as JSON lines, one object per line',
    '              ({"t","event":"log"|"progress"|"stage"|"report"|"error",...}); stdout keeps the results',
    '',
    "Run 'trellis <command> --help' for a command's options.",
    'Exit codes: 0 ok, 2 bad input or usage, 1 internal error.',
  ].join('\n');
}

/** Reports a failure: one line on stderr (a JSON "error" event with --log-json); a bug adds its stack. */
function fail(command: string, kind: 'error' | 'internal error', message: string, exitCode: number, stack?: string): number {
  if (logFormat() === 'json') emit('error', { command, kind, message, exitCode, ...(stack ? { stack } : {}) });
  else process.stderr.write(`trellis ${command}: ${kind}: ${message}\n${stack ? `${stack}\n` : ''}`);
  return exitCode;
}

export async function main(argv: string[]): Promise<number> {
  // --log-json before the command name applies to any command.
  if (argv[0] === '--log-json') {
    configureLog({ format: 'json' });
    argv = argv.slice(1);
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp() + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write('trellis 0.1.0\n');
    return 0;
  }
  // Subcommands with a space in their name (e.g. "graph push") take the second word too.
  const twoWord = rest.length > 0 ? COMMANDS.find((c) => c.name === `${name} ${rest[0]}`) : undefined;
  const command = twoWord ?? COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`trellis: unknown command "${name}". Run 'trellis --help' for the list.\n`);
    return 2;
  }
  const args = twoWord ? rest.slice(1) : rest;
  // Set before parsing, so a usage error is a JSON line too.
  if ('log-json' in command.options && args.includes('--log-json')) configureLog({ format: 'json' });
  try {
    const parsed = parseCommandArgs(command, args);
    if (parsed.values.help) {
      process.stdout.write(commandHelp(command) + '\n');
      return 0;
    }
    await command.run(parsed);
    return 0;
  } catch (error) {
    if (error instanceof TrellisError) {
      const prefix = `trellis ${command.name}: `;
      const line = error.toLine();
      return fail(command.name, 'error', line.startsWith(prefix) ? line.slice(prefix.length) : line, error.exitCode);
    }
    return fail(command.name, 'internal error', 'a bug; please report it:', 1, (error as Error)?.stack ?? String(error));
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
