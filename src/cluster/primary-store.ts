import type { Worker } from 'node:cluster';
import type { Store } from '../store/store.js';
import { isStoreRequest, STORE_REPLY, type StoreReply, type StoreRequest } from './store-messages.js';

/**
 * The primary's side of the workers' shared store: each request a worker sends is run on one
 * store held here (a MemoryStore), so that a Kerberos authenticator admitted by one worker is a
 * replay to every other, and a logout in one is seen by all. The store's own operations are
 * atomic in this single process (setIfAbsent included), so workers never both win a key.
 * Call it once per forked worker; in the worker, `new WorkerStore()` is its side.
 */
export function serveWorkerStore(worker: Worker, store: Store): void {
  worker.on('message', (message: unknown) => {
    if (!isStoreRequest(message)) return;
    run(store, message).then(
      (result) => reply(worker, { type: STORE_REPLY, id: message.id, result }),
      (error: unknown) =>
        reply(worker, {
          type: STORE_REPLY,
          id: message.id,
          error: (error as Error).message ?? String(error),
        }),
    );
  });
}

async function run(store: Store, request: StoreRequest): Promise<StoreReply['result']> {
  const ttl = request.ttlSeconds ?? 1;
  switch (request.op) {
    case 'get':
      return (await store.get(request.key)) ?? null;
    case 'set':
      await store.set(request.key, request.value ?? '', ttl);
      return null;
    case 'delete':
      await store.delete(request.key);
      return null;
    case 'setIfAbsent':
      return store.setIfAbsent!(request.key, request.value ?? '', ttl);
  }
}

function reply(worker: Worker, message: StoreReply): void {
  // A worker that has gone cannot be answered; its caller already has its own timeout.
  if (worker.isConnected()) worker.send(message, (error: Error | null) => void error);
}
