import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from '../types.js';

/**
 * Whether the app logs: `Fastify({ logger })` or `loggerInstance`. Without one, Fastify's
 * `app.log` is a null logger whose `child()` is itself; a real one makes a new child.
 */
export function appLogs(app: FastifyInstance): boolean {
  return app.log.child({}) !== app.log;
}

/**
 * A request's `request.log` (pino's interface: fields first, with the request's reqId bound) as
 * ntlm-sso's Logger. One small object per request, made only when the app logs; debug lines go
 * through only at `debug` 1 or more, as with any logger given to ntlm().
 */
export class RequestLogger implements Logger {
  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly debugLines: boolean,
  ) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    if (this.debugLines) this.log.debug(fields ?? {}, message);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log.info(fields ?? {}, message);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log.warn(fields ?? {}, message);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log.error(fields ?? {}, message);
  }
}
