import type { Logger } from './types.js';

const PREFIX = '[ntlm-sso]';

/** The default: warnings and errors on stderr, one line each, fields as JSON. */
export const consoleLogger: Logger = {
  debug: (message, fields) => console.debug(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  info: (message, fields) => console.info(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  warn: (message, fields) => console.warn(PREFIX, message, fields ? JSON.stringify(fields) : ''),
  error: (message, fields) => console.error(PREFIX, message, fields ? JSON.stringify(fields) : ''),
};

/** Applies the `debug` level: below 1, info and debug lines are dropped before they are built. */
export function levelledLogger(logger: Logger, debug: number): Logger {
  if (debug >= 1) return logger;
  const silent = () => {};
  return { debug: silent, info: silent, warn: logger.warn.bind(logger), error: logger.error.bind(logger) };
}
