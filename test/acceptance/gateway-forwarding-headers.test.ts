// X-Forwarded-For/-Host/-Proto and Forwarded as the upstream sees them: a client's own are
// replaced, a trusted proxy's (--trusted-proxy, here from NTLM_SSO_TRUSTED_PROXY) are kept and
// appended to. In both modes.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { curl } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { type RunningProcess, startGateway } from '../helpers/processes.js';
import { ALICE } from '../helpers/servers.js';

const SPOOFED = {
  'X-Forwarded-For': '6.6.6.6',
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'https',
  Forwarded: 'for=6.6.6.6;proto=https',
};

/** GET `url` from `localAddress` with `headers`; the headers the echo upstream saw. */
function seenFrom(url: string, localAddress: string, headers: Record<string, string>) {
  return new Promise<http.IncomingHttpHeaders>((resolve, reject) => {
    http
      .get(url, { localAddress, headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve((JSON.parse(body) as { headers: http.IncomingHttpHeaders }).headers));
      })
      .on('error', reject);
  });
}

describe('gateway forwarding headers', () => {
  let upstream: EchoUpstream;
  let passThrough: RunningProcess;
  let header: RunningProcess;
  before(async () => {
    upstream = await startEchoUpstream();
    const env = { NTLM_SSO_TRUSTED_PROXY: '127.0.0.2', NTLM_SSO_DEBUG: '0' };
    [passThrough, header] = await Promise.all([
      startGateway(['--mode', 'pass-through', '--upstream', upstream.url], env),
      startGateway(['--upstream', upstream.url, '--users', 'demo-app/users.json'], env),
    ]);
  });
  after(async () => {
    await Promise.all([passThrough?.stop(), header?.stop()]);
    await upstream?.close();
  });

  test('an untrusted client’s X-Forwarded-* and Forwarded are replaced with what the gateway saw', async () => {
    const seen = await seenFrom(`${passThrough.url}/page`, '127.0.0.1', SPOOFED);
    const host = new URL(passThrough.url).host;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-host'], host);
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen.forwarded, `for=127.0.0.1;host="${host}";proto=http`);
  });

  test('a trusted proxy’s are kept, and the gateway appends its own hop', async () => {
    const seen = await seenFrom(`${passThrough.url}/page`, '127.0.0.2', SPOOFED);
    const host = new URL(passThrough.url).host;
    assert.equal(seen['x-forwarded-for'], '6.6.6.6, 127.0.0.2');
    assert.equal(seen['x-forwarded-host'], 'evil.example');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen.forwarded, `for=6.6.6.6;proto=https, for=127.0.0.2;host="${host}";proto=http`);
  });

  test('header mode: curl --ntlm with forged X-Forwarded-For reaches the upstream with the real address', async () => {
    const { stdout } = await curl([
      '--ntlm',
      '-u',
      `EXAMPLE\\alice:${ALICE.password}`,
      '-H',
      'X-Forwarded-For: 6.6.6.6',
      '-H',
      'X-Forwarded-Proto: https',
      `${header.url}/page`,
    ]);
    const seen = (JSON.parse(stdout) as { headers: http.IncomingHttpHeaders }).headers;
    assert.equal(seen['x-ntlm-username'], 'alice');
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
  });
});
