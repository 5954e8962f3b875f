// A program that embeds createGateway() ends once it has closed the gateway, even when a client
// had stopped reading an answer and then left: the wait for that client (up to sendTimeoutMs)
// ends with its connection, and holds neither the request nor the process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/processes.js';

/** Runs the child in `mode`; resolves with how long it lived after printing "closed" (or throws). */
function runChild(mode: string, limitMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/gateway-close-child.ts', mode], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let closedAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (closedAt === undefined && output.includes('closed')) closedAt = Date.now();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      if (code !== 0 || closedAt === undefined)
        return reject(
          new Error(`the child ended with ${signal ?? code} (closed: ${closedAt !== undefined}):\n${output}`),
        );
      resolve(Date.now() - closedAt);
    });
  });
}

describe('gateway: close() with a client that stopped reading, then left', () => {
  for (const mode of ['header', 'pass-through'] as const) {
    test(`${mode} mode: the process ends by itself once close() has resolved`, async (t) => {
      // sendTimeoutMs is 120 s in the child; the old wait kept the process alive until then.
      const afterClose = await runChild(mode, 40_000);
      t.diagnostic(`the process ended ${afterClose} ms after close()`);
      assert.ok(afterClose < 10_000, `ended ${afterClose} ms after close()`);
    });
  }
});
