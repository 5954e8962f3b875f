import type tls from 'node:tls';
import { Client } from 'ldapts';
import type { DirectorySearch } from './account-lookup.js';
import type { SearchEntry } from './ldap-messages.js';

export interface ServiceAccountOptions {
  /** `ldaps://dc1.example.test` (recommended) or `ldap://...`; the first that answers is used. */
  readonly url: string | readonly string[];
  /** Bind DN or UPN of a read-only account, e.g. `svc-ntlm@example.test`. */
  readonly bindDN: string;
  readonly password: string;
  /** Connections kept open for lookups. @default 2 */
  readonly poolSize?: number;
  readonly tls?: tls.ConnectionOptions;
}

const BINARY_ATTRIBUTES = ['objectSid', 'tokenGroups'];

/**
 * Directory searches as a configured service account, over a small pool of ldapts clients.
 * Used only to read attributes and resolve names when the relayed connection cannot be asked;
 * never to decide whether a logon is valid.
 */
export class ServiceAccountDirectory implements DirectorySearch {
  readonly #options: ServiceAccountOptions;
  readonly #urls: readonly string[];
  readonly #idle: Client[] = [];
  #open = 0;
  readonly #waiting: Array<(client: Client) => void> = [];
  readonly #timeouts: { connectTimeout: number; timeout: number };

  constructor(
    options: ServiceAccountOptions,
    timeouts: { connectTimeoutMs: number; operationTimeoutMs: number },
  ) {
    this.#options = options;
    this.#urls = typeof options.url === 'string' ? [options.url] : options.url;
    this.#timeouts = { connectTimeout: timeouts.connectTimeoutMs, timeout: timeouts.operationTimeoutMs };
  }

  async #connect(): Promise<Client> {
    let lastError: unknown;
    for (const url of this.#urls) {
      const client = new Client({ url, ...this.#timeouts, tlsOptions: this.#options.tls, strictDN: false });
      try {
        await client.bind(this.#options.bindDN, this.#options.password);
        return client;
      } catch (error) {
        lastError = error;
        await client.unbind().catch(() => {});
      }
    }
    throw lastError;
  }

  async #acquire(): Promise<Client> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < (this.#options.poolSize ?? 2)) {
      this.#open++;
      try {
        return await this.#connect();
      } catch (error) {
        this.#open--;
        throw error;
      }
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(client: Client, healthy: boolean): void {
    if (!healthy) {
      this.#open--;
      client.unbind().catch(() => {});
      return;
    }
    const waiter = this.#waiting.shift();
    if (waiter) waiter(client);
    else this.#idle.push(client);
  }

  async search(request: Parameters<DirectorySearch['search']>[0]): ReturnType<DirectorySearch['search']> {
    const client = await this.#acquire();
    let healthy = true;
    try {
      const scope = request.scope === 0 ? 'base' : 'sub';
      const { searchEntries } = await client.search(request.base, {
        scope,
        filter: request.filter,
        attributes: [...request.attributes],
        explicitBufferAttributes: BINARY_ATTRIBUTES,
      });
      const entries: SearchEntry[] = searchEntries.map((entry) => {
        const attributes = new Map<string, Buffer[]>();
        for (const [name, value] of Object.entries(entry)) {
          if (name === 'dn') continue;
          const values = Array.isArray(value) ? value : [value];
          attributes.set(
            name.toLowerCase(),
            values.map((v) => (Buffer.isBuffer(v) ? v : Buffer.from(String(v), 'utf8'))),
          );
        }
        return { dn: entry.dn, attributes };
      });
      return { result: { resultCode: 0, matchedDN: '', diagnosticMessage: '' }, entries };
    } catch (error) {
      healthy = false;
      throw error;
    } finally {
      this.#release(client, healthy);
    }
  }

  async close(): Promise<void> {
    const clients = this.#idle.splice(0);
    this.#open -= clients.length;
    await Promise.all(clients.map((client) => client.unbind().catch(() => {})));
  }
}
