/**
 * The frame every script under scripts/ shares: parse flags with
 * node:util.parseArgs, run, print a known error as one line (exit 2), and a
 * stack trace only for a bug (exit 1).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TrellisError } from '../src/index.ts';

export async function runScript(
  name: string,
  options: NonNullable<ParseArgsConfig['options']>,
  body: (values: Record<string, string | boolean | string[] | undefined>) => Promise<void>,
): Promise<void> {
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options, strict: true });
    await body(values as Record<string, string | boolean | string[] | undefined>);
  } catch (error) {
    if (error instanceof TrellisError) {
      console.error(`${name}: error: ${error.toLine()}`);
      process.exitCode = error.exitCode;
    } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`${name}: ${(error as Error).message}`);
      process.exitCode = 2;
    } else {
      console.error(error);
      process.exitCode = 1;
    }
  }
}

/** `count` items of `list` spread evenly over it (cycled when it has fewer): a sample with the list's own mix. */
export function evenlySpaced<T>(list: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(list.length / count));
  return Array.from({ length: count }, (_, i) => list[(i * step) % list.length]);
}
