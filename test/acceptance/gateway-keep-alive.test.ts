// Idle client connections live as long as the gateway's --idle-timeout says, not Node's 5 s
// keep-alive default: a pause costs no new NTLM handshake, in both modes.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createDemoApp } from '../../demo-app/app.js';
import { ntlm } from '../../src/index.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type RunningProcess, startGateway } from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
import { ALICE, testDirectory } from '../helpers/servers.js';

const USERS = 'demo-app/users.json';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('gateway keep-alive', () => {
  let echo: EchoUpstream;
  // The NTLM upstream for pass-through keeps its own connections open longer than the pause, as IIS does (120 s).
  const auth = ntlm({ verifier: testDirectory(), debug: 0 });
  const ntlmUpstream = http.createServer(createDemoApp(auth));
  ntlmUpstream.keepAliveTimeout = 30_000;
  let header: RunningProcess;
  let passThrough: RunningProcess;
  before(async () => {
    echo = await startEchoUpstream();
    await new Promise<void>((resolve) => ntlmUpstream.listen(0, '127.0.0.1', resolve));
    const ntlmUrl = `http://127.0.0.1:${(ntlmUpstream.address() as AddressInfo).port}`;
    [header, passThrough] = await Promise.all([
      startGateway(['--upstream', echo.url, '--users', USERS, '--debug', '0']),
      startGateway(['--mode', 'pass-through', '--upstream', ntlmUrl, '--debug', '0']),
    ]);
  });
  after(async () => {
    await Promise.all([header?.stop(), passThrough?.stop()]);
    await echo?.close();
    ntlmUpstream.closeAllConnections();
    await new Promise((resolve) => ntlmUpstream.close(resolve));
    await auth.close();
  });

  test('a logged-in connection idle for 6 s (past Node’s 5 s default) is kept and needs no new handshake', async (t) => {
    const clients = [new NtlmHttpClient(header.url), new NtlmHttpClient(passThrough.url)];
    try {
      const [first, firstPinned] = await Promise.all([
        clients[0]!.login('/hello', ALICE),
        clients[1]!.login('/api/whoami', ALICE),
      ]);
      assert.equal(first.status, 200, first.body);
      assert.equal(firstPinned.status, 200, firstPinned.body);
      assert.equal(first.headers['keep-alive'], 'timeout=60', 'the client is told how long');
      await sleep(6000);
      const [again, againPinned] = await Promise.all(clients.map((client) => client.request('/api/whoami')));
      t.diagnostic(
        `after 6 s idle: header mode ${again!.status} on port ${again!.localPort} (was ${first.localPort}); ` +
          `pass-through ${againPinned!.status} on port ${againPinned!.localPort} (was ${firstPinned.localPort})`,
      );
      assert.equal(again!.localPort, first.localPort, 'the same connection');
      assert.equal(again!.status, 200, 'without a new handshake');
      assert.equal(JSON.parse(again!.body).headers['x-ntlm-username'], 'alice');
      assert.equal(againPinned!.localPort, firstPinned.localPort);
      assert.equal(againPinned!.status, 200);
    } finally {
      for (const client of clients) client.close();
    }
  });

  test("header mode: a HEAD leaves the logged-on connection open; the client's own Connection: close is kept", async () => {
    // undici closes its upstream connection after a HEAD, and the upstream says so in its answer;
    // that is about the gateway's pooled connection, not the client's, which it used to close (a
    // new NTLM handshake for the next request). On one raw connection: Node's own client drops a
    // connection after a HEAD answer without Content-Length, whatever the server says.
    const connection = await RawConnection.open(header.url);
    try {
      const head = (method: string, path: string, extra: string[] = []) => [
        `${method} ${path} HTTP/1.1`,
        `Host: ${new URL(header.url).host}`,
        ...extra,
      ];
      const credentials = { user: 'alice', domain: 'EXAMPLE', password: ALICE.password };
      // logOn() throws when the first leg gets no CHALLENGE.
      const first = await connection.logOn(new URL(header.url).host, '/hello', credentials);
      assert.equal(first.status, 200);
      const answered = await connection.request(head('HEAD', '/hello'));
      assert.equal(answered.status, 200);
      assert.equal(answered.headers.connection, 'keep-alive');
      assert.equal(answered.headers['keep-alive'], 'timeout=60');
      const next = await connection.request(head('GET', '/api/whoami'));
      assert.equal(next.status, 200, 'the same connection, still logged on');
      assert.equal(JSON.parse(next.body).headers['x-ntlm-username'], 'alice');
      const last = await connection.request(head('GET', '/api/whoami', ['Connection: close']));
      assert.equal(last.status, 200);
      assert.equal(last.headers.connection, 'close', 'the client asked to close');
      await eventually(
        () => connection.socket.destroyed || connection.socket.readableEnded,
        'the connection closed',
      );
    } finally {
      connection.close();
    }
  });

  // (2 s: a Node client drops at once a connection announced as kept for 1 s.)
  test('--idle-timeout 2s: the gateway closes the idle connection after 2 s', async () => {
    const gateway = await startGateway(['--upstream', echo.url, '--users', USERS, '--idle-timeout', '2s']);
    const client = new NtlmHttpClient(gateway.url);
    try {
      const reply = await client.login('/hello', ALICE);
      assert.equal(reply.headers['keep-alive'], 'timeout=2');
      await sleep(50); // (the agent takes the socket back after the response's end)
      const socket = Object.values(client.agent.freeSockets).flat()[0]!;
      const idleSince = Date.now();
      await eventually(() => socket.destroyed, 'the idle connection closed', 4000);
      assert.ok(Date.now() - idleSince >= 1900, `closed after ${Date.now() - idleSince} ms`);
    } finally {
      client.close();
      await gateway.stop();
    }
  });
});
