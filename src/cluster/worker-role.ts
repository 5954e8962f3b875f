import cluster from 'node:cluster';
import type { Store } from '../store/store.js';
import { WorkerStore } from './worker-store.js';

/** Set by the primary in each worker it forks: `index/count`, e.g. `2/4`. */
export const WORKER_VARIABLE = 'NTLM_SSO_CLUSTER_WORKER';
export const WORKER_READY = 'ntlm-sso:worker-ready';
export const WORKER_SHUTDOWN = 'ntlm-sso:worker-shutdown';

export interface WorkerRole {
  /** 1 to count. */
  readonly index: number;
  readonly count: number;
}

/** This process's place in a `--workers` cluster, or undefined when it runs alone. */
export function workerRole(env: NodeJS.ProcessEnv = process.env): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const match = /^(\d+)\/(\d+)$/.exec(env[WORKER_VARIABLE] ?? '');
  return match ? { index: Number(match[1]), count: Number(match[2]) } : undefined;
}

let shared: WorkerStore | undefined;

/**
 * The store a worker shares with the others when no Redis is given: the primary's, over IPC.
 * One per process. Undefined outside a cluster (a lone gateway keeps everything in process).
 */
export function workerSharedStore(): Store | undefined {
  if (!workerRole()) return undefined;
  shared ??= new WorkerStore();
  return shared;
}

/** Tells the primary this worker listens. */
export function announceReady(): void {
  process.send?.({ type: WORKER_READY });
}

/** Calls `stop` when the primary asks this worker to shut down, or has gone. */
export function onShutdownRequest(stop: (reason: string) => void): void {
  process.on('message', (message: unknown) => {
    if ((message as { type?: unknown } | null)?.type === WORKER_SHUTDOWN) stop('shutdown from the primary');
  });
  process.on('disconnect', () => stop('the primary has gone'));
}
