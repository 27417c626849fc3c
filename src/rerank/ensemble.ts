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
import { CROSS_ENCODER_CONFIG_FILE, CrossEncoder } from './cross-encoder.ts';
import type { PairSet, TokenizedTexts } from './tokens.ts';

const SCOPE = 'trellis/rerank/ensemble';

/** Folder of member `i` (>= 1) inside the ensemble's folder. */
export function memberDir(dir: string, i: number): string {
  return i === 0 ? dir : join(dir, `member-${i}`);
}

export class RerankerEnsemble {
  readonly members: readonly CrossEncoder[];

  constructor(members: readonly CrossEncoder[]) {
    if (members.length === 0) throw new UsageError(`${SCOPE}: an ensemble needs at least one cross-encoder (got none).`);
    const [first, ...rest] = members;
    const shape = (m: CrossEncoder) => JSON.stringify({ features: m.featureCount, vocabSize: m.options.vocabSize, maxLength: m.options.maxLength, maxTopicTokens: m.options.maxTopicTokens });
    for (const [i, m] of rest.entries()) {
      if (shape(m) !== shape(first)) {
        throw new UsageError(`${SCOPE}: every member must read the same pairs; member ${i + 1} has ${shape(m)}, member 0 ${shape(first)}.`);
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
    const out = this.members[0].score(pairs);
    if (this.members.length === 1) return out;
    for (const member of this.members.slice(1)) {
      const p = member.score(pairs);
      for (let i = 0; i < out.length; i++) out[i] += p[i];
    }
    for (let i = 0; i < out.length; i++) out[i] /= this.members.length;
    return out;
  }

  async save(dir: string): Promise<void> {
    for (const [i, member] of this.members.entries()) await member.save(memberDir(dir, i));
  }

  /** Every member saved in `dir`: the folder's own cross-encoder, then member-1, member-2, ... while they exist. */
  static async load(dir: string): Promise<RerankerEnsemble> {
    const members: CrossEncoder[] = [];
    try {
      for (let i = 0; i === 0 || existsSync(join(memberDir(dir, i), CROSS_ENCODER_CONFIG_FILE)); i++) members.push(await CrossEncoder.load(memberDir(dir, i)));
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
