/**
 * The reranking section of the run config: the cross-encoder, its training
 * data and the decision rule's inputs. Each key is declared once here with
 * its default and its checks; src/config.ts composes the sections.
 */
import { isPositiveInteger, isNonNegativeInteger, type ConfigSection } from '../options.ts';

export interface RerankConfig {
  /** Train and apply the cross-encoder. Default true. */
  enabled: boolean;
  /** Cross-encoder epochs. Default 2. */
  epochs: number;
  /** Peak learning rate. Default 0.001. */
  learningRate: number;
  /** Hidden size, layers and heads of the cross-encoder. Default 64, 2, 4. */
  hidden: number;
  layers: number;
  heads: number;
  /** Longest pair sequence in tokens. Default 96. */
  maxLength: number;
  /** Share of the retriever's validation topics the cross-encoder trains on; the rest tune the decision rule. Default 0.7. */
  trainShare: number;
  /**
   * Tune the decision rule on every validation topic instead of the share
   * left over: split them into this many folds; for each, cross-encoders
   * train on the other folds and score it (side by side on worker threads,
   * `trainWorkers`). The rule and the cut-off are tuned on all folds' scores.
   * trainShare is then unused. 0 or 1: off (one split by trainShare).
   * Default 0: on Khan and Debian two folds steady the rule (three splits:
   * final F2 +0.005 and +0.007, the growing-catalogue gap -0.024 -> -0.010
   * and -0.020 -> -0.014), but they need the folds' cross-encoders together
   * at recommend time (`serveFolds`), and scoring every pair twice is more
   * than a 1M-item run's 30-minute budget leaves (BENCHMARKS.md, "Growing
   * catalogues").
   */
  tuneFolds: number;
  /**
   * With one split (tuneFolds 0): also train a second cross-encoder on the
   * tuning topics and score the training topics with it, so that the rule
   * and the cut-off are tuned on every validation topic; the split's own
   * cross-encoder alone serves (each pair scored once). The second trains
   * on worker threads beside the first (`trainWorkers`). Default true: over
   * three splits the growing-catalogue gap narrows from -0.024 to -0.015 on
   * Khan (BENCHMARKS.md, "Growing catalogues") with the same final F2.
   */
  crossTune: boolean;
  /**
   * With tuneFolds: which folds' cross-encoders score at recommend time.
   * 'all', every fold's together (an ensemble, ./ensemble.ts: reranking
   * costs tuneFolds times as much); 'one', the first fold's alone (each pair
   * scored once, as with one split, but by a cross-encoder that trained on
   * 1/tuneFolds of the topics: final F2 0.01 to 0.02 below 'all' on Khan
   * and Debian). Default 'all'.
   */
  serveFolds: 'one' | 'all';
  /**
   * Cross-fitting: split the retriever's training topics into this many
   * folds, retrain the two-tower model once per fold without that fold's
   * links, and add the fold's (out-of-fold) candidates to the cross-encoder's
   * training pairs. 0 or 1: off (only the validation topics' candidates).
   * Default 0.
   */
  crossFit: number;
  /** Negatives kept per cross-fitted topic (all its positives are kept; 0 = all). Default 20. */
  crossFitNegatives: number;
  /**
   * At recommend time, rerank only each topic's first N fused candidates
   * (0 = all, the default): the cost knob for very large runs, since
   * reranking is the slowest stage per topic. `trellis recommend
   * --rerank-candidates` overrides it.
   */
  candidates: number;
  /**
   * With a pretrained encoder: append the elementwise product of the topic's
   * and the candidate's sentence vectors (one value per dimension) to the
   * side features, so the reranker can weigh the dimensions that separate
   * hard candidates. Ignored without sentence vectors (the hashed encoder, or
   * a pretrained one with encoder.fineTuneLayers). Default false.
   */
  sentenceProduct: boolean;
  /**
   * Cross-encoders trained on the same pairs from different seeds; a pair's
   * probability is the mean of theirs (./ensemble.ts). Training and scoring
   * time grow with the count. Default 1.
   */
  members: number;
  /**
   * Content-side competition before the decision rule (./compete.ts): each
   * probability is scaled by (p / the item's best p over the topics scored
   * together)^compete, so an item several topics want goes to the one that
   * wants it most. 0 (the default) turns it off; the value is stored
   * with the rule, which is tuned on scores competed the same way. 'auto'
   * tunes the cut both without competition and with exponent 1 and keeps
   * whichever scores the higher mean F2 on the tuning topics (competition
   * helps when an item belongs to about one topic, as in a curriculum, and
   * costs recall when items carry several, as Debian's packages do).
   */
  compete: number | 'auto';
  /**
   * How many reranked candidates a topic keeps: 'rule', one threshold,
   * margin and cap for every topic (./threshold.ts); 'expected-f2', each
   * topic the count that maximises its expected F2 under calibrated
   * probabilities (./cutoff.ts); 'learned-count', the same with each
   * topic's expected number of gold items predicted by a regression on its
   * scores and place in the tree (fitted on the tuning topics). Training
   * tunes the rule and the chosen cut-off on the tuning topics and saves
   * both. Default 'rule'.
   */
  cutoff: 'rule' | 'expected-f2' | 'learned-count';
  /**
   * A second stage (./stacker.ts): gradient-boosted trees (XGBoost) over
   * the cross-encoder's probability, the pair's side features, the pair's
   * place in its topic's list and the item's standing among the run's
   * topics, fitted on the tuning topics' out-of-fold scores; the rule, the
   * cut-off and content competition then work on its probabilities, tuned
   * on probabilities from trees that never saw the topic. Like competition,
   * its scores depend on which topics are scored together. Both presets
   * turn it on: over three splits it lifts the fast preset's final F2 from
   * 0.546 to 0.591 on Khan and from 0.204 to 0.220 on Debian, and the
   * quality preset's from 0.642 to 0.660 on Khan, for a few seconds of
   * training (BENCHMARKS.md, "The stacker"). Default false: a model serving
   * items it never trained on ("Growing catalogues") and the 1M-item run
   * were measured without it.
   */
  stack: boolean;
  /**
   * The cross-encoder: 'scratch', a small transformer over hashed words
   * trained from nothing (./cross-encoder.ts; hidden, layers, heads,
   * maxLength), or 'pretrained', the pretrained encoder's (encoder.model)
   * top `jointLayers` layers fine-tuned over the pair, its lower layers
   * reading topic and content apart (./pretrained-cross-encoder.ts; needs
   * encoder.kind 'pretrained'). Default 'scratch'.
   */
  model: 'scratch' | 'pretrained';
  /** With model 'pretrained': the top layers that read the pair together. Default 2. */
  jointLayers: number;
  /** With model 'pretrained': peak learning rate of those layers (the head takes learningRate). Default 0.00005. */
  encoderLearningRate: number;
  /**
   * Worker threads that train the cross-encoders at once when there are
   * several (tuneFolds folds, or members): 0 = one per core, 1 = one after
   * the other on the calling thread. The weights are the same either way.
   * Cross-encoders from scratch only (model 'scratch'). Default 0.
   */
  trainWorkers: number;
}

/** Whether `cutoff` deploys the per-topic cut-off (with or without a learned count) rather than the global rule. */
export function perTopicCutoff(cutoff: RerankConfig['cutoff'] | undefined): boolean {
  return cutoff === 'expected-f2' || cutoff === 'learned-count';
}

export const DEFAULT_RERANK_CONFIG: Readonly<RerankConfig> = Object.freeze({
  enabled: true,
  epochs: 2,
  learningRate: 0.001,
  hidden: 64,
  layers: 2,
  heads: 4,
  maxLength: 96,
  trainShare: 0.7,
  tuneFolds: 0,
  crossTune: true,
  serveFolds: 'all',
  crossFit: 0,
  crossFitNegatives: 20,
  candidates: 0,
  sentenceProduct: false,
  members: 1,
  compete: 0,
  cutoff: 'rule',
  stack: false,
  model: 'scratch',
  jointLayers: 2,
  encoderLearningRate: 5e-5,
  trainWorkers: 0,
});

export const RERANK_SECTION: ConfigSection<RerankConfig> = {
  name: 'rerank',
  defaults: DEFAULT_RERANK_CONFIG,
  anyScalar: ['compete'],
  check(c, need, run) {
    const encoder = run.encoder as { kind: string; fineTuneLayers: number };
    need(c.trainShare > 0 && c.trainShare < 1, 'trainShare', 'in (0, 1)', c.trainShare);
    need(Number.isInteger(c.tuneFolds) && c.tuneFolds >= 0 && c.tuneFolds <= 10, 'tuneFolds', 'an integer from 0 to 10', c.tuneFolds);
    need(c.serveFolds === 'one' || c.serveFolds === 'all', 'serveFolds', "'one' or 'all'", c.serveFolds);
    need(typeof c.crossTune === 'boolean', 'crossTune', 'true or false', c.crossTune);
    need(isPositiveInteger(c.epochs), 'epochs', 'a positive integer', c.epochs);
    need(Number.isInteger(c.crossFit) && c.crossFit >= 0 && c.crossFit <= 10, 'crossFit', 'an integer from 0 to 10', c.crossFit);
    need(c.crossFit <= 1 || encoder.fineTuneLayers === 0, 'crossFit', 'off (0) when encoder.fineTuneLayers is set', c.crossFit);
    need(isNonNegativeInteger(c.candidates), 'candidates', 'a non-negative integer (0 = all)', c.candidates);
    need(Number.isInteger(c.members) && c.members >= 1 && c.members <= 16, 'members', 'an integer from 1 to 16', c.members);
    need(c.compete === 'auto' || (Number.isFinite(c.compete) && c.compete >= 0 && c.compete <= 8), 'compete', "a number from 0 to 8 (0 = off) or 'auto'", c.compete);
    need(typeof c.sentenceProduct === 'boolean', 'sentenceProduct', 'true or false', c.sentenceProduct);
    need(isNonNegativeInteger(c.crossFitNegatives), 'crossFitNegatives', 'a non-negative integer', c.crossFitNegatives);
    need(c.cutoff === 'rule' || c.cutoff === 'expected-f2' || c.cutoff === 'learned-count', 'cutoff', "'rule', 'expected-f2' or 'learned-count'", c.cutoff);
    need(typeof c.stack === 'boolean', 'stack', 'true or false', c.stack);
    need(c.model === 'scratch' || c.model === 'pretrained', 'model', "'scratch' or 'pretrained'", c.model);
    need(c.model !== 'pretrained' || encoder.kind === 'pretrained', 'model', "'scratch' unless encoder.kind is 'pretrained' (the pretrained cross-encoder starts from encoder.model)", c.model);
    need(isPositiveInteger(c.jointLayers), 'jointLayers', 'a positive integer', c.jointLayers);
    need(Number.isFinite(c.encoderLearningRate) && c.encoderLearningRate > 0, 'encoderLearningRate', 'a positive number', c.encoderLearningRate);
    need(isNonNegativeInteger(c.trainWorkers), 'trainWorkers', 'a non-negative integer (0 = one per core)', c.trainWorkers);
  },
};
