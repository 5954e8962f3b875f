// The gateway's pino logger: JSON lines with ISO timestamps off a terminal, one readable line on
// one, debug lines only with --debug 1 or more.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayLogger, prettyLine } from '../../src/gateway/gateway-logger.js';

function output(isTTY: boolean) {
  const written: string[] = [];
  return { written, isTTY, write: (text: string) => written.push(text) };
}

describe('gatewayLogger', () => {
  it('auto off a terminal: one JSON object per line, level names, ISO time, every field', () => {
    const out = output(false);
    const logger = gatewayLogger('auto', 0, out);
    logger.info('request', { method: 'GET', status: 200, user: 'alice' });
    logger.debug('challenge sent', {});
    assert.equal(out.written.length, 1, 'no debug line at --debug 0');
    const line = JSON.parse(out.written[0]!);
    assert.equal(line.level, 'info');
    assert.equal(line.msg, 'request');
    assert.equal(line.status, 200);
    assert.equal(line.user, 'alice');
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('auto on a terminal: readable lines; --debug 1 adds debug lines', () => {
    const out = output(true);
    const logger = gatewayLogger('auto', 1, out);
    logger.warn('logon refused', { code: 'ERR_NTLM_LOGON_FAILED', reason: 'wrong password' });
    logger.debug('challenge sent', { remote: '127.0.0.1' });
    assert.equal(out.written.length, 2);
    assert.match(
      out.written[0]!,
      /^\d{4}-\d\d-\d\dT\S+Z WARN {2}logon refused code=ERR_NTLM_LOGON_FAILED reason="wrong password"\n$/,
    );
    assert.match(out.written[1]!, / DEBUG challenge sent remote=127\.0\.0\.1\n$/);
  });

  it('json and pretty override the terminal test', () => {
    const tty = output(true);
    gatewayLogger('json', 0, tty).info('x', {});
    assert.equal(JSON.parse(tty.written[0]!).msg, 'x');
    const pipe = output(false);
    gatewayLogger('pretty', 0, pipe).info('x', {});
    assert.match(pipe.written[0]!, / INFO {2}x\n$/);
  });

  it('prettyLine leaves what is not JSON as it is', () => {
    assert.equal(prettyLine('not json\n'), 'not json\n');
  });
});
