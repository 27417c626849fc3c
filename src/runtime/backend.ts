/**
 * Picks the TensorFlow.js backend once per process (and once per worker).
 *
 * Order for `auto`: @tensorflow/tfjs-node-gpu when it loads and sees a GPU,
 * then @tensorflow/tfjs-node, then @tensorflow/tfjs-backend-wasm, then the
 * plain-JS cpu backend. The two native packages are optional dependencies
 * that many machines cannot install, so they are loaded with a dynamic
 * `import()` whose failure just moves on to the next candidate. An explicit
 * choice (`gpu`, `node`, `wasm`, `cpu`) skips the search and fails loudly
 * when that backend is unavailable.
 *
 * wasm and cpu lack a usable `UnsortedSegmentSum`, the kernel behind the
 * gradient of `tf.gather` (every embedding lookup). wasm has none at all; the
 * cpu one loops over segments and builds a [rows, ...] mask per segment, so a
 * 100k-row embedding table costs O(segments x rows) time and gigabytes of
 * memory per step. Both get the same replacement here: ScatterNd with
 * `indices = segmentIds[..., None]`, which adds duplicate indices, is exactly
 * a segment sum in one O(rows x width) pass. The cpu backend therefore stays
 * usable for training (slowly, but with bounded memory) rather than being
 * refused; `assertTrainable` is the guard that training loops call so they
 * never run on the original cpu kernel (e.g. when `initRuntime` was skipped).
 *
 * wasm's GatherV2 computes every output element through generic 4-d strides
 * (and validates indices with one closure per index), tens of ns per float:
 * gathering 88k rows of 128 floats, one embedding-bag batch, took 0.3-1 s on
 * this shared 2-core machine. Row gathers (axis 0, no batch dims, float32 or int32) therefore go
 * through a replacement that copies whole rows inside the wasm heap with
 * `copyWithin` (a memmove per row), 5-7x faster; every other case falls
 * through to the original kernel.
 *
 * The gradient of UnsortedSegmentSum (used by every segment-sum pooling)
 * is, in tfjs, a gather that drops negative ids through a broadcast
 * logicalAnd that wasm runs at ~1 s for an [88k, 128] batch. Where the
 * ScatterNd kernel above ran the forward pass, ids are known to lie in
 * [0, numSegments), so the gradient is the plain gather(dy, segmentIds);
 * on TensorFlow C (which drops negative ids) tfjs's own gradient stays.
 */
import { tf, type TensorInfo } from './tf.ts';
import { availableParallelism } from 'node:os';
import { checkChoice } from '../options.ts';
import { setWorkerEnv } from './workers.ts';
import { TrellisError } from '../errors.ts';

const SCOPE = 'trellis/runtime';

export const BACKEND_CHOICES = ['auto', 'gpu', 'node', 'wasm', 'cpu'] as const;
/** What the user asks for: a backend kind, or `auto` for the best one that loads. */
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** The backend that runs: `gpu` and `node` are TensorFlow C through tfjs-node(-gpu). */
export type BackendKind = Exclude<BackendChoice, 'auto'>;

/** Environment variable read when no explicit choice is given. */
export const BACKEND_ENV = 'TRELLIS_BACKEND';

export interface RuntimeInfo {
  /** The backend kind that was chosen. */
  kind: BackendKind;
  /** What was asked for: a kind, or 'auto'. */
  choice: BackendChoice;
  /** The tfjs backend name (`tensorflow`, `wasm` or `cpu`). */
  tfBackend: string;
  /** The npm package that provides the backend. */
  provider: string;
  /** One line for the CLI, e.g. "tfjs backend: wasm (SIMD, 1 thread; tfjs-node-gpu: not installed, tfjs-node: not installed)". */
  message: string;
  /** Candidates tried before this one, with the reason each was passed over. */
  skipped: readonly string[];
  /** Versions of @tensorflow/tfjs and, on TensorFlow C, of libtensorflow. */
  versions: { tfjs: string; libtensorflow?: string };
  /**
   * Threads one op runs on: TensorFlow's intra-op pool (every core, or
   * TF_NUM_INTRAOP_THREADS), 1 for wasm and cpu.
   */
  opThreads: number;
}

/** The native packages, named through variables so TypeScript does not look for their types. */
const NODE_GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';
const NODE_PACKAGE = '@tensorflow/tfjs-node';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

let current: RuntimeInfo | undefined;
let pending: Promise<RuntimeInfo> | undefined;
let pendingChoice: BackendChoice | undefined;
/** tfjs-node and tfjs-node-gpu both register the backend "tensorflow"; only one may ever load. */
let nativePackage: string | undefined;

/**
 * Resolves a choice from an explicit value (a CLI flag), else the
 * TRELLIS_BACKEND environment variable, else `auto`.
 */
export function resolveBackendChoice(explicit?: string): BackendChoice {
  const value = explicit ?? process.env[BACKEND_ENV] ?? 'auto';
  return checkChoice(SCOPE, explicit !== undefined ? 'backend' : BACKEND_ENV, value, BACKEND_CHOICES);
}

/**
 * Selects and initialises the tfjs backend. Idempotent: a second call with the
 * same choice returns the first result; a different explicit choice switches.
 * Throws a TrellisError when an explicitly chosen backend cannot load.
 */
export async function initRuntime(choice: BackendChoice | string = resolveBackendChoice()): Promise<RuntimeInfo> {
  const wanted = checkChoice(SCOPE, 'backend', choice, BACKEND_CHOICES);
  if (pending && pendingChoice === wanted) return pending;
  pendingChoice = wanted;
  pending = select(wanted).then(
    (info) => {
      current = info;
      return info;
    },
    (error: unknown) => {
      pending = undefined;
      pendingChoice = undefined;
      throw error;
    },
  );
  return pending;
}

/** The backend chosen by the last successful `initRuntime`, if any. */
export function runtimeInfo(): RuntimeInfo | undefined {
  return current;
}

/**
 * Throws unless the active backend's UnsortedSegmentSum (the gradient of
 * `tf.gather`) is a fast one: TensorFlow C's, or the ScatterNd kernel
 * installed here. Training loops call this before their first step.
 */
export function assertTrainable(): void {
  const name = tf.getBackend();
  if (name === 'tensorflow') return;
  if (installedKernels.has(name) && tf.getKernel('UnsortedSegmentSum', name) === installedKernels.get(name)) return;
  throw new TrellisError(
    `${SCOPE}: the ${name} backend's UnsortedSegmentSum kernel must be the ScatterNd-based one for training (got ${name === 'cpu' ? "tfjs's per-segment loop, which needs O(segments x rows) time and memory" : 'none or an unknown one'}).`,
    'Call initRuntime() before training, or choose --backend wasm.',
  );
}

async function select(choice: BackendChoice): Promise<RuntimeInfo> {
  const skipped: string[] = [];
  if (choice === 'gpu' || choice === 'auto') {
    const gpu = await loadTensorflow(NODE_GPU_PACKAGE);
    if (gpu.ok && gpu.gpu) return done(choice, 'gpu', 'tensorflow', NODE_GPU_PACKAGE, 'TensorFlow C on CUDA', skipped);
    if (gpu.ok) {
      // tfjs-node-gpu without a visible GPU runs TensorFlow C on the CPU, which
      // is what tfjs-node would give; loading tfjs-node as well would register
      // the "tensorflow" backend twice.
      if (choice === 'gpu') {
        throw new TrellisError(`${SCOPE}: backend gpu must see a CUDA device (got ${NODE_GPU_PACKAGE} running on the CPU).`, 'Check the CUDA/cuDNN install, or choose --backend auto.');
      }
      return done(choice, 'node', 'tensorflow', NODE_GPU_PACKAGE, 'TensorFlow C on CPU, no GPU visible', skipped);
    }
    if (choice === 'gpu') {
      throw new TrellisError(`${SCOPE}: backend gpu must load ${NODE_GPU_PACKAGE} (got ${gpu.reason}).`, `Install it (npm install ${NODE_GPU_PACKAGE}) on a machine with CUDA, or choose --backend auto.`);
    }
    skipped.push(`${shortName(NODE_GPU_PACKAGE)}: ${gpu.reason}`);
  }
  if (choice === 'node' || choice === 'auto') {
    const node = await loadTensorflow(NODE_PACKAGE);
    if (node.ok) return done(choice, 'node', 'tensorflow', nativePackage ?? NODE_PACKAGE, 'TensorFlow C on CPU', skipped);
    if (choice === 'node') {
      throw new TrellisError(`${SCOPE}: backend node must load ${NODE_PACKAGE} (got ${node.reason}).`, `Install it (npm install ${NODE_PACKAGE}), or choose --backend auto.`);
    }
    skipped.push(`${shortName(NODE_PACKAGE)}: ${node.reason}`);
  }
  if (choice === 'wasm' || choice === 'auto') {
    const wasm = await loadWasm();
    if (wasm.ok) {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return done(choice, 'wasm', 'wasm', WASM_PACKAGE, `${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'multi-threaded' : '1 thread'}`, skipped);
    }
    if (choice === 'wasm') {
      throw new TrellisError(`${SCOPE}: backend wasm must initialise (got ${wasm.reason}).`, 'Reinstall dependencies (npm ci), or choose --backend cpu.');
    }
    skipped.push(`wasm: ${wasm.reason}`);
  }
  installSegmentSumKernel('cpu');
  if (!(await tf.setBackend('cpu'))) {
    throw new TrellisError(`${SCOPE}: backend cpu must initialise (got a failure from tf.setBackend).`);
  }
  return done(choice, 'cpu', 'cpu', '@tensorflow/tfjs', 'plain JavaScript, slow', skipped);
}

function done(choice: BackendChoice, kind: BackendKind, tfBackend: string, provider: string, detail: string, skipped: string[]): RuntimeInfo {
  const tail = skipped.length > 0 ? `; ${skipped.join(', ')}` : '';
  const native = tfBackend === 'tensorflow';
  const libtensorflow = native ? (tf.backend() as { binding?: { TF_Version?: string } }).binding?.TF_Version : undefined;
  const threads = Number(process.env.TF_NUM_INTRAOP_THREADS);
  const opThreads = native ? (Number.isInteger(threads) && threads > 0 ? threads : availableParallelism()) : 1;
  // Worker threads started from now on pick the same backend.
  setWorkerEnv(BACKEND_ENV, kind);
  return Object.freeze({
    kind, choice, tfBackend, provider,
    message: `tfjs backend: ${kind} (${detail}${native ? `, ${opThreads} threads` : ''}${tail})`,
    skipped: Object.freeze([...skipped]),
    versions: Object.freeze({ tfjs: tf.version.tfjs, ...(libtensorflow ? { libtensorflow } : {}) }),
    opThreads,
  });
}

/**
 * Worker threads for tensor work (encoding, scoring) when `requested` is 0:
 * one per core on the single-threaded backends (wasm, cpu); one, the calling
 * thread, on TensorFlow C, whose ops already run on every core. A positive
 * `requested` is taken as given.
 */
export function tensorWorkers(requested = 0): number {
  if (requested > 0) return requested;
  return current && current.tfBackend === 'tensorflow' ? 1 : availableParallelism();
}

type Loaded = { ok: true; gpu: boolean } | { ok: false; reason: string };

async function loadTensorflow(pkg: string): Promise<Loaded> {
  if (nativePackage !== undefined && nativePackage !== pkg) {
    // The other native package already owns the "tensorflow" backend.
    if (pkg === NODE_GPU_PACKAGE) return { ok: false, reason: `${nativePackage} already loaded` };
  } else {
    try {
      // TensorFlow's info lines (oneDNN, CPU features) on stderr, unless the user asks for them.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import(pkg);
      nativePackage = pkg;
    } catch (error) {
      return { ok: false, reason: describeLoadError(error) };
    }
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, reason: 'tf.setBackend("tensorflow") failed' };
  } catch (error) {
    return { ok: false, reason: describeLoadError(error) };
  }
  const backend = tf.backend() as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  return { ok: true, gpu: Boolean(backend.isGPUPackage && backend.isUsingGpuDevice) };
}

async function loadWasm(): Promise<Loaded> {
  try {
    await import(WASM_PACKAGE);
    installSegmentSumKernel('wasm');
    installWasmGatherKernel();
    if (!(await tf.setBackend('wasm'))) return { ok: false, reason: 'tf.setBackend("wasm") failed' };
    await tf.ready();
    return { ok: true, gpu: false };
  } catch (error) {
    return { ok: false, reason: describeLoadError(error) };
  }
}

function describeLoadError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split('\n', 1)[0].trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

function shortName(pkg: string): string {
  return pkg.replace('@tensorflow/', '');
}

// --- UnsortedSegmentSum through ScatterNd -----------------------------------

type KernelConfig = ReturnType<typeof tf.getKernel>;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

/** The configs installed here, by backend name, so `assertTrainable` can recognise them. */
const installedKernels = new Map<string, KernelConfig>();

/**
 * Registers the ScatterNd-based UnsortedSegmentSum for `backendName`
 * (`wasm` or `cpu`), replacing an existing cpu kernel. Idempotent. Exported
 * for tests; `initRuntime` calls it for the backend it picks.
 */
export function installSegmentSumKernel(backendName: 'wasm' | 'cpu'): void {
  const existing = tf.getKernel('UnsortedSegmentSum', backendName);
  if (existing && existing === installedKernels.get(backendName)) return;
  if (existing) tf.unregisterKernel('UnsortedSegmentSum', backendName);
  const config: KernelConfig = {
    kernelName: 'UnsortedSegmentSum',
    backendName,
    kernelFunc: (args: KernelArgs) => segmentSumViaScatter(args, backendName),
  };
  tf.registerKernel(config);
  installedKernels.set(backendName, config);
  installSegmentSumGradient();
}

let originalSegmentSumGrad: ReturnType<typeof tf.getGradient> | undefined;

/** The gradient of UnsortedSegmentSum: a plain gather on backends with the kernel above. */
function installSegmentSumGradient(): void {
  if (originalSegmentSumGrad) return;
  const original = tf.getGradient('UnsortedSegmentSum');
  originalSegmentSumGrad = original;
  tf.registerGradient({
    kernelName: 'UnsortedSegmentSum',
    inputsToSave: ['segmentIds'],
    gradFunc: (dy, saved, attrs) => {
      const name = tf.getBackend();
      if (!(installedKernels.has(name) && tf.getKernel('UnsortedSegmentSum', name) === installedKernels.get(name))) {
        return original.gradFunc(dy, saved, attrs);
      }
      const [segmentIds] = saved;
      return { x: () => tf.gather(dy as tf.Tensor, segmentIds) }; // [...S, ...R]
    },
  });
}

/**
 * out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...].
 * x: [...S, ...R], segmentIds: [...S] int32, out: [numSegments, ...R].
 * ScatterNd reads `indices` [...S, 1] and `updates` [...S, ...R], and sums
 * updates that share an index, so it is this sum with no reshaping of x.
 */
function segmentSumViaScatter(args: KernelArgs, backendName: string): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const segmentIds = inputs.segmentIds as TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  // ScatterNd does not bounds-check on wasm: an id outside [0, numSegments)
  // would write into unrelated memory. tf.gather never produces one (it
  // validates its indices), so this is a cheap O(ids) guard against misuse.
  checkSegmentIds(backend, segmentIds, numSegments);
  // A view of segmentIds with a trailing unit axis: same data, no copy.
  const indices: TensorInfo = { dataId: segmentIds.dataId, shape: [...segmentIds.shape, 1], dtype: 'int32' };
  const scatter = tf.getKernel('ScatterNd', backendName);
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  return scatter.kernelFunc({ inputs: { indices, updates: x }, backend, attrs: { shape: outShape } }) as TensorInfo;
}

function checkSegmentIds(backend: KernelArgs['backend'], segmentIds: TensorInfo, numSegments: number): void {
  const b = backend as { typedArrayFromHeap?: (info: TensorInfo) => Int32Array; readSync(dataId: object): unknown };
  // wasm: a view of its heap (no copy); cpu: the stored array.
  const ids = b.typedArrayFromHeap ? b.typedArrayFromHeap(segmentIds) : (b.readSync(segmentIds.dataId) as Int32Array);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= numSegments) {
      throw new TrellisError(`${SCOPE}: unsortedSegmentSum segment ids must be in [0, ${numSegments}) (got ${id} at position ${i}).`);
    }
  }
}

// --- GatherV2 by row copies on wasm -------------------------------------------

let gatherInstalled = false;

/** Replaces wasm's GatherV2 with the row-copy version (idempotent). */
function installWasmGatherKernel(): void {
  if (gatherInstalled) return;
  const original = tf.getKernel('GatherV2', 'wasm');
  tf.unregisterKernel('GatherV2', 'wasm');
  tf.registerKernel({
    kernelName: 'GatherV2',
    backendName: 'wasm',
    // The original's setup binds its C++ function, used by the fallback.
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args: KernelArgs) => gatherRows(args) ?? (original.kernelFunc(args) as TensorInfo),
  });
  gatherInstalled = true;
}

interface WasmHeapBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  disposeData(dataId: object): boolean;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array;
}

/**
 * out[i, ...] = x[indices[i], ...] for x [N, ...R], indices [...I] ->
 * out [...I, ...R]; undefined when the call is not a plain row gather.
 */
function gatherRows(args: KernelArgs): TensorInfo | undefined {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const indices = inputs.indices as TensorInfo;
  const { axis, batchDims } = attrs as { axis: number; batchDims: number };
  const parsedAxis = axis < 0 ? axis + x.shape.length : axis;
  if (parsedAxis !== 0 || batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32') || x.shape.length === 0) return undefined;
  const wasm = backend as unknown as WasmHeapBackend;
  const rows = x.shape[0];
  const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const outShape = [...indices.shape, ...x.shape.slice(1)];
  // makeOutput may grow the wasm memory, which detaches earlier heap views:
  // take the views after it.
  const out = wasm.makeOutput(outShape, x.dtype);
  const count = indices.shape.reduce((a, b) => a * b, 1);
  if (count === 0 || width === 0) return out;
  const idx = wasm.typedArrayFromHeap(indices) as Int32Array;
  const src = wasm.typedArrayFromHeap(x);
  const dst = wasm.typedArrayFromHeap(out);
  const heap = x.dtype === 'float32' ? new Float32Array(src.buffer) : new Int32Array(src.buffer);
  const from = src.byteOffset / 4;
  const to = dst.byteOffset / 4;
  for (let i = 0; i < count; i++) {
    const row = idx[i];
    if (row < 0 || row >= rows) {
      // Same message as tfjs's own kernel.
      wasm.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${row} is not in [0, ${rows - 1}]`);
    }
    heap.copyWithin(to + i * width, from + row * width, from + (row + 1) * width);
  }
  return out;
}
