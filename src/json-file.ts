import { readFileSync } from 'node:fs';
import { ConfigurationError } from './errors.js';

/** A JSON file that must hold one object (a users file, the gateway's --config); `what` names it in errors. */
export function readJsonObject(path: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new ConfigurationError(`${what}: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ConfigurationError(`${what}: ${path} is not a JSON object`);
  return parsed as Record<string, unknown>;
}
