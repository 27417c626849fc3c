/**
 * Several cross-encoders trained on the same pairs from different seeds,
 * scored as one: the probability of a pair is the mean of the members'
 * probabilities (a seed ensemble, as in Lakshminarayanan et al. 2017, "Simple
 * and Scalable Predictive Uncertainty Estimation using Deep Ensembles").
 * A small reranker trained from scratch overfits within an epoch or two;
 * averaging members cuts the variance of its scores.
 *
 * Artifact: the first member is saved in the folder itself (so a folder with
 * one member is a plain cross-encoder folder), member i >= 1 in
 * `member-<i>/` inside it.
 *
 *   const ensemble = new RerankerEnsemble([a, b, c]);
 *   const p = ensemble.score(pairs); // [N] mean probability
 *   await ensemble.save(dir);
 *   const again = await RerankerEnsemble.load(dir);
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactError, UsageError } from '../errors.ts';
import { CROSS_ENCODER_CONFIG_FILE, CrossEncoder, type CrossEncoderTrainOptions, type TrainHooks, type TrainReport } from './cross-encoder.ts';
import { isPretrainedCrossEncoder, PretrainedCrossEncoder } from './pretrained-cross-encoder.ts';
import type { PairSet, TokenizedTexts } from './tokens.ts';

const SCOPE = 'trellis/rerank/ensemble';

/** Folder of member `i` (>= 1) inside the ensemble's folder. */
export function memberDir(dir: string, i: number): string {
  return i === 0 ? dir : join(dir, `member-${i}`);
}

/** What an ensemble member is: a cross-encoder trained from scratch or one from a pretrained encoder. */
export interface PairScorer {
  /** Side-feature values per pair. */
  readonly featureCount: number;
  /** What the pairs it reads depend on (tokenizer, lengths, features): the members must agree. */
  readonly pairShape: string;
  tokenize(texts: readonly string[]): TokenizedTexts;
  score(pairs: PairSet): Float32Array;
  train(pairs: PairSet, options?: CrossEncoderTrainOptions & { encoderLearningRate?: number }, hooks?: TrainHooks): Promise<TrainReport>;
  save(dir: string): Promise<void>;
  dispose(): void;
}

/** The member saved in `dir`, of the kind its model.json names. */
async function loadMember(dir: string): Promise<PairScorer> {
  return (await isPretrainedCrossEncoder(dir)) ? PretrainedCrossEncoder.load(dir) : CrossEncoder.load(dir);
}

/**
 * The members' probabilities averaged as an ensemble scores them (summed in
 * member order in float32, then divided), for members scored elsewhere, e.g.
 * on worker threads. [N]
 */
export function meanProbabilities(scores: readonly Float32Array[]): Float32Array {
  if (scores.length === 1) return scores[0];
  const out = Float32Array.from(scores[0]);
  for (const p of scores.slice(1)) for (let i = 0; i < out.length; i++) out[i] += p[i];
  for (let i = 0; i < out.length; i++) out[i] /= scores.length;
  return out;
}

export class RerankerEnsemble {
  readonly members: readonly PairScorer[];

  constructor(members: readonly PairScorer[]) {
    if (members.length === 0) throw new UsageError(`${SCOPE}: an ensemble needs at least one cross-encoder (got none).`);
    const [first, ...rest] = members;
    for (const [i, m] of rest.entries()) {
      if (m.pairShape !== first.pairShape) {
        throw new UsageError(`${SCOPE}: every member must read the same pairs; member ${i + 1} has ${m.pairShape}, member 0 ${first.pairShape}.`);
      }
    }
    this.members = members;
  }

  /** Side-feature values per pair (the same for every member). */
  get featureCount(): number {
    return this.members[0].featureCount;
  }

  /** Tokenises texts for the members' shared vocabulary. */
  tokenize(texts: readonly string[]): TokenizedTexts {
    return this.members[0].tokenize(texts);
  }

  /** Mean of the members' probabilities. [N] */
  score(pairs: PairSet): Float32Array {
    return meanProbabilities(this.members.map((m) => m.score(pairs)));
  }

  async save(dir: string): Promise<void> {
    for (const [i, member] of this.members.entries()) await member.save(memberDir(dir, i));
  }

  /** Every member saved in `dir`: the folder's own cross-encoder, then member-1, member-2, ... while they exist. */
  static async load(dir: string): Promise<RerankerEnsemble> {
    const members: PairScorer[] = [];
    try {
      for (let i = 0; i === 0 || existsSync(join(memberDir(dir, i), CROSS_ENCODER_CONFIG_FILE)); i++) members.push(await loadMember(memberDir(dir, i)));
      return new RerankerEnsemble(members);
    } catch (error) {
      for (const m of members) m.dispose();
      if (error instanceof UsageError) throw new ArtifactError(`${dir}: ${error.message}`, 'Retrain the reranker.');
      throw error;
    }
  }

  dispose(): void {
    for (const m of this.members) m.dispose();
  }
}
