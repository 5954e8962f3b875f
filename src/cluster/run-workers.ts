import cluster, { type Worker } from 'node:cluster';
import { MemoryStore } from '../store/store.js';
import type { Logger } from '../types.js';
import { serveWorkerStore } from './primary-store.js';
import { WORKER_READY, WORKER_SHUTDOWN, WORKER_VARIABLE } from './worker-role.js';

/** How long after a worker died unexpectedly its replacement is started. */
const RESTART_DELAY_MS = 1000;

/**
 * The primary of `--workers N`: forks N copies of this command, one after the other (a bad
 * setting then fails once, in the first, and the primary exits with its code), serves them one
 * shared in-memory store (primary-store.ts), replaces a worker that dies, and on SIGTERM or
 * SIGINT asks every worker to finish its requests and exit. Resolves with the exit code.
 *
 * Connections are handed out whole by the primary (node:cluster's round-robin: the primary
 * accepts, then passes the socket), so an NTLM handshake and everything after it on one
 * connection stay in one worker.
 */
export async function runWorkers(count: number, logger: Logger): Promise<number> {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const store = new MemoryStore();
  let stopping = false;
  let started = false;
  let failed = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [WORKER_VARIABLE]: `${index}/${count}` });
    indexes.set(worker, index);
    serveWorkerStore(worker, store);
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      // The exit code says how the shutdown went (a worker that died earlier was replaced); a
      // worker stopped by our SIGTERM before it listened (during start-up) did no wrong.
      if (code !== 0 && signal !== 'SIGTERM') failed = true;
      if (liveWorkers().length === 0) finish(failed ? 1 : 0);
      return;
    }
    if (!started) return; // untilReady() reports it
    logger.error('worker died; starting another', { pid: worker.process.pid, code, signal });
    setTimeout(() => {
      if (!stopping) fork(indexes.get(worker) ?? count);
    }, RESTART_DELAY_MS).unref();
  });
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn(`${signal} again: killing the workers`);
      for (const worker of liveWorkers()) worker.process.kill('SIGKILL');
      return;
    }
    stopping = true;
    logger.info(`ntlm-sso gateway: ${signal}, every worker finishes its in-flight requests`);
    if (liveWorkers().length === 0) finish(failed ? 1 : 0);
    for (const worker of liveWorkers()) askToStop(worker);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // One after the other: a bad setting fails once, in the first, and nothing else starts.
  for (let index = 1; index <= count && !stopping; index++) {
    const code = await untilReady(fork(index));
    if (code !== undefined && !stopping) {
      stopping = true;
      await Promise.all(liveWorkers().map(stopAndWait));
      return code === 0 ? 1 : code;
    }
  }
  started = true;
  return finished;
}

function liveWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
}

/** Workers that listen, and so heed the primary's request to stop. */
const ready = new WeakSet<Worker>();

const indexes = new WeakMap<Worker, number>();

/** undefined once the worker listens; its exit code if it exits first. */
function untilReady(worker: Worker): Promise<number | undefined> {
  return new Promise((resolve) => {
    const onMessage = (message: unknown) => {
      if ((message as { type?: unknown } | null)?.type !== WORKER_READY) return;
      worker.off('exit', onExit);
      worker.off('message', onMessage);
      ready.add(worker);
      resolve(undefined);
    };
    const onExit = (code: number | null) => {
      worker.off('message', onMessage);
      resolve(code ?? 1);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
  });
}

function askToStop(worker: Worker): void {
  // Before it listens a worker has no handler for the request: SIGTERM ends it at once.
  if (ready.has(worker) && worker.isConnected())
    worker.send({ type: WORKER_SHUTDOWN }, (error: Error | null) => void error);
  else worker.process.kill('SIGTERM');
}

function stopAndWait(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    worker.once('exit', () => resolve());
    askToStop(worker);
  });
}
