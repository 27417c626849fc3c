/**
 * The shape of a `trellis` subcommand and the flags every subcommand shares.
 *
 * Each subcommand lives in `src/cli/commands/<name>.ts` and exports one
 * `Command`. Parsing is `node:util.parseArgs` in strict mode, so an unknown
 * flag is a usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { readFileSync, existsSync } from 'node:fs';
import { UsageError, ConfigError } from '../errors.ts';
import { PRESETS, resolveRunConfig, type PresetName, type RunConfig } from '../config.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

export interface Command {
  name: string;
  summary: string;
  /** Usage line(s) after `trellis <name>`. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Extra help text printed after the options. */
  details?: string;
  run(args: ParsedArgs): Promise<void>;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Flags shared by the subcommands (each command picks the ones it takes). */
export const SHARED_OPTIONS = {
  data: { type: 'string', description: 'folder with topics.csv, content.csv, correlations.csv (LECR format)', valueName: 'DIR' },
  model: { type: 'string', description: 'model folder (default: models/<dataset name>)', valueName: 'DIR' },
  out: { type: 'string', description: 'output file', valueName: 'FILE' },
  seed: { type: 'string', description: 'random seed (default: 42)', valueName: 'N' },
  config: { type: 'string', description: 'JSON config file; unknown keys are an error', valueName: 'FILE' },
  encoder: { type: 'string', description: "pretrained text encoder: a Hugging Face BERT-family model folder, or a model id (org/name) found in the Hugging Face cache, in models/pretrained/, or downloaded from $HF_ENDPOINT (sets encoder.kind 'pretrained' and encoder.model)", valueName: 'DIR|ID' },
  revision: { type: 'string', description: 'hub revision (branch, tag or commit) of the --encoder id (encoder.revision; default main)', valueName: 'REV' },
  preset: { type: 'string', description: "'fast' (the from-scratch encoder: offline, minutes; boosted trees over its cross-encoder) or 'quality' (the pretrained all-MiniLM-L6-v2 from the Hugging Face cache or hub, its sentence-vector list, a cross-encoder trained on cross-fitted candidates with boosted trees over it, the per-topic cut-off with a learned count); --config keys and --encoder override it", valueName: 'NAME' },
  lenient: { type: 'boolean', description: 'skip correlation rows that name unknown ids (and say how many) instead of failing' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Record<string, OptionSpec>;

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [key, spec] of Object.entries(command.options)) {
    const { description: _d, valueName: _v, ...rest } = spec;
    options[key] = rest;
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '.');
    throw new UsageError(`trellis ${command.name}: ${message}`, `Run 'trellis ${command.name} --help' for the options.`);
  }
}

export function commandHelp(command: Command): string {
  const lines = [`trellis ${command.name} - ${command.summary}`, '', 'Usage:'];
  for (const usage of command.usage.split('\n')) lines.push(`  trellis ${command.name} ${usage}`);
  lines.push('', 'Options:');
  const rows = Object.entries(command.options).map(([key, spec]) => {
    const short = 'short' in spec && spec.short ? `-${spec.short}, ` : '';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return [`${short}--${key}${value}`, spec.description] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  for (const [flag, description] of rows) lines.push(`  ${flag.padEnd(width)}  ${description}`);
  if (command.details) lines.push('', command.details.trimEnd());
  return lines.join('\n');
}

/** A string option that must be present. */
export function requireString(args: ParsedArgs, command: string, key: string): string {
  const value = args.values[key];
  if (typeof value !== 'string' || value === '') {
    throw new UsageError(`trellis ${command}: --${key} is required.`, `Run 'trellis ${command} --help' for the options.`);
  }
  return value;
}

export function optionalString(args: ParsedArgs, key: string): string | undefined {
  const value = args.values[key];
  return typeof value === 'string' ? value : undefined;
}

/** An integer option within [min, max]; `fallback` when absent. */
export function intOption(args: ParsedArgs, command: string, key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = args.values[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
    throw new UsageError(`trellis ${command}: --${key} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)}).`);
  }
  return value;
}

/** A number option within [min, max]; `fallback` when absent. */
export function numberOption(args: ParsedArgs, command: string, key: string, fallback: number, min: number, max: number): number {
  const raw = args.values[key];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(value) || value < min || value > max) {
    throw new UsageError(`trellis ${command}: --${key} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)}).`);
  }
  return value;
}

/** The --preset, when given. */
export function presetFromArgs(args: ParsedArgs, command: string): PresetName | undefined {
  const preset = optionalString(args, 'preset');
  if (preset === undefined) return undefined;
  if (!(preset in PRESETS)) throw new UsageError(`trellis ${command}: --preset must be one of ${Object.keys(PRESETS).join(', ')} (got ${JSON.stringify(preset)}).`);
  return preset as PresetName;
}

/** The run config from --config over the --preset over the defaults, with --encoder and --revision applied on top. */
export function runConfigFromArgs(args: ParsedArgs, preset?: PresetName): RunConfig {
  const configPath = optionalString(args, 'config');
  const given = readConfigFile(configPath);
  const encoderDir = optionalString(args, 'encoder');
  const revision = optionalString(args, 'revision');
  if (encoderDir !== undefined || revision !== undefined) {
    const section = given.encoder && typeof given.encoder === 'object' && !Array.isArray(given.encoder) ? given.encoder : {};
    given.encoder = { ...section, ...(encoderDir !== undefined ? { kind: 'pretrained', model: encoderDir } : {}), ...(revision !== undefined ? { revision } : {}) };
  }
  return resolveRunConfig(given, configPath ?? 'config', preset);
}

/** Reads a JSON config file into a plain object (keys are checked by the consumer). */
export function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (path === undefined) return {};
  if (!existsSync(path)) throw new ConfigError(`${path}: config file does not exist.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: config file is not valid JSON (${(error as Error).message}).`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`${path}: config file must hold a JSON object (got ${Array.isArray(parsed) ? 'an array' : typeof parsed}).`);
  }
  return parsed as Record<string, unknown>;
}
