import type { Redis, RedisOptions } from 'ioredis';
import { DEFAULTS } from '../defaults.js';
import { lazyRequire } from '../lazy-require.js';

const ioredis = lazyRequire<typeof import('ioredis')>('ioredis');

import { ConfigurationError } from '../errors.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { RedisStoreOptions } from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
import type { Store } from './store.js';

/**
 * The shared store for several processes or machines (ioredis, maintained). Keys expire in Redis
 * itself (SET ... EX), so nothing grows without bound.
 */
export class RedisStore implements Store {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #pauseMs: number;
  /** Until when commands fail at once: Redis is down or silent, and each wait would add a timeout. */
  #unavailableUntil = 0;
  #everReady = false;

  constructor(options: RedisStoreOptions) {
    knownKeysOnly(options, OPTION_KEYS.redisStore, 'RedisStore');
    if (typeof options?.redis !== 'string' && typeof options?.redis?.get !== 'function') {
      throw new ConfigurationError(
        'RedisStore: redis must be a URL (redis://127.0.0.1:6379/0) or an ioredis client',
      );
    }
    const timeoutMs = positiveInteger(
      options.timeoutMs,
      'timeoutMs',
      DEFAULTS.redisStore.timeoutMs,
      'RedisStore',
    );
    const settings: RedisOptions = {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
    };
    this.#owned = typeof options.redis === 'string';
    this.#client =
      typeof options.redis === 'string' ? new (ioredis().Redis)(options.redis, settings) : options.redis;
    // Errors surface on the commands that fail; the connection's own events only go to the log.
    if (this.#owned) this.#client.on('error', () => {});
    this.#prefix = options.prefix ?? DEFAULTS.redisStore.prefix;
    this.#pauseMs = positiveInteger(
      options.unavailablePauseMs,
      'unavailablePauseMs',
      DEFAULTS.redisStore.unavailablePauseMs,
      'RedisStore',
    );
    this.#client.on('ready', () => {
      this.#everReady = true;
      this.#unavailableUntil = 0;
    });
  }

  /**
   * Runs a command, or fails at once while Redis is known to be away: disconnected after having
   * been up, or silent on a recent command. A logon that reads around the store (the directory
   * cache) then costs nothing extra, instead of a timeout per command.
   */
  async #command<T>(run: () => Promise<T>): Promise<T> {
    const reconnecting = this.#everReady && this.#client.status !== 'ready';
    if (reconnecting || Date.now() < this.#unavailableUntil) {
      throw new Error(`Redis is unavailable (${this.#client.status}); not waiting for it`);
    }
    try {
      return await run();
    } catch (error) {
      this.#unavailableUntil = Date.now() + this.#pauseMs;
      throw error;
    }
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#command(() => this.#client.get(this.#prefix + key))) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#command(() =>
      this.#client.set(this.#prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds))),
    );
  }

  /** SET ... NX EX: Redis decides atomically, so two processes never both win the same key. */
  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const reply = await this.#command(() =>
      this.#client.set(this.#prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'),
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#command(() => this.#client.del(this.#prefix + key));
  }

  /** Readiness: PING, failing at once while Redis is known to be away (see #command). */
  async ping(): Promise<void> {
    await this.#command(() => this.#client.ping());
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }
}
