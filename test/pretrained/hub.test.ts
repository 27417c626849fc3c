/**
 * Model ids: the Hugging Face cache, then a download from the hub, checked
 * and resumable. The "hub" is a small HTTP server on 127.0.0.1 that serves
 * the hub's URL layout (/api/models/<id>/revision/<rev>,
 * /api/models/<id>/tree/<commit>, /<id>/resolve/<commit>/<path>) with the
 * tiny BERT fixture's files, and can corrupt a file, cut a transfer short
 * or not know a model.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isModelId, resolvePretrained } from '../../src/pretrained/hub.ts';
import { ArtifactError } from '../../src/errors.ts';
import { REPO, tempDir } from '../helpers.ts';

const FIXTURE = join(REPO, 'test', 'fixtures', 'tiny-bert');
const COMMIT = 'a'.repeat(40);
const ID = 'test-org/tiny-bert';
const { dir: tmp, cleanup } = tempDir();

/** The fixture's files, relative paths to bytes. */
function files(dir: string, prefix = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (lstatSync(path).isDirectory()) for (const [p, b] of files(path, `${prefix}${name}/`)) out.set(p, b);
    else if (name !== 'reference.json') out.set(`${prefix}${name}`, readFileSync(path));
  }
  return out;
}
const served = files(FIXTURE);

/** What the server does wrong, per test. */
const faults = { corrupt: '', cutOnce: '', requests: [] as string[], ranges: [] as string[] };
let server: Server;
let endpoint = '';

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    faults.requests.push(url.pathname);
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    };
    if (url.pathname === `/api/models/${ID}/revision/main`) return send(200, JSON.stringify({ id: ID, sha: COMMIT, siblings: [...served.keys()].map((rfilename) => ({ rfilename })) }));
    if (url.pathname === `/api/models/${ID}/tree/${COMMIT}`) {
      return send(200, JSON.stringify([...served].map(([path, bytes]) => {
        const lfs = path.endsWith('.safetensors');
        const gitSha1 = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
        return { type: 'file', path, size: bytes.length, oid: gitSha1, ...(lfs ? { lfs: { oid: createHash('sha256').update(bytes).digest('hex'), size: bytes.length } } : {}) };
      })));
    }
    const prefix = `/${ID}/resolve/${COMMIT}/`;
    if (url.pathname.startsWith(prefix)) {
      const path = url.pathname.slice(prefix.length);
      let bytes = served.get(path);
      if (!bytes) return send(404, 'not found');
      if (faults.corrupt === path) bytes = Buffer.concat([bytes.subarray(0, bytes.length - 1), Buffer.from([bytes[bytes.length - 1] ^ 0xff])]);
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (range) faults.ranges.push(`${path}:${range[1]}`);
      const from = range ? Number(range[1]) : 0;
      const body = bytes.subarray(from);
      if (faults.cutOnce === path) {
        // Half the file, then the connection drops.
        faults.cutOnce = '';
        res.writeHead(200, { 'content-length': String(body.length) });
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      }
      return send(range ? 206 : 200, body, range ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {});
    }
    return send(404, JSON.stringify({ error: 'Repository not found' }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
});

after(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  cleanup();
});

const reset = () => Object.assign(faults, { corrupt: '', cutOnce: '', requests: [], ranges: [] });

test('model ids and folders are told apart', () => {
  assert.ok(isModelId('sentence-transformers/all-MiniLM-L6-v2') && isModelId('bert-base-uncased'));
  assert.ok(!isModelId('models/pretrained/x/y') && !isModelId('../x') && !isModelId('/abs/dir'));
});

test('a download lands in the Hugging Face cache layout, checked; the next run reads the cache without the network', async () => {
  reset();
  const cache = join(tmp, 'cache-ok');
  const progress: number[] = [];
  const dir = await resolvePretrained(ID, { endpoint, cache, store: join(tmp, 'none'), onProgress: (done) => progress.push(done) });
  const repo = join(cache, 'models--test-org--tiny-bert');
  assert.equal(dir, join(repo, 'snapshots', COMMIT));
  assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), COMMIT);
  for (const [path, bytes] of served) {
    assert.ok(lstatSync(join(dir, path)).isSymbolicLink(), `${path} is a link into blobs/`);
    assert.deepEqual(readFileSync(join(dir, path)), bytes, path);
  }
  assert.equal(readdirSync(join(repo, 'blobs')).filter((f) => f.endsWith('.incomplete')).length, 0);
  assert.equal(progress.at(-1), [...served.values()].reduce((s, b) => s + b.length, 0));
  // Offline now: the cache answers.
  assert.equal(await resolvePretrained(ID, { endpoint: 'http://127.0.0.1:9', cache, offline: true }), dir);
  // A pinned commit finds the same snapshot.
  assert.equal(await resolvePretrained(ID, { cache, offline: true, revision: COMMIT }), dir);
});

test('a corrupt file is refused and removed; a rerun with good bytes completes', async () => {
  reset();
  const cache = join(tmp, 'cache-corrupt');
  faults.corrupt = 'model.safetensors';
  await assert.rejects(resolvePretrained(ID, { endpoint, cache, store: join(tmp, 'none') }), (e: unknown) => {
    assert.ok(e instanceof ArtifactError);
    assert.match(e.message, /model\.safetensors must be \d+ bytes with sha256 [0-9a-f]{12}\.\.\. as the hub lists it \(got \d+ bytes, [0-9a-f]{12}\.\.\.; the download is corrupt and was removed\)/);
    return true;
  });
  const blobs = join(cache, 'models--test-org--tiny-bert', 'blobs');
  const sha = createHash('sha256').update(served.get('model.safetensors')!).digest('hex');
  assert.ok(!existsSync(join(blobs, sha)) && !existsSync(join(blobs, `${sha}.incomplete`)));
  faults.corrupt = '';
  const dir = await resolvePretrained(ID, { endpoint, cache, store: join(tmp, 'none') });
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), served.get('model.safetensors'));
});

test('an interrupted transfer resumes with a Range request', async () => {
  reset();
  const cache = join(tmp, 'cache-cut');
  faults.cutOnce = 'model.safetensors';
  const dir = await resolvePretrained(ID, { endpoint, cache, store: join(tmp, 'none') });
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), served.get('model.safetensors'));
  assert.equal(faults.ranges.length, 1, `ranges: ${faults.ranges}`);
  const [path, from] = faults.ranges[0].split(':');
  assert.equal(path, 'model.safetensors');
  assert.ok(Number(from) > 0 && Number(from) < served.get('model.safetensors')!.length);
});

test('an unknown model, no network, HF_HUB_OFFLINE: one line each, saying how to get the files', async () => {
  reset();
  const cache = join(tmp, 'cache-errors');
  const oneLine = (pattern: RegExp) => (e: unknown) => {
    assert.ok(e instanceof ArtifactError, String(e));
    assert.match(e.toLine(), pattern);
    assert.ok(!e.toLine().includes('\n'));
    return true;
  };
  await assert.rejects(resolvePretrained('test-org/nope', { endpoint, cache, store: join(tmp, 'none') }), oneLine(/has no model test-org\/nope at revision main \(HTTP 404\)/));
  await assert.rejects(resolvePretrained(ID, { endpoint: 'http://127.0.0.1:9', cache, store: join(tmp, 'none') }), oneLine(/cannot reach http:\/\/127\.0\.0\.1:9 to download it .*fetch-pretrained\.sh/));
  await assert.rejects(resolvePretrained(ID, { cache, offline: true, store: join(tmp, 'none') }), oneLine(/HF_HUB_OFFLINE forbids downloading it/));
  await assert.rejects(resolvePretrained('no/such/folder/here', { cache }), oneLine(/no such model directory, and not a Hugging Face model id/));
  // trellis's own store (scripts/fetch-pretrained.sh) answers for the model's name.
  const store = join(tmp, 'store');
  mkdirSync(join(store, 'tiny-bert'), { recursive: true });
  for (const [path, bytes] of served) {
    mkdirSync(join(store, 'tiny-bert', path, '..'), { recursive: true });
    writeFileSync(join(store, 'tiny-bert', path), bytes);
  }
  assert.equal(relative(store, await resolvePretrained(ID, { cache, offline: true, store })), 'tiny-bert');
});

test('trellis train --encoder <id> downloads the encoder through HF_ENDPOINT and records the id', async () => {
  reset();
  const { spawn } = await import('node:child_process');
  const { syntheticDataset, writeDataset } = await import('../../src/index.ts');
  const data = join(tmp, 'data');
  const model = join(tmp, 'model');
  await writeDataset(data, syntheticDataset({ channels: 1, branching: 3, depth: 2, contentPerLeaf: 3, seed: 2 }));
  const config = join(tmp, 'config.json');
  writeFileSync(config, JSON.stringify({ lexical: { buckets: 1 << 12 }, encoder: { vocab: 1 << 10, dim: 8, hidden: 8, maxFeatures: 16, workers: 1, cacheDir: join(tmp, 'vectors') }, training: { epochs: 1, batchSize: 8 }, rerank: { enabled: false }, retrieval: { fusion: 'rrf' } }));
  // The server runs in this process: the CLI must run alongside it, not block it.
  const run = (args: string[]) => new Promise<{ status: number | null; stderr: string }>((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src', 'cli', 'main.ts'), ...args], { cwd: REPO, env: { ...process.env, HF_ENDPOINT: endpoint, HF_HUB_CACHE: join(tmp, 'cache-cli'), HF_HUB_OFFLINE: '' } });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (status) => done({ status, stderr }));
  });
  const r = await run(['train', '--data', data, '--model', model, '--encoder', ID, '--config', config, '--no-report']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /downloading test-org\/tiny-bert \(aaaaaaaaaaaa\): \d+ files/);
  const meta = JSON.parse(readFileSync(join(model, 'model.json'), 'utf8'));
  assert.equal(meta.pretrained.source, ID);
  assert.equal(meta.pretrained.dir, join(tmp, 'cache-cli', 'models--test-org--tiny-bert', 'snapshots', COMMIT));
});
