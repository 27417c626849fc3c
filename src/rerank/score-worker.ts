/**
 * Cross-encoder scoring on a worker thread (`rerankTable` with workers):
 * each worker sets up its own tfjs backend, loads the reranker from its
 * folder once, and scores the pair sets it is sent.
 */
import { initRuntime } from '../runtime/backend.ts';
import { RerankerEnsemble } from './ensemble.ts';
import type { PairSet } from './tokens.ts';

let cached: { dir: string; model: RerankerEnsemble } | undefined;

/** Runs in a worker: the probabilities of `pairs` under the reranker saved in `dir`. [N] */
export async function scorePairs(input: { dir: string; pairs: PairSet }): Promise<Float32Array> {
  await initRuntime();
  if (cached?.dir !== input.dir) {
    cached?.model.dispose();
    cached = undefined;
    cached = { dir: input.dir, model: await RerankerEnsemble.load(input.dir) };
  }
  return cached.model.score(input.pairs);
}
