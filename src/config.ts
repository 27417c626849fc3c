/**
 * The run configuration: one JSON object for a whole run, one section per
 * stage. Each stage declares its section (keys, defaults, checks) next to the
 * code that reads it; this file only composes them. `--config FILE` is merged
 * over the defaults; an unknown key at any level is a ConfigError, so a typo
 * is caught, and each section's checks then run in pipeline order.
 */
import { resolveOptions, needIn, type ConfigSection } from './options.ts';
import { LEXICAL_SECTION, type TfidfOptions } from './text/tfidf.ts';
import { ENCODER_SECTION, GRAPHSAGE_SECTION, TRAINING_SECTION, type EncoderConfig, type GraphSageConfig, type TrainingConfig } from './models/config.ts';
import { INDEX_SECTION, RETRIEVAL_SECTION, type IndexConfig, type RetrievalConfig } from './retrieval/config.ts';
import { RERANK_SECTION, type RerankConfig } from './rerank/config.ts';

export interface RunConfig {
  /** Lexical retriever (TF-IDF) settings; the neural encoder reads the same features (src/text/tfidf.ts). */
  lexical: Required<TfidfOptions>;
  /** src/models/config.ts */
  encoder: EncoderConfig;
  graphsage: GraphSageConfig;
  training: TrainingConfig;
  /** src/retrieval/config.ts */
  index: IndexConfig;
  retrieval: RetrievalConfig;
  /** src/rerank/config.ts */
  rerank: RerankConfig;
}

/** Every section, in pipeline order (the order checks run in). */
export const RUN_CONFIG_SECTIONS = [LEXICAL_SECTION, ENCODER_SECTION, GRAPHSAGE_SECTION, TRAINING_SECTION, INDEX_SECTION, RETRIEVAL_SECTION, RERANK_SECTION] as const;

export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = Object.freeze(
  Object.fromEntries(RUN_CONFIG_SECTIONS.map((s) => [s.name, structuredClone(s.defaults)])) as unknown as RunConfig,
);

/** The pretrained encoder of the quality preset. */
export const QUALITY_ENCODER = 'sentence-transformers/all-MiniLM-L6-v2';

/**
 * Named starting points (`--preset`), merged over the defaults and under an
 * explicit config: 'fast', the from-scratch encoder (offline, minutes: the
 * defaults with the stacker over the cross-encoder); 'quality', the
 * pretrained path with what measurably helps (BENCHMARKS.md, "Presets").
 */
export const PRESETS = {
  // The boosted trees over the cross-encoder (BENCHMARKS.md, "The stacker").
  fast: { rerank: { stack: true } },
  quality: {
    encoder: { kind: 'pretrained', model: QUALITY_ENCODER },
    retrieval: { fusion: 'learned', sentenceTopK: 200 },
    // The from-scratch cross-encoder on 50 cross-fitted negatives a topic, the cut tuned on every
    // validation topic (crossTune), competition kept where the tuning topics want it, and each
    // topic's count learned (BENCHMARKS.md, "The learned count"). It ties the cross-encoder from
    // MiniLM on validation F2 and trains side by side with its crossTune twin, where MiniLM's
    // train one after the other, and reranks four to seven times faster. The stacker over it as in 'fast'.
    rerank: { model: 'scratch', crossFit: 4, crossFitNegatives: 50, epochs: 1, cutoff: 'learned-count', crossTune: true, compete: 'auto', stack: true },
  },
} as const;
export type PresetName = keyof typeof PRESETS;

/** `b` merged over `a`, recursively for plain objects. */
function overlay(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    const plain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    out[key] = plain(prev) && plain(value) ? overlay(prev, value) : value;
  }
  return out;
}

/**
 * Merges a parsed config file over a preset (when given) over the defaults
 * (unknown keys are errors), then checks every section.
 */
export function resolveRunConfig(given: unknown, scope = 'config', preset?: PresetName): RunConfig {
  const withPreset = preset && given !== null && typeof given === 'object' ? overlay(structuredClone(PRESETS[preset]) as Record<string, unknown>, given as Record<string, unknown>) : preset ? structuredClone(PRESETS[preset]) : given;
  const anyScalar = new Set((RUN_CONFIG_SECTIONS as readonly ConfigSection<object>[]).flatMap((s) => (s.anyScalar ?? []).map((key) => `${s.name}.${key}`)));
  const config = resolveOptions(scope, DEFAULT_RUN_CONFIG as RunConfig, withPreset, anyScalar);
  const run = config as unknown as Record<string, unknown>;
  for (const section of RUN_CONFIG_SECTIONS as readonly ConfigSection<object>[]) section.check(run[section.name] as object, needIn(scope, section.name), run);
  return config;
}
