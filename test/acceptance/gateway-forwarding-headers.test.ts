// X-Forwarded-For/-Host/-Proto and Forwarded as the upstream sees them: a client's own are
// replaced, a trusted proxy's (--trusted-proxy, here from NTLM_SSO_TRUSTED_PROXY) are kept and
// appended to. And the request target: an absolute-form one goes upstream as a path, with its
// host. In both modes.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { curl } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import {
  type GatewayMode,
  type RunningProcess,
  startGateway,
  startGatewayPair,
} from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
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

describe('gateway request targets', () => {
  let upstream: EchoUpstream;
  let gateways: Record<GatewayMode, RunningProcess>;
  before(async () => {
    upstream = await startEchoUpstream();
    // An upstream under a path: a target glued to it shows.
    gateways = await startGatewayPair(`${upstream.url}/base`, ['--debug', '0']);
  });
  after(async () => {
    await Promise.all(Object.values(gateways ?? {}).map((gateway) => gateway.stop()));
    await upstream?.close();
  });

  for (const mode of ['header', 'pass-through'] as const) {
    test(`${mode} mode: an absolute-form target goes upstream as a path with its host; OPTIONS * is the gateway's`, async () => {
      const url = gateways[mode].url;
      const host = new URL(url).host;
      const connection = await RawConnection.open(url);
      try {
        if (mode === 'header') {
          const credentials = { user: 'alice', domain: 'EXAMPLE', password: ALICE.password };
          assert.equal((await connection.logOn(host, '/hello', credentials)).status, 200);
        }
        const absolute = await connection.request([
          'GET http://app.example/page?q=1 HTTP/1.1',
          `Host: ${host}`,
        ]);
        assert.equal(absolute.status, 200);
        const seen = JSON.parse(absolute.body) as { url: string; headers: http.IncomingHttpHeaders };
        assert.equal(seen.url, '/base/page?q=1');
        assert.equal(
          seen.headers.host,
          'app.example',
          "the target's host, not the Host header (RFC 9112 3.2.2)",
        );
        assert.equal(seen.headers['x-forwarded-host'], 'app.example');

        const asked = upstream.seen.length;
        const options = await connection.request(['OPTIONS * HTTP/1.1', `Host: ${host}`]);
        assert.equal(options.status, 200);
        assert.equal(upstream.seen.length, asked, 'not sent upstream');

        const unreadable = await connection.request(['GET ftp://app.example/ HTTP/1.1', `Host: ${host}`]);
        assert.equal(unreadable.status, 400);
        assert.equal(upstream.seen.length, asked);
      } finally {
        connection.close();
      }
    });
  }
});
