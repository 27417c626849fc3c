/**
 * The frame every script under scripts/ shares: parse flags with
 * node:util.parseArgs, run, print a known error as one line (exit 2), and a
 * stack trace only for a bug (exit 1).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { buildForest, initRuntime, loadDataset, openModel, TrellisError, UsageError, type Dataset, type ModelFolder, type TopicForest } from '../src/index.ts';

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

/**
 * The probes' common start, from their --data and --model flags (both
 * required): the model folder is opened and handed to `check` (which throws
 * a UsageError for a model the probe cannot use) before the tfjs runtime
 * starts (`backend`, as initRuntime takes it) and the dataset loads.
 */
export async function openModelAndData(
  name: string,
  values: Record<string, unknown>,
  options: { check?: (folder: ModelFolder, modelDir: string) => void; backend?: string } = {},
): Promise<{ folder: ModelFolder; modelDir: string; dataset: Dataset; forest: TopicForest }> {
  const data = values.data as string | undefined;
  const modelDir = values.model as string | undefined;
  if (!data || !modelDir) throw new UsageError(`${name}: --data and --model are required.`);
  const folder = await openModel(modelDir);
  options.check?.(folder, modelDir);
  await initRuntime(options.backend);
  const dataset = await loadDataset(data);
  return { folder, modelDir, dataset, forest: buildForest(dataset) };
}
