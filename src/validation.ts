/**
 * The checks every public factory runs on its options at construction, so that a mistake is
 * found at start-up with a message that says what to do, never by the first user's logon.
 */
import { ConfigurationError } from './errors.js';

/** `value`, or `fallback` when unset; anything but a positive integer is a ConfigurationError of `owner`. */
export function positiveInteger(value: unknown, name: string, fallback: number, owner = 'ntlm()'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `${owner}: ${name} must be a positive integer, got ${JSON.stringify(value)}`,
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
    );
  }
  return value as T;
}
