/**
 * Content-side competition: the reranker scores each (topic, item) pair on
 * its own, but in a curriculum most items belong to one topic (Khan: 1.24
 * topics per linked item). When several topics of one run want the same
 * item, the ones that want it less should lose it. Before the decision rule,
 * each probability is scaled by how close it comes to the item's best
 * probability over all topics scored together:
 *
 *   s(t, c) = p(t, c) * (p(t, c) / best(c))^gamma,   best(c) = max over t' of p(t', c)
 *
 * gamma = 0 leaves p unchanged; the topic that wants c most keeps s = p.
 * The scores depend on which topics are scored together (a transductive
 * step): the decision rule is tuned on scores computed the same way over the
 * tuning topics, and a run should score all the topics it recommends for at
 * once.
 */
import { UsageError } from '../errors.ts';

/**
 * Competed scores of every topic's candidates. `probabilities[i][j]` is the
 * probability of content item `rows[i][j]` for the i-th topic; the result has
 * the same shape. Items absent from every other topic keep their p; with
 * gamma 0 the probabilities themselves come back (not copied when they are
 * Float32Arrays).
 */
export function competeScores(probabilities: readonly ArrayLike<number>[], rows: readonly ArrayLike<number>[], gamma: number): Float32Array[] {
  if (!(gamma >= 0 && Number.isFinite(gamma))) throw new UsageError(`competeScores: gamma must be a finite number >= 0 (got ${gamma}).`);
  if (rows.length !== probabilities.length) throw new UsageError(`competeScores: one row list per topic is needed (got ${rows.length} for ${probabilities.length} topics).`);
  probabilities.forEach((p, i) => {
    if (rows[i].length !== p.length) throw new UsageError(`competeScores: topic ${i} has ${p.length} probabilities but ${rows[i].length} rows.`);
  });
  if (gamma === 0) return probabilities.map((p) => (p instanceof Float32Array ? p : Float32Array.from(p)));
  const best = contentBest(probabilities, rows);
  return probabilities.map((p, i) => {
    const out = new Float32Array(p.length);
    for (let j = 0; j < p.length; j++) {
      const top = best.get(rows[i][j]);
      out[j] = top === undefined || !Number.isFinite(p[j]) ? p[j] : p[j] * Math.pow(p[j] / top, gamma);
    }
    return out;
  });
}

/**
 * Each content item's best probability over the topics scored together
 * (`rows[i][j]` is the item of `probabilities[i][j]`); a non-finite
 * probability competes with nothing.
 */
export function contentBest(probabilities: readonly ArrayLike<number>[], rows: readonly ArrayLike<number>[]): Map<number, number> {
  const best = new Map<number, number>();
  probabilities.forEach((p, i) => {
    for (let j = 0; j < p.length; j++) {
      const c = rows[i][j];
      if (Number.isFinite(p[j]) && p[j] > (best.get(c) ?? 0)) best.set(c, p[j]);
    }
  });
  return best;
}
