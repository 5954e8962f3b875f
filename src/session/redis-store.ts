import { Redis, type RedisOptions } from 'ioredis';
import type { Store } from './store.js';

export interface RedisStoreOptions {
  /** `redis://127.0.0.1:6379/0`, or an ioredis client you already have (it is not closed by us). */
  redis: string | Redis;
  /** Prefix of every key we write. @default 'ntlm-sso:' */
  prefix?: string;
  /** Longest wait for a connection or a command (ms): a silent Redis must not hang a request. @default 1000 */
  timeoutMs?: number;
}

/**
 * The shared store for several processes or machines (ioredis, maintained). Keys expire in Redis
 * itself (SET ... EX), so nothing grows without bound.
 */
export class RedisStore implements Store {
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #prefix: string;

  constructor(options: RedisStoreOptions) {
    const timeoutMs = options.timeoutMs ?? 1000;
    const settings: RedisOptions = {
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
    };
    this.#owned = typeof options.redis === 'string';
    this.#client = typeof options.redis === 'string' ? new Redis(options.redis, settings) : options.redis;
    // Errors surface on the commands that fail; the connection's own events only go to the log.
    if (this.#owned) this.#client.on('error', () => {});
    this.#prefix = options.prefix ?? 'ntlm-sso:';
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.#client.get(this.#prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#client.set(this.#prefix + key, value, 'EX', Math.max(1, Math.ceil(ttlSeconds)));
  }

  /** SET ... NX EX: Redis decides atomically, so two processes never both win the same key. */
  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const reply = await this.#client.set(
      this.#prefix + key,
      value,
      'EX',
      Math.max(1, Math.ceil(ttlSeconds)),
      'NX',
    );
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.#client.del(this.#prefix + key);
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#client.quit().catch(() => this.#client.disconnect());
  }
}
