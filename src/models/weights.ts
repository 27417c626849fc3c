/**
 * Model weights on disk: one little-endian float32 file holding every named
 * tensor back to back, and a JSON manifest (name, shape, offset) with the
 * file's sha256. Loading checks the checksum and every name and shape
 * against the model being restored, so a corrupt or mismatched file is a
 * clear ArtifactError, never a silently wrong model.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface WeightsManifest {
  format: 'trellis-weights/1';
  sha256: string;
  bytes: number;
  tensors: { name: string; shape: number[]; offset: number }[];
}

const FORMAT = 'trellis-weights/1';

/** Writes `<dir>/<stem>.bin` and `<dir>/<stem>.json` atomically (the manifest last). */
export async function saveWeights(dir: string, stem: string, arrays: readonly NamedArray[]): Promise<WeightsManifest> {
  const hash = createHash('sha256');
  const tensors: WeightsManifest['tensors'] = [];
  let offset = 0;
  for (const a of arrays) {
    tensors.push({ name: a.name, shape: a.shape, offset });
    offset += a.values.byteLength;
  }
  await writeFileAtomic(join(dir, `${stem}.bin`), async (sink) => {
    for (const a of arrays) {
      const bytes = new Uint8Array(a.values.buffer, a.values.byteOffset, a.values.byteLength);
      hash.update(bytes);
      await sink.write(bytes);
    }
  });
  const manifest: WeightsManifest = { format: FORMAT, sha256: hash.digest('hex'), bytes: offset, tensors };
  await writeFileAtomic(join(dir, `${stem}.json`), async (sink) => sink.write(JSON.stringify(manifest, null, 1)));
  return manifest;
}

/**
 * Reads weights written by saveWeights. `expected` (name -> shape) must match
 * exactly; the result is in the manifest's order.
 */
export async function loadWeights(dir: string, stem: string, expected?: ReadonlyMap<string, readonly number[]>): Promise<NamedArray[]> {
  const manifestPath = join(dir, `${stem}.json`);
  const binPath = join(dir, `${stem}.bin`);
  const hint = 'Retrain the model (trellis train) to rewrite it.';
  if (!existsSync(manifestPath) || !existsSync(binPath)) throw new ArtifactError(`${dir}: model weights ${stem}.bin/.json are missing.`, hint);
  let manifest: WeightsManifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as WeightsManifest;
  } catch {
    throw new ArtifactError(`${manifestPath}: the weights manifest is not valid JSON.`, hint);
  }
  if (manifest.format !== FORMAT) throw new ArtifactError(`${manifestPath}: format must be ${FORMAT} (got ${JSON.stringify(manifest.format)}).`, hint);
  const buffer = await readFile(binPath);
  if (buffer.length !== manifest.bytes) throw new ArtifactError(`${binPath}: the weights file must hold ${manifest.bytes} bytes (got ${buffer.length}; truncated or corrupt).`, hint);
  const sha = createHash('sha256').update(buffer).digest('hex');
  if (sha !== manifest.sha256) throw new ArtifactError(`${binPath}: the weights checksum does not match the manifest (corrupt file).`, hint);
  if (expected) {
    const names = new Set(manifest.tensors.map((t) => t.name));
    for (const [name, shape] of expected) {
      const entry = manifest.tensors.find((t) => t.name === name);
      if (!entry) throw new ArtifactError(`${manifestPath}: weights must include ${name} (missing; the model was saved with another configuration).`, hint);
      if (entry.shape.join('x') !== shape.join('x')) {
        throw new ArtifactError(`${manifestPath}: ${name} must have shape [${shape.join(', ')}] (got [${entry.shape.join(', ')}]; the model was saved with another configuration).`, hint);
      }
    }
    for (const name of names) if (!expected.has(name)) throw new ArtifactError(`${manifestPath}: unexpected tensor ${name} (the model was saved with another configuration).`, hint);
  }
  // Copy into an aligned buffer: Buffer's pool offset need not be a multiple of 4.
  const aligned = new Uint8Array(buffer.length);
  aligned.set(buffer);
  return manifest.tensors.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    return { name: t.name, shape: t.shape, values: new Float32Array(aligned.buffer, t.offset, size) };
  });
}
