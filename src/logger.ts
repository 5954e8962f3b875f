import { ConfigurationError } from './errors.js';
import type { Logger } from './types.js';

const PREFIX = '[ntlm-sso]';

/** The default: info on stdout, warnings and errors on stderr, one line each, fields as JSON. */
export const consoleLogger: Logger = {
  debug: (message, fields) => console.debug(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  info: (message, fields) => console.info(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  warn: (message, fields) => console.warn(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  error: (message, fields) => console.error(PREFIX, message, fields ? JSON.stringify(fields) : ''),
};

type Level = keyof Logger;
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error'];

/** A logger whose methods take the fields first: pino's and bunyan's `log.info(fields, message)`. */
function takesFieldsFirst(logger: object): boolean {
  const candidate = logger as { child?: unknown; bindings?: unknown; fields?: unknown };
  return (
    typeof candidate.child === 'function' &&
    (typeof candidate.bindings === 'function' ||
      (typeof candidate.fields === 'object' && candidate.fields !== null))
  );
}

/**
 * The logger users pass, as they have it: `console`, a winston logger (`message, meta`) or a
 * `{ debug, info, warn, error }` of their own are called as they are; pino and bunyan take the
 * fields first, so they are called that way, and keep every field. Methods are bound, so that a
 * logger whose methods use `this` (pino's do) works when handed over as an object.
 */
export function adaptLogger(logger: Logger): Logger {
  const fieldsFirst = takesFieldsFirst(logger);
  const adapted = {} as Record<Level, Logger[Level]>;
  for (const level of LEVELS) {
    const method = (logger as unknown as Record<Level, (...args: unknown[]) => void>)[level];
    if (typeof method !== 'function') {
      throw new ConfigurationError(
        `ntlm(): logger.${level} must be a function (console, pino and winston loggers fit)`,
      );
    }
    adapted[level] = fieldsFirst
      ? (message, fields) => method.call(logger, fields ?? {}, message)
      : (message, fields) => (fields ? method.call(logger, message, fields) : method.call(logger, message));
  }
  return adapted;
}

/**
 * Applies the `debug` level: below 1, debug lines are dropped before they are built; info and
 * above always go through (a logon accepted is an audit line, not a debug one). A logger of the
 * user's own (pino, winston) filters further by its own level.
 */
export function levelledLogger(logger: Logger, debug: number): Logger {
  if (debug >= 1) return logger;
  return { ...logger, debug: () => {} };
}
