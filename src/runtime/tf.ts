/**
 * The one place model code imports TensorFlow.js from. Which backend runs the
 * kernels (TensorFlow C on GPU or CPU, wasm, or plain JS) is chosen once by
 * `initRuntime` in `./runtime.ts`; every model module uses this namespace, so
 * the same code runs on all of them.
 */
export * as tf from '@tensorflow/tfjs';
export type { Tensor, Tensor1D, Tensor2D, Tensor3D, Scalar, Variable, Rank, TensorInfo } from '@tensorflow/tfjs';
