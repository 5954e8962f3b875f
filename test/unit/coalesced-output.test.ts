// The gateway's stdout log: routine lines written together (one write system call per batch, not
// per request), warnings at once, whole lines per write, and nothing lost at exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { coalescing } from '../../src/gateway/coalesced-output.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function recorder() {
  const writes: string[] = [];
  return { writes, write: (chunk: Uint8Array) => writes.push(Buffer.from(chunk).toString()) };
}

const routine = (line: string) => line.startsWith('info');

describe('coalescing', () => {
  it('after two writes in a window, routine lines wait for one write; a warning takes them along at once', async () => {
    let clock = 1000;
    const out = recorder();
    const log = coalescing(out, routine, { windowMs: 50, now: () => clock });
    log.write('info a\n');
    assert.deepEqual(out.writes, [], 'not before the end of the turn');
    await nextTurn();
    assert.deepEqual(out.writes, ['info a\n'], 'at rest: at the end of its turn');
    log.write('info b\n');
    await nextTurn();
    assert.deepEqual(out.writes, ['info a\n', 'info b\n'], "a logon's next line too");
    // The clock stands still: every later turn is within the window.
    for (const name of ['c', 'd', 'e']) {
      log.write(`info ${name}\n`);
      await nextTurn();
    }
    assert.equal(out.writes.length, 2, 'three turns, no write');
    log.write('warn f\n');
    assert.deepEqual(out.writes.slice(2), ['info c\ninfo d\ninfo e\nwarn f\n'], 'in order, one write');
    clock += 50;
    log.write('info g\n');
    await nextTurn();
    assert.equal(out.writes.at(-1), 'info g\n', 'a new window: at the end of the turn again');
  });

  it('a batch is written in chunks of whole lines that a pipe takes whole (4096 bytes)', () => {
    const out = recorder();
    const log = coalescing(out, routine, { windowMs: 60_000, now: () => 0 });
    const lines = Array.from({ length: 200 }, (_, i) => `info ${'é'.repeat(i % 90)} ${i}\n`);
    for (const line of lines) log.write(line);
    const long = `warn ${'x'.repeat(5000)}\n`;
    log.write(long);
    assert.equal(out.writes.join(''), lines.join('') + long);
    assert.ok(out.writes.length > 2, `${out.writes.length} writes`);
    for (const chunk of out.writes) {
      assert.ok(chunk.endsWith('\n'), 'ends with a whole line');
      if (chunk !== long) assert.ok(Buffer.byteLength(chunk) <= 4096, `${Buffer.byteLength(chunk)} bytes`);
    }
  });

  it("the gateway logger's lines still pending at process.exit() are written (SIGTERM ends that way)", () => {
    const script = `
      const { gatewayLogger } = await import('./src/gateway/gateway-logger.ts');
      const logger = gatewayLogger('json', 0);
      logger.info('first', {});
      await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 50; i++) logger.info('request', { i });
      process.exit(0);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    const lines = child.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; i?: number });
    assert.equal(lines.length, 51, child.stdout);
    assert.deepEqual(
      lines.slice(1).map((line) => line.i),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });
});
