/**
 * Options resolution shared by every stage: `DEFAULT_XXX_OPTIONS` frozen in
 * one place, merged once with what the user gave; an unknown key or a value of
 * the wrong type is a ConfigError, so a typo in a config file is caught.
 */
import { ConfigError } from './errors.ts';

type Plain = Record<string, unknown>;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Deep-merges `given` over `defaults`. Nested plain objects are merged key by
 * key; arrays and scalars are replaced. `scope` prefixes error messages
 * (e.g. "config" or "trellis/train"). A scalar must be of its default's kind,
 * except at the dotted paths in `anyScalar` (a number or a word, such as
 * `rerank.compete`), which the caller checks.
 */
export function resolveOptions<T extends object>(scope: string, defaults: T, given: unknown, anyScalar: ReadonlySet<string> = new Set()): T {
  if (given === undefined || given === null) return structuredClone(defaults) as T;
  return merge(scope, defaults as Plain, given, '', anyScalar) as T;
}

function merge(scope: string, defaults: Plain, given: unknown, path: string, anyScalar: ReadonlySet<string>): Plain {
  if (kindOf(given) !== 'object') {
    throw new ConfigError(`${scope}: ${path || 'options'} must be an object (got ${kindOf(given)}).`);
  }
  const out: Plain = structuredClone(defaults);
  for (const [key, value] of Object.entries(given as Plain)) {
    const where = path ? `${path}.${key}` : key;
    if (!(key in defaults)) {
      const known = Object.keys(defaults).join(', ');
      throw new ConfigError(`${scope}: unknown key "${where}".`, `Known keys${path ? ` of ${path}` : ''}: ${known}.`);
    }
    const fallback = defaults[key];
    if (value === undefined) continue;
    if (kindOf(fallback) === 'object') {
      out[key] = merge(scope, fallback as Plain, value, where, anyScalar);
    } else if (fallback !== null && kindOf(fallback) !== kindOf(value) && !(anyScalar.has(where) && ['number', 'string', 'boolean'].includes(kindOf(value)))) {
      throw new ConfigError(`${scope}: ${where} must be ${kindOf(fallback) === 'array' ? 'an array' : `a ${kindOf(fallback)}`} (got ${JSON.stringify(value)}).`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** Throws a ConfigError unless `value` is one of `allowed`. */
export function checkChoice<T extends string>(scope: string, key: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(`${scope}: ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)}).`);
  }
  return value as T;
}

/**
 * One section of the run config, declared by the stage that reads it, next
 * to its interface: the key, the defaults and the checks a type check cannot
 * make (choices, ranges, powers of two). `check` may read the sections it
 * depends on through `run` (e.g. encoder.vocab against lexical.buckets).
 */
export interface ConfigSection<T extends object> {
  /** The section's key in the run config, e.g. "encoder". */
  readonly name: string;
  readonly defaults: Readonly<T>;
  /** Keys whose value may be a scalar of another kind than the default's (`check` must then check them). */
  readonly anyScalar?: readonly (keyof T & string)[];
  check(value: T, need: Need, run: Readonly<Record<string, unknown>>): void;
}

/** Throws a ConfigError "<scope>: <section>.<key> must be <what> (got <got>)." unless `ok`. */
export type Need = (ok: boolean, key: string, what: string, got: unknown) => void;

/** The `need` of one section: keys are prefixed with the section's name. */
export function needIn(scope: string, section: string): Need {
  return (ok, key, what, got) => {
    if (!ok) throw new ConfigError(`${scope}: ${section}.${key} must be ${what} (got ${JSON.stringify(got)}).`);
  };
}

export const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
export const isPositiveInteger = (n: number): boolean => Number.isInteger(n) && n >= 1;
export const isNonNegativeInteger = (n: number): boolean => Number.isInteger(n) && n >= 0;
