import { DEFAULTS } from '../defaults.js';
import { ConfigurationError } from '../errors.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { Store } from '../store/store.js';
import type { WorkerStoreOptions } from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
import { isStoreReply, STORE_REQUEST, type StoreOperation, type StoreReply } from './store-messages.js';

interface Pending {
  readonly resolve: (reply: StoreReply) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * A worker's view of the store the primary holds (primary-store.ts), over node:cluster's IPC
 * channel. Every call has a deadline: a primary that is busy or gone makes the call fail (a
 * logon gets 503, a logout is offered again later), never hang. Used by `--workers` without
 * `--redis`; with `--redis` every worker talks to Redis itself.
 */
export class WorkerStore implements Store {
  readonly #pending = new Map<number, Pending>();
  readonly #timeoutMs: number;
  #nextId = 1;

  constructor(options: WorkerStoreOptions = {}) {
    knownKeysOnly(options, OPTION_KEYS.workerStore, 'WorkerStore');
    if (typeof process.send !== 'function')
      throw new ConfigurationError(
        'WorkerStore: this process has no IPC channel; create it in a node:cluster worker whose primary calls serveWorkerStore()',
      );
    this.#timeoutMs = positiveInteger(
      options.timeoutMs,
      'timeoutMs',
      DEFAULTS.workerStore.timeoutMs,
      'WorkerStore',
    );
    process.on('message', (message: unknown) => {
      if (!isStoreReply(message)) return;
      const pending = this.#pending.get(message.id);
      if (!pending) return;
      this.#pending.delete(message.id);
      clearTimeout(pending.timer);
      pending.resolve(message);
    });
    process.on('disconnect', () => this.#failAll('the primary has gone'));
  }

  async get(key: string): Promise<string | undefined> {
    const { result } = await this.#call('get', key);
    return typeof result === 'string' ? result : undefined;
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.#call('set', key, value, ttlSeconds);
  }

  async delete(key: string): Promise<void> {
    await this.#call('delete', key);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean> {
    const { result } = await this.#call('setIfAbsent', key, value, ttlSeconds);
    return result === true;
  }

  async close(): Promise<void> {
    this.#failAll('the store is closed');
  }

  #call(op: StoreOperation, key: string, value?: string, ttlSeconds?: number): Promise<StoreReply> {
    if (!process.connected) return Promise.reject(new Error('the primary has gone'));
    const id = this.#nextId++;
    return new Promise<StoreReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the primary's store did not answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      // Unref'd: a pending call must not keep a worker that is shutting down alive.
      timer.unref();
      this.#pending.set(id, {
        resolve: (reply) => (reply.error === undefined ? resolve(reply) : reject(new Error(reply.error))),
        reject,
        timer,
      });
      process.send!({ type: STORE_REQUEST, id, op, key, value, ttlSeconds }, undefined, {}, (error) => {
        if (!error) return;
        const pending = this.#pending.get(id);
        this.#pending.delete(id);
        if (pending) {
          clearTimeout(pending.timer);
          pending.reject(error);
        }
      });
    });
  }

  #failAll(reason: string): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
    }
  }
}
