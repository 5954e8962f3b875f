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
