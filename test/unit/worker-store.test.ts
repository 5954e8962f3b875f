// WorkerStore: a worker's calls to the primary's store never hang. A primary that does not
// answer fails the call at its deadline; a primary that has gone fails it at once.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { describe, it } from 'node:test';
import { STORE_REPLY } from '../../src/cluster/store-messages.js';
import { WorkerStore } from '../../src/index.js';
import { ROOT } from '../helpers/processes.js';

interface Outcome {
  value?: string;
  error?: string;
  afterMs: number;
}

/** Forks the child; `primary` sees each of its requests and may answer through `reply`. */
function runChild(
  timeoutMs: number,
  primary: (
    request: { id: number; op: string; key: string },
    reply: (message: object) => void,
    disconnect: () => void,
  ) => void,
): Promise<Outcome> {
  const child = fork('test/fixtures/worker-store-child.ts', {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, TIMEOUT_MS: String(timeoutMs) },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let printed = '';
  child.stdout!.on('data', (chunk) => (printed += chunk));
  return new Promise((resolve, reject) => {
    child.on('message', (message: { type?: string }) => {
      if (message.type === 'outcome') resolve(message as unknown as Outcome);
      else
        primary(
          message as { id: number; op: string; key: string },
          (answer) => child.send(answer),
          () => child.disconnect(),
        );
    });
    child.once('exit', () => (printed ? resolve(JSON.parse(printed) as Outcome) : undefined));
    setTimeout(() => reject(new Error('the child neither answered nor exited within 10 s')), 10_000).unref();
  });
}

describe('WorkerStore (a cluster worker, the primary over IPC)', () => {
  it('answers with what the primary says', async () => {
    const outcome = await runChild(2000, (request, reply) =>
      reply({ type: STORE_REPLY, id: request.id, result: `value of ${request.key}` }),
    );
    assert.equal(outcome.value, 'value of some-key');
  });

  it('a primary that never answers: the call fails at its deadline', async () => {
    const outcome = await runChild(300, () => {});
    assert.match(outcome.error ?? '', /did not answer within 300 ms/);
  });

  it('a primary that goes away: the call fails without waiting for the deadline', async () => {
    const outcome = await runChild(60_000, (_request, _reply, disconnect) => disconnect());
    assert.match(outcome.error ?? '', /primary has gone/);
    assert.ok(outcome.afterMs < 60_000);
  });

  it('outside a worker (no IPC channel): a ConfigurationError, and misspelt options are refused', () => {
    const send = process.send;
    process.send = undefined;
    try {
      assert.throws(() => new WorkerStore(), /no IPC channel/);
    } finally {
      process.send = send;
    }
    assert.throws(() => new WorkerStore({ timeotMs: 5 } as never), /unknown option timeotMs/);
  });
});
