/**
 * Model weights as one binary file: float32 little-endian values of every
 * tensor back to back, described by a manifest (name, shape, byte offset of
 * each tensor; the file's size and sha256) that the model stores in its JSON.
 * Reading checks the file against the manifest and the manifest against the
 * tensors the model expects, so a truncated, corrupt or foreign file is an
 * ArtifactError rather than a model that silently scores garbage.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

/** One tensor in a weights file. */
export interface WeightEntry {
  name: string;
  shape: number[];
  /** Byte offset of its first value. */
  offset: number;
}

/** The manifest of a weights file. */
export interface WeightsManifest {
  /** File name inside the model folder. */
  file: string;
  dtype: 'float32';
  bytes: number;
  /** Lower-case hex sha256 of the whole file. */
  sha256: string;
  tensors: WeightEntry[];
}

/** A named tensor's values, row-major. */
export interface NamedWeights {
  name: string;
  shape: number[];
  values: Float32Array;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function assertLittleEndian(scope: string): void {
  if (endianness() !== 'LE') {
    throw new ArtifactError(`${scope}: the machine's byte order must be little-endian to read or write weight files (got ${endianness()}).`);
  }
}

/** Writes `weights` to `dir/file` atomically and returns its manifest. */
export async function writeWeights(scope: string, dir: string, file: string, weights: readonly NamedWeights[]): Promise<WeightsManifest> {
  assertLittleEndian(scope);
  const tensors: WeightEntry[] = [];
  const hash = createHash('sha256');
  let offset = 0;
  for (const w of weights) {
    tensors.push({ name: w.name, shape: [...w.shape], offset });
    offset += w.values.byteLength;
  }
  await writeFileAtomic(join(dir, file), async (sink) => {
    for (const w of weights) {
      // A copy: the sink may hold the chunk until it flushes.
      const bytes = new Uint8Array(w.values.buffer.slice(w.values.byteOffset, w.values.byteOffset + w.values.byteLength));
      hash.update(bytes);
      await sink.write(bytes);
    }
  });
  return { file, dtype: 'float32', bytes: offset, sha256: hash.digest('hex'), tensors };
}

/**
 * Reads the weights a manifest describes, checking size, checksum and that
 * the tensors are exactly `expected` (same names, order and shapes).
 */
export async function readWeights(
  scope: string,
  dir: string,
  manifest: WeightsManifest,
  expected: readonly { name: string; shape: readonly number[] }[],
  hint: string,
): Promise<NamedWeights[]> {
  assertLittleEndian(scope);
  if (typeof manifest.file !== 'string' || basename(manifest.file) !== manifest.file || manifest.file === '') {
    throw new ArtifactError(`${scope}: the weights file must be a plain file name in ${dir} (got ${JSON.stringify(manifest.file)}).`, hint);
  }
  const path = join(dir, manifest.file);
  const listed = manifest.tensors.map((t) => `${t.name}[${t.shape.join(',')}]`).join(' ');
  const wanted = expected.map((t) => `${t.name}[${t.shape.join(',')}]`).join(' ');
  if (listed !== wanted) {
    const i = expected.findIndex((t, k) => manifest.tensors[k]?.name !== t.name || manifest.tensors[k]?.shape.join(',') !== t.shape.join(','));
    const first = i < 0 ? `${manifest.tensors.length} tensors for ${expected.length}` : `${manifest.tensors[i] ? `${manifest.tensors[i].name}[${manifest.tensors[i].shape.join(',')}]` : 'nothing'} for ${expected[i].name}[${expected[i].shape.join(',')}]`;
    throw new ArtifactError(`${scope}: the weights listed for ${path} must match the model's configuration (got ${first}).`, hint);
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
    throw new ArtifactError(`${scope}: ${path} must have sha256 ${String(manifest.sha256).slice(0, 12)}... (got ${sha256.slice(0, 12)}...; the file is corrupt).`, hint);
  }
  return manifest.tensors.map((t) => {
    const count = sizeOf(t.shape);
    if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset % 4 !== 0 || t.offset + count * 4 > data.length) {
      throw new ArtifactError(`${scope}: tensor ${t.name} must lie inside ${path} at a multiple of 4 bytes (got offset ${t.offset}, ${count} values).`, hint);
    }
    // A copy into an aligned buffer (the Buffer's own offset may not be a multiple of 4).
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(data.subarray(t.offset, t.offset + count * 4));
    return { name: t.name, shape: [...t.shape], values };
  });
}
