/**
 * The run configuration: one JSON object for a whole run, one section per
 * stage. `--config FILE` is merged over these defaults; an unknown key at any
 * level is a ConfigError, so a typo is caught.
 */
import { DEFAULT_TFIDF_OPTIONS, type TfidfOptions } from './text/tfidf.ts';
import { resolveOptions } from './options.ts';

export interface RunConfig {
  /** Lexical retriever (TF-IDF) settings. */
  lexical: Required<TfidfOptions>;
}

export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = Object.freeze({
  lexical: { ...DEFAULT_TFIDF_OPTIONS },
});

/** Merges a parsed config file over the defaults (unknown keys are errors). */
export function resolveRunConfig(given: unknown, scope = 'config'): RunConfig {
  return resolveOptions(scope, DEFAULT_RUN_CONFIG as RunConfig, given);
}
