/**
 * Index folders on disk: data file(s) plus `manifest.json` (kind, dimension,
 * count, space, params, model id, seed, and the size and sha256 of every data
 * file). Every file is written to a temporary name, flushed, then renamed, and
 * the manifest goes last, so a reader sees either the old index or the new one;
 * a crash between files leaves a manifest whose checksums no longer match,
 * which loading reports instead of reading a half-written index.
 *
 * Loading checks, in order: the manifest exists and parses, the index is of
 * the expected kind, its dimension and model id match what the caller will
 * query it with, and every data file has the recorded size and sha256. Any
 * failure is an ArtifactError whose hint says how to fix it.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { ArtifactError } from '../errors.ts';
import { INDEX_KINDS, type IndexKind, type IndexManifest, type LoadExpectation, type ManifestFile } from './types.ts';

const SCOPE = 'trellis/ann';
export const MANIFEST_FILE = 'manifest.json';
export const REBUILD_HINT = "Rebuild the index with 'trellis train'.";

/** A data file to write into an index folder: written anew, or linked from an earlier index folder. */
export interface ArtifactFile {
  name: string;
  /** Writes the complete file at `path` (a temporary name). */
  write?(path: string): void;
  /**
   * An unchanged file of an earlier save, with its size and checksum: hard
   * linked (copied where links are not possible), not rewritten.
   */
  from?: { path: string; bytes: number; sha256: string };
}

/** Manifest fields that the index supplies; the rest are filled in on save. */
export type ManifestBody = Omit<IndexManifest, 'format' | 'version' | 'space' | 'files' | 'createdAt'>;

let tempCounter = 0;

/**
 * Writes `path` atomically: `write` fills a temporary file in the same
 * folder, which is flushed to disk and renamed over `path`. Returns the size
 * and sha256 of what was written.
 */
export function writeFileAtomic(path: string, write: (tmpPath: string) => void): Omit<ManifestFile, 'name'> {
  const tmp = `${path}.${process.pid}.${tempCounter++}.tmp`;
  try {
    write(tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const digest = digestFile(tmp);
    renameSync(tmp, path);
    return digest;
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Places an earlier file at `path` (hard link, else copy) through a temporary name; its recorded size and checksum carry over. */
function linkFileAtomic(from: { path: string; bytes: number; sha256: string }, path: string): Omit<ManifestFile, 'name'> {
  const tmp = `${path}.${process.pid}.${tempCounter++}.tmp`;
  try {
    try {
      linkSync(from.path, tmp);
    } catch {
      copyFileSync(from.path, tmp);
    }
    renameSync(tmp, path);
    return { bytes: from.bytes, sha256: from.sha256 };
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/** Size and sha256 (lower-case hex) of a file. */
export function digestFile(path: string): Omit<ManifestFile, 'name'> {
  const data = readFileSync(path);
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/**
 * Writes the data files and then the manifest into `dir` (created if
 * missing). Data files listed by a previous manifest in `dir` and not by this
 * one are removed afterwards.
 */
export function saveArtifact(dir: string, body: ManifestBody, files: readonly ArtifactFile[]): IndexManifest {
  mkdirSync(dir, { recursive: true });
  const previous = previousFiles(dir);
  const listed: ManifestFile[] = files.map((file) => {
    const path = join(dir, checkName(file.name, dir));
    if (file.from) return { name: file.name, ...linkFileAtomic(file.from, path) };
    return { name: file.name, ...writeFileAtomic(path, file.write!) };
  });
  const manifest: IndexManifest = {
    format: 'trellis-ann',
    version: 1,
    kind: body.kind,
    dimension: body.dimension,
    count: body.count,
    space: 'cosine',
    params: body.params,
    modelId: body.modelId,
    seed: body.seed,
    files: listed,
    ...(body.partitions ? { partitions: body.partitions } : {}),
    ...(body.meta ? { meta: body.meta } : {}),
    createdAt: new Date().toISOString(),
  };
  writeFileAtomic(join(dir, MANIFEST_FILE), (tmp) => writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n'));
  const kept = new Set(listed.map((f) => f.name));
  for (const name of previous) if (!kept.has(name)) rmSync(join(dir, name), { force: true });
  return manifest;
}

/**
 * Reads and checks the manifest in `dir` against `expect` and verifies every
 * data file's size and checksum. Returns the manifest; data files can then be
 * read with `artifactPath`.
 */
export function openArtifact(dir: string, expect: LoadExpectation & { kind?: IndexKind } = {}): IndexManifest {
  const manifest = readManifest(dir, expect);
  for (const file of manifest.files) verifyFile(dir, file);
  return manifest;
}

/** Reads and checks the manifest in `dir` against `expect`, without reading the data files. */
export function readManifest(dir: string, expect: LoadExpectation & { kind?: IndexKind } = {}): IndexManifest {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) {
    throw new ArtifactError(`${SCOPE}: ${dir} must hold an index manifest (${MANIFEST_FILE}) (got no such file).`, REBUILD_HINT);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ArtifactError(`${SCOPE}: ${path} must be valid JSON (got ${(error as Error).message}).`, REBUILD_HINT);
  }
  const manifest = checkManifest(parsed, path);
  if (expect.kind !== undefined && manifest.kind !== expect.kind) {
    throw new ArtifactError(`${SCOPE}: the index in ${dir} must be of kind ${expect.kind} (got ${manifest.kind}).`, REBUILD_HINT);
  }
  if (expect.dimension !== undefined && manifest.dimension !== expect.dimension) {
    throw new ArtifactError(
      `${SCOPE}: the index in ${dir} must have dimension ${expect.dimension} to match the model (got ${manifest.dimension}).`,
      `It was built with another model. ${REBUILD_HINT}`,
    );
  }
  if (expect.modelId !== undefined && manifest.modelId !== expect.modelId) {
    throw new ArtifactError(
      `${SCOPE}: the index in ${dir} must belong to model ${JSON.stringify(expect.modelId)} (got ${JSON.stringify(manifest.modelId)}).`,
      `It was built with another model. ${REBUILD_HINT}`,
    );
  }
  return manifest;
}

/** The path of a data file named in a manifest. */
export function artifactPath(dir: string, name: string): string {
  return join(dir, checkName(name, dir));
}

/** Throws unless this machine stores numbers little-endian, the byte order of index files. */
export function assertLittleEndian(): void {
  if (endianness() !== 'LE') {
    throw new ArtifactError(`${SCOPE}: the machine's byte order must be little-endian to read or write index files (got ${endianness()}).`);
  }
}

function verifyFile(dir: string, file: ManifestFile): void {
  const path = artifactPath(dir, file.name);
  if (!existsSync(path)) {
    throw new ArtifactError(`${SCOPE}: ${path} must exist as listed in ${MANIFEST_FILE} (got no such file).`, REBUILD_HINT);
  }
  const bytes = statSync(path).size;
  if (bytes !== file.bytes) {
    throw new ArtifactError(
      `${SCOPE}: ${path} must be ${file.bytes} bytes as listed in ${MANIFEST_FILE} (got ${bytes}; the file is truncated or was replaced).`,
      REBUILD_HINT,
    );
  }
  const { sha256 } = digestFile(path);
  if (sha256 !== file.sha256) {
    throw new ArtifactError(
      `${SCOPE}: ${path} must have sha256 ${file.sha256.slice(0, 12)}... as listed in ${MANIFEST_FILE} (got ${sha256.slice(0, 12)}...; the file is corrupt).`,
      REBUILD_HINT,
    );
  }
}

/** A manifest file name must name a file inside the folder. */
function checkName(name: string, dir: string): string {
  if (name === '' || name === MANIFEST_FILE || basename(name) !== name || name === '.' || name === '..') {
    throw new ArtifactError(`${SCOPE}: data file names in ${join(dir, MANIFEST_FILE)} must be plain file names (got ${JSON.stringify(name)}).`, REBUILD_HINT);
  }
  return name;
}

function checkManifest(value: unknown, path: string): IndexManifest {
  const bad = (what: string): never => {
    throw new ArtifactError(`${SCOPE}: ${path} must be a trellis-ann version 1 manifest (got ${what}).`, REBUILD_HINT);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('no JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== 'trellis-ann') return bad(`format ${JSON.stringify(m.format)}`);
  if (m.version !== 1) return bad(`version ${JSON.stringify(m.version)}`);
  if (!(INDEX_KINDS as readonly unknown[]).includes(m.kind)) return bad(`kind ${JSON.stringify(m.kind)}`);
  if (!Number.isInteger(m.dimension) || (m.dimension as number) < 1) return bad(`dimension ${JSON.stringify(m.dimension)}`);
  if (!Number.isInteger(m.count) || (m.count as number) < 0) return bad(`count ${JSON.stringify(m.count)}`);
  if (m.space !== 'cosine') return bad(`space ${JSON.stringify(m.space)}`);
  if (typeof m.modelId !== 'string') return bad(`modelId ${JSON.stringify(m.modelId)}`);
  if (typeof m.params !== 'object' || m.params === null) return bad(`params ${JSON.stringify(m.params)}`);
  if (!Array.isArray(m.files)) return bad(`files ${JSON.stringify(m.files)}`);
  for (const f of m.files as unknown[]) {
    const file = f as Record<string, unknown>;
    if (typeof f !== 'object' || f === null || typeof file.name !== 'string' || !Number.isInteger(file.bytes) || typeof file.sha256 !== 'string') {
      return bad(`a files entry ${JSON.stringify(f)}`);
    }
  }
  if (m.kind === 'partitioned' && !Array.isArray(m.partitions)) return bad('a partitioned index without partitions');
  return value as IndexManifest;
}

function previousFiles(dir: string): string[] {
  try {
    const old = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8')) as { files?: Array<{ name?: unknown }> };
    return (old.files ?? []).map((f) => f.name).filter((n): n is string => typeof n === 'string' && n !== MANIFEST_FILE && basename(n) === n);
  } catch {
    return [];
  }
}
