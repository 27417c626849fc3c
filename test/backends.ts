/**
 * The tfjs backends the tests run on. Every test uses the default choice
 * (TRELLIS_BACKEND, else auto: TensorFlow C when tfjs-node loads, else wasm);
 * the numeric-parity tests (kernels, gradients, the Adam family, the BERT and
 * MiniLM parity, training determinism) run on each of PARITY_BACKENDS:
 * 'node' when tfjs-node loads, and 'wasm'. With CI set, a native backend that
 * does not load fails the run instead of skipping its tests
 * (`npm run tensorflow:install` sets it up).
 */
import { initRuntime } from '../src/runtime/backend.ts';

/** Loads tfjs-node (or, on a GPU machine, tfjs-node-gpu); the reason it fails, or undefined. */
async function probeNative(): Promise<string | undefined> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  let reason = '';
  for (const pkg of ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    try {
      await import(pkg);
      return undefined;
    } catch (error) {
      reason ||= String((error as Error).message).split('\n')[0];
    }
  }
  return reason;
}

const failure = await probeNative();
if (failure !== undefined && process.env.CI) {
  throw new Error(`the native backend (tfjs-node) must load under CI (got: ${failure}); run 'npm run tensorflow:install'.`);
}

/** Whether TensorFlow C (tfjs-node) loads here. */
export const NATIVE = failure === undefined;

/** The backends numeric-parity tests run on. */
export const PARITY_BACKENDS: readonly ('node' | 'wasm')[] = NATIVE ? ['node', 'wasm'] : ['wasm'];

/** The skip reason for a test that needs the native backend, or false. */
export const nativeSkip: string | false = NATIVE ? false : `tfjs-node does not load (${failure}); npm run tensorflow:install`;

/** Sets up the backend every test uses by default. */
export function defaultRuntime() {
  return initRuntime();
}
