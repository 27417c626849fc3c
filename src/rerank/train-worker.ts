/**
 * Cross-encoder training on a worker thread (pipeline/rerank.ts trains the
 * members of several folds at once): each task sets up the worker's tfjs
 * backend (the one the calling thread chose), loads an untrained
 * cross-encoder from its folder, trains it, scores the tuning pairs with it
 * and saves it back. Same seed, same pairs, same backend: the same weights
 * as training on the calling thread.
 */
import { initRuntime } from '../runtime/backend.ts';
import { CrossEncoder, type CrossEncoderTrainOptions, type EpochReport, type TrainReport } from './cross-encoder.ts';
import type { PairSet } from './tokens.ts';

export interface TrainMemberInput {
  /** Folder of the untrained cross-encoder; the trained one replaces it. */
  dir: string;
  train: PairSet;
  /** Labelled pairs scored after every epoch and, once trained, returned scored. */
  tune: PairSet;
  options: CrossEncoderTrainOptions;
}

/** What a training task reports while it runs. */
export type TrainMemberProgress = { step: number } | { epoch: EpochReport };

export interface TrainMemberOutput {
  report: TrainReport;
  /** The trained cross-encoder's probabilities of the tuning pairs. [N] */
  probabilities: Float32Array;
}

/** Runs in a worker: trains the cross-encoder saved in `input.dir` and saves it there. */
export async function trainMember(input: TrainMemberInput, progress: (value: TrainMemberProgress) => void): Promise<TrainMemberOutput> {
  await initRuntime();
  const model = await CrossEncoder.load(input.dir);
  try {
    const report = await model.train(input.train, input.options, {
      validation: input.tune,
      onStep: (step) => progress({ step }),
      onEpoch: (epoch) => progress({ epoch }),
    });
    const probabilities = model.score(input.tune);
    await model.save(input.dir);
    return { report, probabilities };
  } finally {
    model.dispose();
  }
}
