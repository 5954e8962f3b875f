import { createHash } from 'node:crypto';
import { ConfigurationError, ServiceUnavailableError } from '../errors.js';
import { MemoryStore, type Store } from '../store/store.js';

/**
 * The replay cache (RFC 4120 3.2.3): an authenticator is accepted once. Held in a `Store`, so
 * that with a RedisStore a token replayed to another instance is refused too. The key is the
 * client, the server, ctime/cusec and a hash of the whole encrypted authenticator (as MIT does
 * since 1.18: two distinct authenticators in the same microsecond are not a replay). An entry
 * lives as long as its authenticator could pass the clock-skew check: twice the skew.
 *
 * The in-process default is bounded (LRU): a flood of valid authenticators from real tickets
 * could push an entry out early; use a RedisStore for a hard guarantee across instances.
 */
export class ReplayCache {
  readonly #store: Store & Required<Pick<Store, 'setIfAbsent'>>;
  readonly #ttlSeconds: number;

  constructor(store: Store | undefined, maxClockSkewMs: number) {
    const chosen = store ?? new MemoryStore({ maxEntries: 100_000 });
    if (typeof chosen.setIfAbsent !== 'function') {
      throw new ConfigurationError(
        'kerberosAcceptor(): replayStore must implement setIfAbsent (an atomic set-if-absent); MemoryStore and RedisStore do',
      );
    }
    this.#store = chosen as Store & Required<Pick<Store, 'setIfAbsent'>>;
    this.#ttlSeconds = Math.ceil((2 * maxClockSkewMs) / 1000);
  }

  /** True the first time this authenticator is seen, false for a replay. */
  async firstUse(entry: {
    client: string;
    server: string;
    ctime: Date;
    cusec: number;
    authenticatorCipher: Buffer;
  }): Promise<boolean> {
    const hash = createHash('sha256')
      .update(`${entry.client}\0${entry.server}\0${entry.ctime.getTime()}\0${entry.cusec}\0`)
      .update(entry.authenticatorCipher)
      .digest('base64url');
    try {
      return await this.#store.setIfAbsent(`krb-replay:${hash}`, '1', this.#ttlSeconds);
    } catch (error) {
      // Without the cache we cannot tell a replay from a first use: refuse to decide.
      throw new ServiceUnavailableError('ERR_NTLM_STORE_UNAVAILABLE', 'Kerberos replay cache unavailable', {
        cause: error,
      });
    }
  }
}
