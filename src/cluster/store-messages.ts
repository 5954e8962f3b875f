// The messages between a cluster's workers and the primary that holds their shared store.
// Tagged, so that a worker's other IPC traffic (node:cluster's own, an application's) is ignored.

export const STORE_REQUEST = 'ntlm-sso:store-request';
export const STORE_REPLY = 'ntlm-sso:store-reply';

export type StoreOperation = 'get' | 'set' | 'delete' | 'setIfAbsent';

export interface StoreRequest {
  readonly type: typeof STORE_REQUEST;
  readonly id: number;
  readonly op: StoreOperation;
  readonly key: string;
  readonly value?: string;
  readonly ttlSeconds?: number;
}

export interface StoreReply {
  readonly type: typeof STORE_REPLY;
  readonly id: number;
  /** get: the value (null when absent); setIfAbsent: whether this call stored it. */
  readonly result?: string | boolean | null;
  readonly error?: string;
}

const OPERATIONS: ReadonlySet<string> = new Set(['get', 'set', 'delete', 'setIfAbsent']);

export function isStoreRequest(message: unknown): message is StoreRequest {
  const m = message as Partial<StoreRequest> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === STORE_REQUEST &&
    typeof m.id === 'number' &&
    typeof m.op === 'string' &&
    OPERATIONS.has(m.op) &&
    typeof m.key === 'string'
  );
}

export function isStoreReply(message: unknown): message is StoreReply {
  const m = message as Partial<StoreReply> | null;
  return typeof m === 'object' && m !== null && m.type === STORE_REPLY && typeof m.id === 'number';
}
