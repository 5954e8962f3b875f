// The gateway CLI in header mode (dist/cli.js, as `npx ntlm-sso gateway` runs it) in front of an
// echo upstream: what the upstream sees, for real NTLM clients, Bearer tokens and WebSockets.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { withChromiumPage } from '../helpers/chromium.js';
import { curl, curlBearerToken, curlNtlm } from '../helpers/curl.js';
import { type EchoUpstream, type SeenRequest, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { type RunningProcess, startGateway } from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
import { ALICE } from '../helpers/servers.js';

const CLIENTS = 500;
const PASSWORD = 'Crowd-Passw0rd!';
const userName = (i: number) => `user${String(i).padStart(3, '0')}`;

/** demo-app/users.json plus 500 users of our own, each with a group named after them. */
function writeUsersFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-gateway-'));
  const users = [
    { username: 'alice', password: ALICE.password, groups: ['Engineering', 'R&D, Paris'] },
    ...Array.from({ length: CLIENTS }, (_, i) => ({
      username: userName(i),
      password: PASSWORD,
      groups: [`team-${i}`],
    })),
  ];
  const path = join(dir, 'users.json');
  writeFileSync(path, JSON.stringify({ domain: 'EXAMPLE', dnsDomain: 'example.test', users }));
  return path;
}

function upstreamView(body: string): SeenRequest {
  return JSON.parse(body) as SeenRequest;
}

describe('gateway, header mode', () => {
  let upstream: EchoUpstream;
  let gateway: RunningProcess;

  before(async () => {
    upstream = await startEchoUpstream();
    gateway = await startGateway(
      ['--upstream', upstream.url, '--users', writeUsersFile(), '--forward-groups', '--forward-token'],
      { NTLM_SSO_DEBUG: '0' },
    );
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  test('curl --ntlm: the upstream sees the verified user, never the client-supplied X-Ntlm-* headers', async () => {
    const before = upstream.seen.length;
    const { stdout } = await curl([
      '--ntlm',
      '-u',
      `EXAMPLE\\alice:${ALICE.password}`,
      '-H',
      'X-Ntlm-Username: mallory',
      '-H',
      'X-NTLM-Domain: EVIL',
      '-H',
      'X-Ntlm-Groups: Domain Admins',
      '-H',
      'Connection: keep-alive, X-Ntlm-Username, X-Ntlm-Domain',
      `${gateway.url}/hello`,
    ]);
    const seen = upstreamView(stdout);
    assert.equal(seen.headers['x-ntlm-username'], 'alice');
    assert.equal(seen.headers['x-ntlm-domain'], 'EXAMPLE');
    // Group names are percent-encoded where they hold ',' '%' or non-ASCII.
    assert.equal(seen.headers['x-ntlm-groups'], 'Engineering,R&D%2C Paris');
    assert.match(String(seen.headers['x-ntlm-token']), /^eyJ/);
    assert.equal(seen.headers.authorization, undefined, 'the NTLM credentials stay at the gateway');
    assert.doesNotMatch(String(seen.headers.connection), /x-ntlm/i, 'our headers cannot be made hop-by-hop');
    // Only the completing leg reached the upstream, and nothing it saw came from the client's headers.
    const reached = upstream.seen.slice(before);
    assert.equal(reached.length, 1);
    for (const request of reached) {
      assert.doesNotMatch(JSON.stringify(request.headers), /mallory|EVIL|Domain Admins/);
    }
  });

  test('without credentials: 401 with a fresh challenge, and the upstream is not asked', async () => {
    const before = upstream.seen.length;
    const { stdout, stderr } = await curl([
      '-H',
      'X-Ntlm-Username: alice',
      '-w',
      '%{http_code}',
      '-o',
      '/dev/null',
      `${gateway.url}/`,
    ]);
    assert.equal(stdout, '401');
    assert.match(stderr, /< WWW-Authenticate: NTLM/i);
    assert.equal(upstream.seen.length, before);
  });

  test('a wrong password gets 401; the upstream is not asked', async () => {
    const before = upstream.seen.length;
    const { status } = await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\alice:wrong');
    assert.equal(status, 401);
    assert.equal(upstream.seen.length, before);
  });

  test(`${CLIENTS} clients with different users at once: each one sees only itself`, async (t) => {
    // Different users on different machines: each client has its own loopback address, as the
    // gateway's per-client share of pending handshakes would otherwise (rightly) slow one address.
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) =>
        new NtlmHttpClient(gateway.url, {
          localAddress: `127.0.${1 + Math.floor(i / 200)}.${2 + (i % 200)}`,
        }),
    );
    try {
      const results = await Promise.all(
        clients.map(async (client, i) => {
          const credentials = { user: userName(i), domain: 'EXAMPLE', password: PASSWORD };
          const first = await client.login(`/who?client=${i}`, credentials);
          // The second request carries no credentials: the connection's identity carries it.
          const second = await client.request(`/again?client=${i}`);
          return { i, first, second };
        }),
      );
      const upstreamConnections = new Set<number>();
      for (const { i, first, second } of results) {
        for (const reply of [first, second]) {
          assert.equal(reply.status, 200, `client ${i}: ${reply.body}`);
          const seen = upstreamView(reply.body);
          assert.equal(
            seen.headers['x-ntlm-username'],
            userName(i),
            `client ${i} saw ${seen.headers['x-ntlm-username']}`,
          );
          assert.equal(seen.headers['x-ntlm-groups'], `team-${i}`);
          assert.match(String(seen.url), new RegExp(`client=${i}$`));
          upstreamConnections.add(seen.connection);
        }
      }
      // Upstream keep-alive connections were shared between users, and still nobody saw anyone else.
      assert.ok(upstreamConnections.size < CLIENTS * 2, `${upstreamConnections.size} upstream connections`);
      t.diagnostic(`${CLIENTS * 2} requests over ${upstreamConnections.size} upstream connections`);
    } finally {
      for (const client of clients) client.close();
    }
  });

  test('the Bearer token from the completing response works on a new connection', async () => {
    const bearer = await curlBearerToken(`${gateway.url}/`, `EXAMPLE\\alice:${ALICE.password}`);
    assert.ok(bearer);
    const { stdout } = await curl(['-H', `Authorization: ${bearer}`, `${gateway.url}/with-token`]);
    const seen = upstreamView(stdout);
    assert.equal(seen.headers['x-ntlm-username'], 'alice');
    assert.equal(seen.headers.authorization, undefined);
    const tampered = `${bearer.slice(0, -3)}${bearer.endsWith('A') ? 'B' : 'A'}xx`;
    const { stdout: status } = await curl([
      '-H',
      `Authorization: ${tampered}`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${gateway.url}/`,
    ]);
    assert.equal(status, '401');
  });

  test('POST /.ntlm-sso/logout revokes the token and forgets the connection; it never goes upstream', async () => {
    const before = upstream.seen.length;
    const bearer = await curlBearerToken(`${gateway.url}/`, `EXAMPLE\\alice:${ALICE.password}`);
    assert.ok(bearer);
    const status = async (args: string[]) =>
      (await curl(['-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
    assert.equal(await status([`${gateway.url}/.ntlm-sso/logout`]), '405');
    assert.equal(await status(['-X', 'POST', `${gateway.url}/.ntlm-sso/logout`]), '401', 'nobody to log out');
    const { stdout } = await curl([
      '-X',
      'POST',
      '-H',
      `Authorization: ${bearer}`,
      `${gateway.url}/.ntlm-sso/logout`,
    ]);
    assert.deepEqual(JSON.parse(stdout), { loggedOut: 'alice' });
    assert.equal(await status(['-H', `Authorization: ${bearer}`, `${gateway.url}/`]), '401');

    const client = new NtlmHttpClient(gateway.url);
    try {
      assert.equal(
        (await client.login('/', { user: 'alice', domain: 'EXAMPLE', password: ALICE.password })).status,
        200,
      );
      assert.equal((await client.request('/.ntlm-sso/logout', {}, 'POST')).status, 200);
      assert.equal((await client.request('/')).status, 401, 'the connection must authenticate again');
    } finally {
      client.close();
    }
    assert.ok(!upstream.seen.slice(before).some((request) => request.url.startsWith('/.ntlm-sso/')));
  });

  test('request and response bodies are streamed, not buffered', async () => {
    const client = new NtlmHttpClient(gateway.url);
    try {
      assert.equal(
        (await client.login('/', { user: 'alice', domain: 'EXAMPLE', password: ALICE.password })).status,
        200,
      );
      const first = randomBytes(64 * 1024);
      const rest = randomBytes(4 * 1024 * 1024);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const req = http.request(`${gateway.url}/echo`, { method: 'POST', agent: client.agent }, (res) => {
          const chunks: Buffer[] = [];
          let sentRest = false;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            // The rest is sent only once the start has come back through the gateway: a gateway
            // that buffered either body would never answer, and the test would time out.
            if (!sentRest && Buffer.concat(chunks).length >= first.length) {
              sentRest = true;
              req.end(rest);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.flushHeaders();
        req.write(first);
      });
      const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
      assert.equal(digest(echoed), digest(Buffer.concat([first, rest])));
    } finally {
      client.close();
    }
  });

  test('hop-by-hop and Expect request headers stay at the gateway; a bodiless DELETE goes without a body', async () => {
    const client = new NtlmHttpClient(gateway.url);
    try {
      assert.equal(
        (await client.login('/', { user: 'alice', domain: 'EXAMPLE', password: ALICE.password })).status,
        200,
      );
      // Upgrade without "Connection: upgrade" is an ordinary request to Node; undici refuses to send it.
      const hop = await client.request('/hop', {
        TE: 'trailers',
        'Keep-Alive': 'timeout=5',
        Upgrade: 'h2c',
        Connection: 'keep-alive, TE',
      });
      assert.equal(hop.status, 200);
      const hopSeen = upstreamView(hop.body).headers;
      for (const name of ['te', 'keep-alive', 'upgrade']) assert.equal(hopSeen[name], undefined, name);
      assert.notEqual(hopSeen.connection, 'keep-alive, TE');
      assert.equal(hopSeen['x-ntlm-username'], 'alice');

      // Without a body and without chunking (RFC 9112 6.3: no Content-Length, no Transfer-Encoding, no body).
      const deleted = await client.request('/gone', {}, 'DELETE');
      assert.equal(deleted.status, 200);
      const deleteSeen = upstreamView(deleted.body).headers;
      assert.equal(deleteSeen['transfer-encoding'], undefined);
      assert.ok([undefined, '0'].includes(deleteSeen['content-length']), deleteSeen['content-length']);

      const body = randomBytes(200 * 1024);
      const echoed = await new Promise<Buffer>((resolve, reject) => {
        const req = http.request(`${gateway.url}/echo`, {
          method: 'POST',
          agent: client.agent,
          headers: { Expect: '100-continue', 'Content-Length': String(body.length) },
        });
        // The body goes once the gateway said 100 Continue (Node's server says it for the gateway).
        req.on('continue', () => req.end(body));
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
      assert.equal(echoed.length, body.length);
      assert.ok(echoed.equals(body));
      assert.equal(upstream.seen.at(-1)?.headers.expect, undefined);
    } finally {
      client.close();
    }
  });

  test('WebSocket upgrade: the NTLM handshake runs on the upgrade requests, then the tunnel carries bytes', async () => {
    const connection = await RawConnection.open(gateway.url);
    try {
      const upgrade = (authorization: string) => [
        'GET /socket HTTP/1.1',
        `Host: ${new URL(gateway.url).host}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'X-Ntlm-Username: mallory',
        `Authorization: ${authorization}`,
      ];
      const negotiate = type1();
      const challenge = await connection.request(upgrade(`NTLM ${negotiate.toString('base64')}`));
      assert.equal(challenge.status, 401);
      const token = /^NTLM (\S+)$/.exec(challenge.headers['www-authenticate'] ?? '')?.[1];
      assert.ok(token, 'a CHALLENGE on the upgrade response');
      const credentials = { user: 'alice', domain: 'EXAMPLE', password: ALICE.password };
      const authenticate = await type3(negotiate, Buffer.from(token, 'base64'), credentials);
      const switched = await connection.request(upgrade(`NTLM ${authenticate.toString('base64')}`));
      assert.equal(switched.status, 101);
      assert.equal(await connection.echo('hello through the tunnel'), 'hello through the tunnel');
      const seen = upstream.seen.filter((request) => request.url === '/socket');
      assert.equal(seen.length, 1, 'only the authenticated upgrade reached the upstream');
      assert.equal(seen[0]!.headers['x-ntlm-username'], 'alice');
    } finally {
      connection.close();
    }
  });

  test('WebSocket upgrade with a Bearer token: the tunnel opens on a fresh connection', async () => {
    const bearer = await curlBearerToken(`${gateway.url}/`, `EXAMPLE\\alice:${ALICE.password}`);
    assert.ok(bearer);
    const connection = await RawConnection.open(gateway.url);
    try {
      const reply = await connection.request([
        'GET /socket-with-token HTTP/1.1',
        'Host: x',
        'Connection: Upgrade',
        'Upgrade: websocket',
        `Authorization: ${bearer}`,
      ]);
      assert.equal(reply.status, 101);
      assert.equal(await connection.echo('ping'), 'ping');
      const seen = upstream.seen.find((request) => request.url === '/socket-with-token');
      assert.equal(seen?.headers['x-ntlm-username'], 'alice');
      assert.equal(seen?.headers.authorization, undefined);
    } finally {
      connection.close();
    }
  });

  test('WebSocket upgrade without credentials: 401, nothing reaches the upstream', async () => {
    const before = upstream.seen.length;
    const connection = await RawConnection.open(gateway.url);
    try {
      const reply = await connection.request([
        'GET /socket HTTP/1.1',
        'Host: x',
        'Connection: Upgrade',
        'Upgrade: websocket',
      ]);
      assert.equal(reply.status, 401);
      assert.equal(reply.headers['www-authenticate'], 'NTLM');
      assert.equal(upstream.seen.length, before);
    } finally {
      connection.close();
    }
  });

  test('headless Chromium: the page and a WebSocket both reach the upstream as alice', async () => {
    await withChromiumPage({ username: 'EXAMPLE\\alice', password: ALICE.password }, async (page) => {
      const reply = await page.goto(`${gateway.url}/from-chromium`);
      assert.equal(reply?.status(), 200);
      assert.equal(JSON.parse(await reply!.text()).headers['x-ntlm-username'], 'alice');
      // Chromium runs the NTLM handshake on the WebSocket's own upgrade requests.
      const message = await page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url);
            socket.onmessage = (event) => resolve(String(event.data));
            socket.onerror = () => resolve('error');
          }),
        `${gateway.url.replace('http:', 'ws:')}/chromium-socket`,
      );
      assert.deepEqual(JSON.parse(message), { user: 'alice' });
    });
    // The browser is gone, and the gateway holds none of its connections, the tunnel included
    // (the upstream here never closes a WebSocket on its own).
    const openConnections = async () =>
      JSON.parse((await curl([`${gateway.url}/.ntlm-sso/health`])).stdout).connections as number;
    await eventually(async () => (await openConnections()) === 1, 'only the health check connection left');
  });

  test('the health endpoint answers without authentication', async () => {
    const { stdout } = await curl([`${gateway.url}/.ntlm-sso/health`]);
    const health = JSON.parse(stdout);
    assert.equal(health.status, 'ok');
    assert.equal(health.mode, 'header');
    assert.equal(typeof health.connections, 'number');
  });
});
