#!/usr/bin/env node
/**
 * `trellis`: the command-line program. A thin wrapper: parse, validate, call
 * into src/. Exit codes: 0 ok, 2 bad input or usage, 1 internal error.
 */
import { TrellisError } from '../errors.ts';
import { COMMANDS } from './commands/index.ts';
import { commandHelp, parseCommandArgs } from './command.ts';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'trellis - graph-aware content recommendations for topic trees',
    '',
    'Usage: trellis <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'trellis <command> --help' for a command's options.",
    'Exit codes: 0 ok, 2 bad input or usage, 1 internal error.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
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
      process.stderr.write(`${prefix}error: ${line.startsWith(prefix) ? line.slice(prefix.length) : line}\n`);
      return error.exitCode;
    }
    process.stderr.write(`trellis ${command.name}: internal error (a bug; please report it):\n${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
