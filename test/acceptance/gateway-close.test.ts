// A program that embeds createGateway() ends once it has closed the gateway, even when a client
// had stopped reading an answer and then left: the wait for that client (up to sendTimeoutMs)
// ends with its connection, and holds neither the request nor the process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startUntilReady } from '../helpers/processes.js';

/** The child's line once close() has resolved (test/fixtures/gateway-close-child.ts). */
const CLOSED = 'gateway-close-child: close() resolved';

/** Runs the child in `mode`; how long it lived after close() resolved, if it ended by itself within `limitMs`. */
async function msFromCloseToExit(mode: string, limitMs: number): Promise<number> {
  const running = await startUntilReady(
    ['--import', 'tsx', 'test/fixtures/gateway-close-child.ts', mode],
    {},
    CLOSED,
    '',
  );
  const closedAt = Date.now();
  const { child } = running;
  const code =
    child.exitCode ??
    (await new Promise<number | null>((resolve) => {
      const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
      child.once('exit', (exitCode) => {
        clearTimeout(limit);
        resolve(exitCode);
      });
    }));
  assert.equal(code, 0, `the child did not end by itself in ${limitMs} ms:\n${running.output()}`);
  return Date.now() - closedAt;
}

describe('gateway: close() with a client that stopped reading, then left', () => {
  for (const mode of ['header', 'pass-through'] as const) {
    test(`${mode} mode: the process ends by itself once close() has resolved`, async (t) => {
      // sendTimeoutMs is 120 s in the child; the old wait kept the process alive until then.
      const afterClose = await msFromCloseToExit(mode, 40_000);
      t.diagnostic(`the process ended ${afterClose} ms after close()`);
      assert.ok(afterClose < 10_000, `ended ${afterClose} ms after close()`);
    });
  }
});
