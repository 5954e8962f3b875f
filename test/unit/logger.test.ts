// Loggers as users have them: pino and winston passed as they are keep every field of our lines.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import winston from 'winston';
import { ntlm } from '../../src/index.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { ALICE, listen, testDirectory } from '../helpers/servers.js';

/** Logs alice in with a wrong password, then rightly, through ntlm({ logger }); returns the JSON lines written. */
async function logonLines(logger: unknown, output: PassThrough): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  output.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  const auth = ntlm({ verifier: testDirectory(), logger: logger as never, debug: 1 });
  const served = await listen(
    (req, res) => auth(req, res, () => res.end('ok')),
    () => auth.close(),
  );
  const client = new NtlmHttpClient(served.url);
  assert.equal((await client.login('/', { ...ALICE, password: 'wrong' })).status, 401);
  assert.equal((await client.login('/', ALICE)).status, 200);
  client.close();
  await served.close();
  await new Promise((resolve) => setImmediate(resolve));
  return lines.map((line) => JSON.parse(line));
}

describe('loggers passed as they are', () => {
  it('pino: logger: pino() keeps the fields', async () => {
    const output = new PassThrough();
    const lines = await logonLines(pino(output), output);
    const refused = lines.find((line) => line.msg === 'logon refused');
    assert.equal(refused?.code, 'ERR_NTLM_LOGON_FAILED');
    assert.equal(refused?.user, 'alice');
    assert.equal(refused?.level, 40, 'a warning');
    const accepted = lines.find((line) => line.msg === 'logon accepted');
    assert.equal(accepted?.user, 'alice');
    assert.equal(accepted?.domain, 'EXAMPLE');
  });

  it('winston: its message-then-meta call keeps the fields', async () => {
    const output = new PassThrough();
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: output })],
    });
    const lines = await logonLines(logger, output);
    const refused = lines.find((line) => line.message === 'logon refused');
    assert.equal(refused?.code, 'ERR_NTLM_LOGON_FAILED');
    assert.equal(refused?.level, 'warn');
    assert.equal(lines.find((line) => line.message === 'logon accepted')?.user, 'alice');
  });

  it('refuses a logger without the four methods at start-up', () => {
    assert.throws(
      () => ntlm({ verifier: testDirectory(), logger: { info() {} } as never }),
      /logger\.debug must be a function/,
    );
  });
});
