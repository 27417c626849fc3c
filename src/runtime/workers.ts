/**
 * A small worker_threads pool: runs a module's exported function over chunks
 * of input on N threads and returns the results in input order.
 *
 * The wasm backend of tfjs is single-threaded in Node, so encoding many texts
 * uses one worker per core, each importing the task module and setting up its
 * own backend (`initRuntime`) on first use. The pool knows nothing of tfjs: a
 * task is `(moduleUrl, exportName, input)`, the function may be async, and
 * inputs and outputs cross threads by structured clone (typed arrays included).
 *
 * TypeScript in workers: a worker's execArgv `--import tsx` does not let its
 * entry module be `.ts` (Node 20 resolves the entry before the hooks apply),
 * and a process started through `tsx/esm/api`'s `register()` has no execArgv
 * to pass on. So each worker starts from a small CommonJS bootstrap that calls
 * tsx's `register()` itself and then imports task modules by URL; this works
 * under `node --import tsx`, the `tsx` CLI and `bin/trellis.js` alike.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveOptions } from '../options.ts';
import { ArtifactError, ConfigError, DataError, ServiceError, TrellisError, UsageError } from '../errors.ts';

const SCOPE = 'trellis/models/workers';

export interface WorkerPoolOptions {
  /** Number of worker threads; 0 means one per core (os.availableParallelism()). Default 0. */
  size?: number;
  /**
   * Move typed arrays a task returns (those that span their whole buffer)
   * back to the caller instead of copying them. Only for tasks that never
   * return an array they keep using. Default false.
   */
  transferResults?: boolean;
}

export const DEFAULT_WORKER_POOL_OPTIONS: Readonly<Required<WorkerPoolOptions>> = Object.freeze({
  size: 0,
  transferResults: false,
});

/** Per-task options of `WorkerPool.run`. */
export interface RunOptions {
  /** Buffers of `input` to move to the worker instead of copying (they become unusable here). */
  transfer?: ArrayBuffer[];
  /** Called with each value the task reports through its second argument, `progress(value)`. */
  onProgress?: (value: unknown) => void;
}

interface Task extends RunOptions {
  id: number;
  module: string;
  exportName: string;
  input: unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  task?: Task;
}

type Reply = { id: number; progress: unknown } | { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string; hint?: string; stack?: string };

/** Runs inside each worker: plain CommonJS, so it needs no loader to start. */
const BOOTSTRAP = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = workerData.tsxApi ? import(workerData.tsxApi).then((api) => { api.register(); }) : Promise.resolve();
const modules = new Map();
function transferList(value) {
  const list = [];
  const visit = (v, depth) => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !list.includes(v.buffer)) list.push(v.buffer);
    } else if (v && typeof v === 'object' && depth < 2) {
      for (const item of Array.isArray(v) ? v : Object.values(v)) visit(item, depth + 1);
    }
  };
  visit(value, 0);
  return list;
}
parentPort.on('message', async ({ id, module, exportName, input }) => {
  try {
    await ready;
    let loading = modules.get(module);
    if (!loading) { loading = import(module); modules.set(module, loading); }
    const mod = await loading;
    const fn = mod[exportName];
    if (typeof fn !== 'function') throw new Error(module + ' must export a function named ' + exportName + ' (got ' + typeof fn + ').');
    const value = await fn(input, (progress) => parentPort.postMessage({ id, progress }));
    parentPort.postMessage({ id, ok: true, value }, workerData.transferResults ? transferList(value) : []);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    parentPort.postMessage({ id, ok: false, name: e.name, message: e.message, hint: e.hint, stack: e.stack });
  }
});
`;

/** Variables every worker's process.env gets on top of this thread's (e.g. the tfjs backend this thread chose). */
const workerEnv = new Map<string, string>();

/** Sets an environment variable for the workers started from now on. */
export function setWorkerEnv(name: string, value: string): void {
  workerEnv.set(name, value);
}

/** tsx's register API, when this module itself runs as TypeScript (i.e. under tsx). */
const TSX_API = import.meta.url.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;

/**
 * A fixed-size pool of worker threads. Workers start on first use and are
 * unref'd while idle, so an open pool never keeps the process alive; call
 * `close()` to stop them explicitly.
 */
export class WorkerPool {
  readonly size: number;
  private readonly options: Readonly<Required<WorkerPoolOptions>>;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options?: WorkerPoolOptions) {
    this.options = resolveOptions(SCOPE, DEFAULT_WORKER_POOL_OPTIONS, options);
    const { size } = this.options;
    if (!Number.isInteger(size) || size < 0) {
      throw new ConfigError(`${SCOPE}: size must be a non-negative integer (got ${size}).`, 'Use 0 for one worker per core.');
    }
    this.size = size === 0 ? availableParallelism() : size;
  }

  /**
   * Runs `exportName(input, progress)` from `module` (a URL, or an absolute
   * path) on the next free worker. The module is imported once per worker.
   */
  run<O>(module: URL | string, exportName: string, input?: unknown, options: RunOptions = {}): Promise<O> {
    if (this.closed) return Promise.reject(new TrellisError(`${SCOPE}: the pool must be open to run tasks (got a closed pool).`));
    let url: string;
    try {
      url = moduleUrl(module);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, module: url, exportName, input, ...options, resolve: resolve as (value: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Runs the function over every input, all workers in parallel; results in input order. */
  map<I, O>(module: URL | string, exportName: string, inputs: readonly I[]): Promise<O[]> {
    return Promise.all(inputs.map((input) => this.run<O>(module, exportName, input)));
  }

  /** Stops every worker; queued tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0)) task.reject(new TrellisError(`${SCOPE}: the pool closed before the task ran.`));
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === undefined);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, module: task.module, exportName: task.exportName, input: task.input }, task.transfer ?? []);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(BOOTSTRAP, {
      eval: true,
      env: { ...process.env, ...Object.fromEntries(workerEnv) },
      workerData: { tsxApi: TSX_API, transferResults: this.options.transferResults },
    });
    const slot: Slot = { worker };
    this.slots.push(slot);
    worker.on('message', (reply: Reply) => {
      const task = slot.task;
      if (!task || task.id !== reply.id) return;
      if ('progress' in reply) {
        task.onProgress?.(reply.progress);
        return;
      }
      slot.task = undefined;
      if (reply.ok) task.resolve(reply.value);
      else task.reject(rebuildError(reply, task));
      if (this.queue.length === 0) worker.unref();
      this.dispatch();
    });
    const fail = (error: Error) => {
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      const task = slot.task;
      slot.task = undefined;
      if (task) task.reject(new TrellisError(`${SCOPE}: worker running ${task.exportName} from ${task.module} stopped (${error.message}).`));
      if (!this.closed) this.dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return slot;
  }
}

/**
 * Runs `exportName` from `module` over `chunks` on a temporary pool of
 * `options.size` workers (default one per core) and returns the results in
 * chunk order.
 */
export async function mapInWorkers<I, O>(module: URL | string, exportName: string, chunks: readonly I[], options?: WorkerPoolOptions): Promise<O[]> {
  const pool = new WorkerPool(options);
  try {
    return await pool.map<I, O>(module, exportName, chunks);
  } finally {
    await pool.close();
  }
}

/**
 * Splits [0, length) into `parts` contiguous [start, end) ranges whose
 * sizes differ by at most one (fewer ranges when length < parts).
 */
export function splitRange(length: number, parts: number): Array<[number, number]> {
  if (!Number.isInteger(parts) || parts < 1) throw new ConfigError(`${SCOPE}: parts must be a positive integer (got ${parts}).`);
  const count = Math.min(parts, length);
  const ranges: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    ranges.push([Math.floor((i * length) / count), Math.floor(((i + 1) * length) / count)]);
  }
  return ranges;
}

function moduleUrl(module: URL | string): string {
  let href: string;
  if (module instanceof URL) href = module.href;
  else if (module.startsWith('file:')) href = module;
  else if (isAbsolute(module)) href = pathToFileURL(module).href;
  else throw new ConfigError(`${SCOPE}: module must be a URL or an absolute path (got ${JSON.stringify(module)}).`, 'Pass a file: URL built from import.meta.url.');
  // Task modules are named by their source file; compiled (dist/), the file beside the caller is its .js.
  return TSX_API === undefined && href.endsWith('.ts') ? `${href.slice(0, -3)}.js` : href;
}

const ERROR_CLASSES: Record<string, new (message: string, hint?: string) => TrellisError> = {
  TrellisError,
  UsageError,
  ConfigError,
  ArtifactError,
  ServiceError,
};

/** Rebuilds a worker's error in this thread, keeping trellis error classes (and so exit codes). */
function rebuildError(reply: Extract<Reply, { ok: false }>, task: Task): Error {
  let error: Error;
  if (reply.name === 'DataError') error = new DataError(reply.message, { hint: reply.hint });
  else if (reply.name in ERROR_CLASSES) error = new ERROR_CLASSES[reply.name](reply.message, reply.hint);
  else {
    error = new Error(`${SCOPE}: ${task.exportName} from ${task.module} failed in a worker: ${reply.message}`);
    error.name = reply.name;
  }
  if (reply.stack) error.stack = `${error.name}: ${error.message}\n    [in worker]\n${reply.stack.split('\n').slice(1).join('\n')}`;
  return error;
}

/** Start offsets of the chunks of `size` that cover [0, length). */
export function chunkStarts(length: number, size: number): number[] {
  return Array.from({ length: Math.ceil(length / size) }, (_, i) => i * size);
}

/**
 * Runs `task` over `items` with at most `concurrency` running at once, in
 * item order as slots free up. Unlike building every worker input up front,
 * each input is made only when its turn comes, so at most `concurrency`
 * exist at a time.
 */
export async function drain<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
}

/** The buffers of `arrays` that can be moved to a worker: each array's whole buffer, once, never shared memory. */
export function transferables(arrays: readonly ArrayBufferView[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const a of arrays) {
    if (a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !out.includes(a.buffer)) out.push(a.buffer);
  }
  return out;
}
