import type tls from 'node:tls';
import type { Client } from 'ldapts';
import { DEFAULTS } from '../defaults.js';
import { ServiceUnavailableError } from '../errors.js';
import type { ServiceAccountOptions } from '../types.js';
import { hideUrlPasswords } from '../url-credentials.js';
import type { DirectorySearch } from './account-lookup.js';
import { searchWithClient } from './client-search.js';
import { ldapts } from './ldapts.js';

export interface ServiceAccountTimeouts {
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  /** Longest wait for a pooled connection when all are busy (ms). */
  readonly queueTimeoutMs: number;
}

/** Searches waiting for a connection, at most; beyond it, 503 at once. */
const MAX_WAITING = 1000;

interface Waiter {
  readonly resolve: (client: Client) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Every failure of the lookup account is a 503 with its code, never a plain Error (a 500). */
export function lookupUnavailable(why: string, cause?: unknown): ServiceUnavailableError {
  if (cause instanceof ServiceUnavailableError) return cause;
  const detail = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
  return new ServiceUnavailableError('ERR_NTLM_LOOKUP_UNAVAILABLE', `lookup account: ${why}${detail}`, {
    cause,
    retryAfterSeconds: 1,
  });
}

/**
 * TLS options for ldaps:// only: ldapts speaks TLS to any URL given TLS options, so an ldap://
 * lookup must get none. `servername` (when set) is the name the certificate is checked against.
 */
function tlsFor(url: string, options: tls.ConnectionOptions | undefined): tls.ConnectionOptions | undefined {
  return url.toLowerCase().startsWith('ldaps:') ? options : undefined;
}

/**
 * Directory searches as a configured service account, over a small pool of ldapts clients.
 * Used only to read attributes and resolve names when the relayed connection cannot be asked;
 * never to decide whether a logon is valid. Every wait has a deadline, and a broken connection
 * hands its place to the next search in line.
 */
export class ServiceAccountDirectory implements DirectorySearch {
  readonly #options: ServiceAccountOptions;
  readonly #urls: readonly string[];
  readonly #poolSize: number;
  readonly #idle: Client[] = [];
  #open = 0;
  readonly #waiting: Waiter[] = [];
  readonly #timeouts: ServiceAccountTimeouts;
  #closed = false;

  constructor(options: ServiceAccountOptions, timeouts: ServiceAccountTimeouts) {
    this.#options = options;
    this.#urls = typeof options.url === 'string' ? [options.url] : options.url;
    this.#poolSize = options.poolSize ?? DEFAULTS.domainController.lookupPoolSize;
    this.#timeouts = timeouts;
  }

  async #connect(): Promise<Client> {
    const failures: unknown[] = [];
    for (const url of this.#urls) {
      const client = new (ldapts().Client)({
        url,
        connectTimeout: this.#timeouts.connectTimeoutMs,
        timeout: this.#timeouts.operationTimeoutMs,
        tlsOptions: tlsFor(url, this.#options.tls),
        strictDN: false,
      });
      try {
        await client.bind(this.#options.bindDN, this.#options.password);
        return client;
      } catch (error) {
        failures.push(error);
        await client.unbind().catch(() => {});
      }
    }
    // The LDAP errors stay reachable as the cause (their result codes tell a wrong password apart).
    const cause =
      failures.length === 1
        ? failures[0]
        : new AggregateError(
            failures,
            failures.map((error) => (error as Error)?.message ?? String(error)).join('; '),
          );
    throw lookupUnavailable(`cannot connect and bind to ${hideUrlPasswords(this.#urls.join(', '))}`, cause);
  }

  /** An idle connection, a new one while fewer than poolSize are open, or a place in line. */
  async #acquire(): Promise<Client> {
    if (this.#closed) throw lookupUnavailable('closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < this.#poolSize) return this.#openCounted();
    if (this.#waiting.length >= MAX_WAITING)
      throw lookupUnavailable(`${MAX_WAITING} searches already wait for a connection`);
    return new Promise<Client>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          reject(lookupUnavailable(`no free connection within ${this.#timeouts.queueTimeoutMs} ms`));
        }, this.#timeouts.queueTimeoutMs),
      };
      this.#waiting.push(waiter);
    });
  }

  /** Opens a connection that counts against poolSize from the start (so a burst cannot overshoot). */
  async #openCounted(): Promise<Client> {
    this.#open++;
    try {
      return await this.#connect();
    } catch (error) {
      this.#open--;
      this.#wakeNext();
      throw error;
    }
  }

  #release(client: Client, healthy: boolean): void {
    if (!healthy || this.#closed) {
      this.#open--;
      client.unbind().catch(() => {});
      this.#wakeNext();
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(client);
    } else {
      this.#idle.push(client);
    }
  }

  /** A place in the pool came free with no connection to hand on: the first in line opens one. */
  #wakeNext(): void {
    if (this.#closed || this.#open >= this.#poolSize) return;
    const waiter = this.#waiting.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.#openCounted().then(waiter.resolve, waiter.reject);
  }

  async search(request: Parameters<DirectorySearch['search']>[0]): ReturnType<DirectorySearch['search']> {
    const client = await this.#acquire();
    let healthy = true;
    try {
      return await searchWithClient(client, request);
    } catch (error) {
      healthy = false;
      throw lookupUnavailable(`search of "${request.base}" failed`, error);
    } finally {
      this.#release(client, healthy);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(lookupUnavailable('closed'));
    }
    const clients = this.#idle.splice(0);
    this.#open -= clients.length;
    await Promise.all(clients.map((client) => client.unbind().catch(() => {})));
  }
}
