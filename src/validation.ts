/**
 * The checks every public factory runs on its options at construction, so that a mistake is
 * found at start-up with a message that says what to do, never by the first user's logon.
 */
import { ConfigurationError } from './errors.js';

/** `ntlm().maxConnections` from the owner and a name that may carry a hint (`x (ms, e.g. 2000)`). */
function optionName(owner: string, name: string): string {
  return `${owner}.${name.split(' ')[0]}`;
}

/** `value`, or `fallback` when unset; anything but a positive integer is a ConfigurationError of `owner`. */
export function positiveInteger(value: unknown, name: string, fallback: number, owner = 'ntlm()'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `${owner}: ${name} must be a positive integer, got ${JSON.stringify(value)}`,
      {
        code: 'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
        option: optionName(owner, name),
      },
    );
  }
  return value;
}

/**
 * `value`, or `fallback` when unset; anything but a boolean is a ConfigurationError of `owner`: a
 * string such as "false" from a config file would otherwise count as true.
 */
export function booleanOption(value: unknown, name: string, fallback: boolean, owner = 'ntlm()'): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new ConfigurationError(`${owner}: ${name} must be true or false, got ${JSON.stringify(value)}`, {
      option: optionName(owner, name),
    });
  return value;
}

/** `value`, or `fallback` when unset; anything not `allowed` is a ConfigurationError of `owner`. */
export function oneOf<T extends string>(
  value: unknown,
  name: string,
  allowed: readonly T[],
  fallback: T,
  owner = 'ntlm()',
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new ConfigurationError(
      `${owner}: ${name} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`,
      { code: 'ERR_NTLM_CONFIG_NOT_ONE_OF', option: optionName(owner, name) },
    );
  }
  return value as T;
}

/**
 * Edit distance from `typed` to the closest part of `known` (optimal string alignment: one
 * insertion, deletion, substitution or swap of neighbours costs 1; case is ignored). A key typed
 * short (`expiresIn`, `timeout`) thus lies at 0 from the option it abbreviates
 * (`expiresInSeconds`, `connectTimeoutMs`), where the distance between whole words would favour
 * any short unrelated key.
 */
function distanceToPart(typed: string, known: string): number {
  const a = typed.toLowerCase();
  const b = known.toLowerCase();
  // rows[i][j]: cost of matching a[0..i) ending at b[j); starting anywhere in b is free.
  const rows: number[][] = [Array.from({ length: b.length + 1 }, () => 0)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let cost = Math.min(
        rows[i - 1]![j]! + 1,
        row[j - 1]! + 1,
        rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        cost = Math.min(cost, rows[i - 2]![j - 2]! + 1);
      row.push(cost);
    }
    rows.push(row);
  }
  return Math.min(...rows[a.length]!);
}

/** The known key nearest to `typed`: closest to a part of it, then shortest (the least left to add). */
export function nearestKey(typed: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = distanceToPart(typed, key);
    if (!best || distance < best.distance || (distance === best.distance && key.length < best.key.length))
      best = { key, distance };
  }
  return best?.key;
}

/**
 * Refuses keys that `known` does not list: a misspelt option (`debgu`, `timeout`) would
 * otherwise be ignored without a word, and its default used instead. `path` prefixes the key
 * inside nested options (`bearer.`).
 */
export function knownKeysOnly(options: unknown, known: readonly string[], owner: string, path = ''): void {
  if (options === null || typeof options !== 'object') return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const nearest = nearestKey(key, known);
    throw new ConfigurationError(
      `${owner}: unknown option ${path}${key}${nearest ? `; did you mean ${path}${nearest}?` : ''}`,
      { code: 'ERR_NTLM_CONFIG_UNKNOWN_OPTION', option: `${owner}.${path}${key}` },
    );
  }
}
