/**
 * The one weights format of every model part (two-tower model, checkpoints,
 * cross-encoder, fine-tuned transformer layers): a binary file of float32
 * little-endian values, every named tensor back to back, described by a
 * manifest
 *
 *   { format: 'trellis-weights', version: 2, file, dtype: 'float32', bytes, sha256,
 *     tensors: [{ name, shape, offset }] }
 *
 * that sits next to it as `<stem>.json` (`saveWeights`) or inside the JSON of
 * the model that owns it (`writeWeights`, e.g. the cross-encoder's
 * model.json). Reading checks the file's size and sha256 and that its tensors
 * are exactly the ones the model expects (names and shapes), so a truncated,
 * corrupt or foreign file is an ArtifactError naming the file, never a model
 * that silently scores garbage. Manifests of the earlier layouts (a two-tower
 * `trellis-weights/1` manifest, a cross-encoder's manifest without a format)
 * are read as well.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

const SCOPE = 'trellis/weights';
export const WEIGHTS_FORMAT = 'trellis-weights';
export const WEIGHTS_VERSION = 2;
const RETRAIN = "Retrain the model ('trellis train') to rewrite it.";

/** A named tensor's values, row-major. */
export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Where a tensor's values start in the weights file. */
export interface WeightEntry {
  name: string;
  shape: number[];
  /** Byte offset of its first value (a multiple of 4). */
  offset: number;
}

export interface WeightsManifest {
  format: typeof WEIGHTS_FORMAT;
  version: typeof WEIGHTS_VERSION;
  /** The binary file's name, in the folder of the manifest. */
  file: string;
  dtype: 'float32';
  bytes: number;
  /** Lower-case hex sha256 of the whole binary file. */
  sha256: string;
  tensors: WeightEntry[];
}

/** Options of the readers: whose weights they are (error prefix) and how to fix a bad file. */
export interface ReadOptions {
  /** Prefix of error messages. Default 'trellis/weights'. */
  scope?: string;
  /** Advice appended to errors. Default: retrain the model. */
  hint?: string;
}

function assertLittleEndian(scope: string): void {
  if (endianness() !== 'LE') {
    throw new ArtifactError(`${scope}: the machine's byte order must be little-endian to read or write weight files (got ${endianness()}).`);
  }
}

const describe = (t: { name: string; shape: readonly number[] }) => `${t.name}[${t.shape.join(',')}]`;

/** Writes `arrays` to `dir/file` atomically and returns their manifest (the caller stores it). */
export async function writeWeights(dir: string, file: string, arrays: readonly NamedArray[], scope = SCOPE): Promise<WeightsManifest> {
  assertLittleEndian(scope);
  const tensors: WeightEntry[] = [];
  const hash = createHash('sha256');
  let offset = 0;
  for (const a of arrays) {
    tensors.push({ name: a.name, shape: [...a.shape], offset });
    offset += a.values.byteLength;
  }
  await writeFileAtomic(join(dir, file), async (sink) => {
    for (const a of arrays) {
      // A copy: the sink may hold the chunk until it flushes, and the caller may reuse its array.
      const bytes = new Uint8Array(a.values.buffer.slice(a.values.byteOffset, a.values.byteOffset + a.values.byteLength));
      hash.update(bytes);
      await sink.write(bytes);
    }
  });
  return { format: WEIGHTS_FORMAT, version: WEIGHTS_VERSION, file, dtype: 'float32', bytes: offset, sha256: hash.digest('hex'), tensors };
}

/** Writes `<dir>/<stem>.bin` and then its manifest `<dir>/<stem>.json`, each atomically. */
export async function saveWeights(dir: string, stem: string, arrays: readonly NamedArray[]): Promise<WeightsManifest> {
  const manifest = await writeWeights(dir, `${stem}.bin`, arrays);
  await writeFileAtomic(join(dir, `${stem}.json`), async (sink) => sink.write(JSON.stringify(manifest, null, 1)));
  return manifest;
}

/**
 * A manifest from its JSON (`where` names it in errors). `file` is the binary
 * file's name for manifests that do not record one (the two-tower's first
 * layout).
 */
export function parseWeightsManifest(value: unknown, where: string, file: string, options: ReadOptions = {}): WeightsManifest {
  const { scope = SCOPE, hint = RETRAIN } = options;
  const bad = (what: string): never => {
    throw new ArtifactError(`${scope}: ${where} must be a ${WEIGHTS_FORMAT} manifest (got ${what}).`, hint);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('no JSON object');
  const m = value as Record<string, unknown>;
  // Earlier layouts: 'trellis-weights/1' (two-tower, no file or dtype), or no format at all (cross-encoder).
  const legacy = m.format === 'trellis-weights/1' || (m.format === undefined && m.dtype === 'float32');
  if (!legacy && (m.format !== WEIGHTS_FORMAT || m.version !== WEIGHTS_VERSION)) bad(`format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)}`);
  const name = typeof m.file === 'string' ? m.file : m.format === 'trellis-weights/1' ? file : undefined;
  if (name === undefined || name === '' || basename(name) !== name) bad(`file ${JSON.stringify(m.file)}, not a plain file name`);
  if (!Number.isInteger(m.bytes) || (m.bytes as number) < 0) bad(`bytes ${JSON.stringify(m.bytes)}`);
  if (typeof m.sha256 !== 'string') bad(`sha256 ${JSON.stringify(m.sha256)}`);
  if (!Array.isArray(m.tensors)) bad(`tensors ${JSON.stringify(m.tensors)?.slice(0, 80)}`);
  for (const t of m.tensors as unknown[]) {
    const e = t as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || typeof e.name !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0) || !Number.isInteger(e.offset)) {
      bad(`a tensor entry ${JSON.stringify(t)?.slice(0, 80)}`);
    }
  }
  return { format: WEIGHTS_FORMAT, version: WEIGHTS_VERSION, file: name!, dtype: 'float32', bytes: m.bytes as number, sha256: m.sha256 as string, tensors: m.tensors as WeightEntry[] };
}

/**
 * Reads the weights a manifest describes from `dir`, checking the file's
 * size and checksum and, when `expected` is given, that the file holds
 * exactly those tensors (names and shapes). Returns them in `expected`'s
 * order, else in the manifest's.
 */
export async function readWeights(dir: string, manifest: WeightsManifest, expected?: readonly { name: string; shape: readonly number[] }[], options: ReadOptions = {}): Promise<NamedArray[]> {
  const { scope = SCOPE, hint = RETRAIN } = options;
  assertLittleEndian(scope);
  const path = join(dir, manifest.file);
  let entries = manifest.tensors;
  if (expected) {
    const byName = new Map(manifest.tensors.map((t) => [t.name, t]));
    const wanted = new Set(expected.map((t) => t.name));
    const mismatch = (got: string) => {
      throw new ArtifactError(`${scope}: the weights listed for ${path} must match the model's configuration (got ${got}).`, hint);
    };
    entries = expected.map((t) => {
      const entry = byName.get(t.name);
      if (!entry || entry.shape.join(',') !== t.shape.join(',')) mismatch(`${entry ? describe(entry) : 'nothing'} for ${describe(t)}`);
      return entry!;
    });
    const extra = manifest.tensors.find((t) => !wanted.has(t.name));
    if (extra) mismatch(`${describe(extra)}, which the model does not have`);
  }
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (error) {
    throw new ArtifactError(`${scope}: ${path} must be readable (got ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, hint);
  }
  if (data.length !== manifest.bytes) {
    throw new ArtifactError(`${scope}: ${path} must be ${manifest.bytes} bytes (got ${data.length}; the file is truncated or was replaced).`, hint);
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (sha256 !== manifest.sha256) {
    throw new ArtifactError(`${scope}: ${path} must have sha256 ${manifest.sha256.slice(0, 12)}... (got ${sha256.slice(0, 12)}...; the file is corrupt).`, hint);
  }
  return entries.map((t) => {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset < 0 || t.offset % 4 !== 0 || t.offset + count * 4 > data.length) {
      throw new ArtifactError(`${scope}: tensor ${t.name} must lie inside ${path} at a multiple of 4 bytes (got offset ${t.offset}, ${count} values).`, hint);
    }
    // A copy into an aligned buffer (the Buffer's own offset need not be a multiple of 4).
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(data.subarray(t.offset, t.offset + count * 4));
    return { name: t.name, shape: [...t.shape], values };
  });
}

/** Reads `<dir>/<stem>.json` and the weights it describes (see `readWeights`). */
export async function loadWeights(dir: string, stem: string, expected?: readonly { name: string; shape: readonly number[] }[], options: ReadOptions = {}): Promise<NamedArray[]> {
  const { scope = SCOPE, hint = RETRAIN } = options;
  const path = join(dir, `${stem}.json`);
  if (!existsSync(path)) throw new ArtifactError(`${scope}: ${path} must exist (got no such file; the model weights are missing).`, hint);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ArtifactError(`${scope}: ${path} must be valid JSON (got ${(error as Error).message}).`, hint);
  }
  return readWeights(dir, parseWeightsManifest(parsed, path, `${stem}.bin`, options), expected, options);
}
