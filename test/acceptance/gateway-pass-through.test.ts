// The gateway CLI in pass-through mode in front of NTLM-speaking upstreams (the demo app): the
// upstream authenticates connections, so each client connection must keep its own upstream one.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createDemoApp } from '../../demo-app/app.js';
import { ntlm } from '../../src/index.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { curl, curlNtlm } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient, type Reply } from '../helpers/http-client.js';
import { type DemoProcess, type RunningProcess, startDemo, startGateway } from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
import { ALICE, BOB, testDirectory } from '../helpers/servers.js';

const CONNECTION_HEADER = 'x-upstream-connection';

/** The demo app in this process, telling each reply which upstream connection carried it. */
class NtlmUpstream {
  readonly server: http.Server;
  readonly closedConnections = new Set<number>();
  readonly #auth = ntlm({ verifier: testDirectory(), debug: 0 });

  constructor() {
    const app = createDemoApp(this.#auth);
    this.server = http.createServer((req, res) => {
      res.setHeader(CONNECTION_HEADER, String(req.socket.remotePort));
      app(req, res);
    });
    // NTLM authenticates the upstream connection: keep it as IIS does (120 s), not Node's 5 s,
    // or a user's pin closes while a slow run (a loaded machine) is still under way.
    this.server.keepAliveTimeout = 120_000;
    this.server.on('connection', (socket: Socket) => {
      const port = socket.remotePort!;
      socket.once('close', () => this.closedConnections.add(port));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.#auth.close();
  }
}

const connectionOf = (reply: Reply) => Number(reply.headers[CONNECTION_HEADER]);
const userOf = (reply: Reply) => (JSON.parse(reply.body) as { username: string }).username;

describe('gateway, pass-through mode, in front of the demo app process', () => {
  let demo: DemoProcess;
  let gateway: RunningProcess;
  before(async () => {
    demo = await startDemo({ NTLM_DEBUG: '0' });
    gateway = await startGateway(['--mode', 'pass-through', '--upstream', demo.url]);
  });
  after(async () => {
    await gateway?.stop();
    await demo?.stop();
  });

  test('curl --ntlm logs in through the gateway; without credentials the demo answers 401', async () => {
    const { status, body } = await curlNtlm(`${gateway.url}/api/whoami`, `EXAMPLE\\alice:${ALICE.password}`);
    assert.equal(status, 200, body);
    assert.equal(JSON.parse(body).username, 'alice');
    const { stdout, stderr } = await curl([
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${gateway.url}/api/whoami`,
    ]);
    assert.equal(stdout, '401');
    assert.match(stderr, /< WWW-Authenticate: NTLM/i);
  });

  test('headless Chromium logs in to the demo through the gateway', async () => {
    await withChromiumPage({ username: 'EXAMPLE\\alice', password: ALICE.password }, async (page) => {
      const reply = await page.goto(`${gateway.url}/`);
      assert.equal(reply?.status(), 200);
      assert.equal(await page.textContent('#greeting'), 'Hello, Alice Example!');
    });
  });
});

describe('gateway, pass-through mode: connection pinning', () => {
  const upstream = new NtlmUpstream();
  let upstreamUrl: string;
  let gateway: RunningProcess;
  before(async () => {
    upstreamUrl = await upstream.start();
    gateway = await startGateway(['--mode', 'pass-through', '--upstream', upstreamUrl, '--debug', '0']);
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  test('40 clients at once, alice and bob: each sees itself, and no two share an upstream connection', async () => {
    const clients = Array.from({ length: 40 }, () => new NtlmHttpClient(gateway.url));
    try {
      const runs = await Promise.all(
        clients.map(async (client, i) => {
          const who = i % 2 === 0 ? ALICE : BOB;
          const replies = [await client.login('/api/whoami', who)];
          for (let n = 0; n < 3; n++) replies.push(await client.request('/api/whoami'));
          return { who, replies };
        }),
      );
      const owner = new Map<number, number>();
      runs.forEach(({ who, replies }, i) => {
        for (const reply of replies) {
          assert.equal(reply.status, 200, reply.body);
          assert.equal(userOf(reply), who.user);
          const connection = connectionOf(reply);
          assert.equal(owner.get(connection) ?? i, i, `upstream connection ${connection} served two clients`);
          owner.set(connection, i);
        }
        // All of one client's requests, handshake included, went over one upstream connection.
        assert.equal(new Set(replies.map(connectionOf)).size, 1);
      });
    } finally {
      for (const client of clients) client.close();
    }
  });

  test("a new client without credentials never lands on someone's authenticated upstream connection", async () => {
    const alice = new NtlmHttpClient(gateway.url);
    const strangers = Array.from({ length: 20 }, () => new NtlmHttpClient(gateway.url));
    try {
      assert.equal((await alice.login('/api/whoami', ALICE)).status, 200);
      const replies = await Promise.all([
        ...strangers.map((client) => client.request('/api/whoami')),
        ...Array.from({ length: 5 }, () => alice.request('/api/whoami')),
      ]);
      const strangerReplies = replies.slice(0, strangers.length);
      for (const reply of strangerReplies) assert.equal(reply.status, 401);
      for (const reply of replies.slice(strangers.length)) assert.equal(userOf(reply), 'alice');
    } finally {
      alice.close();
      for (const client of strangers) client.close();
    }
  });

  test('the upstream connection is closed when its client leaves', async () => {
    const client = new NtlmHttpClient(gateway.url);
    const reply = await client.login('/api/whoami', ALICE);
    const connection = connectionOf(reply);
    assert.ok(!upstream.closedConnections.has(connection));
    client.close();
    await eventually(
      () => upstream.closedConnections.has(connection),
      `upstream connection ${connection} closed`,
    );
  });

  test('new credentials on an authenticated connection get a fresh upstream connection', async () => {
    const client = new NtlmHttpClient(gateway.url);
    try {
      const asAlice = await client.login('/api/whoami', ALICE);
      const asBob = await client.login('/api/whoami', BOB);
      assert.equal(userOf(asBob), 'bob');
      assert.notEqual(connectionOf(asBob), connectionOf(asAlice));
      await eventually(
        () => upstream.closedConnections.has(connectionOf(asAlice)),
        "alice's upstream connection closed",
      );
      assert.equal(userOf(await client.request('/api/whoami')), 'bob');
    } finally {
      client.close();
    }
  });

  test('the health endpoint counts pinned connections', async () => {
    const { stdout } = await curl([`${gateway.url}/.ntlm-sso/health`]);
    const health = JSON.parse(stdout);
    assert.equal(health.status, 'ok');
    assert.equal(health.mode, 'pass-through');
    assert.equal(typeof health.pinned, 'number');
  });
});

describe('gateway, pass-through mode: nginx-ntlm-module limits', () => {
  const upstream = new NtlmUpstream();
  let upstreamUrl: string;
  before(async () => {
    upstreamUrl = await upstream.start();
  });
  after(() => upstream.stop());

  const withGateway = async (flags: string[], body: (gateway: RunningProcess) => Promise<void>) => {
    const gateway = await startGateway([
      '--mode',
      'pass-through',
      '--upstream',
      upstreamUrl,
      '--debug',
      '0',
      ...flags,
    ]);
    try {
      await body(gateway);
    } finally {
      await gateway.stop();
    }
  };

  test('--max-requests: after N requests the client authenticates again, on a new upstream connection', () =>
    withGateway(['--max-requests', '4'], async (gateway) => {
      const client = new NtlmHttpClient(gateway.url);
      try {
        const first = await client.login('/api/whoami', ALICE); // requests 1 and 2
        assert.equal((await client.request('/api/whoami')).status, 200); // 3
        assert.equal((await client.request('/api/whoami')).status, 200); // 4
        assert.equal(
          (await client.request('/api/whoami')).status,
          401,
          'the fifth goes out on a fresh connection',
        );
        const again = await client.login('/api/whoami', ALICE);
        assert.equal(again.status, 200);
        assert.notEqual(connectionOf(again), connectionOf(first));
      } finally {
        client.close();
      }
    }));

  test('--idle-timeout: an idle pinned upstream connection is closed', () =>
    withGateway(['--idle-timeout', '300ms'], async (gateway) => {
      const client = new NtlmHttpClient(gateway.url);
      try {
        const reply = await client.login('/api/whoami', ALICE);
        await eventually(
          () => upstream.closedConnections.has(connectionOf(reply)),
          'idle upstream connection closed',
        );
        assert.equal((await client.request('/api/whoami')).status, 401);
      } finally {
        client.close();
      }
    }));

  test('--max-connections: logged-in pins are kept; a newcomer gets 503 until one is released', () =>
    withGateway(['--max-connections', '2'], async (gateway) => {
      const clients = [0, 1, 2].map(() => new NtlmHttpClient(gateway.url));
      try {
        for (const client of clients.slice(0, 2))
          assert.equal((await client.login('/api/whoami', ALICE)).status, 200);
        const refused = await clients[2]!.login('/api/whoami', ALICE);
        assert.equal(refused.status, 503);
        assert.equal(refused.headers['retry-after'], '5');
        assert.equal((await clients[0]!.request('/api/whoami')).status, 200);
        assert.equal((await clients[1]!.request('/api/whoami')).status, 200);
        clients[0]!.close();
        await eventually(
          async () => (await clients[2]!.login('/api/whoami', ALICE)).status === 200,
          'a slot',
        );
        assert.equal((await clients[1]!.request('/api/whoami')).status, 200);
      } finally {
        for (const client of clients) client.close();
      }
    }));
});

describe('gateway, pass-through mode, in front of an echo upstream', () => {
  let upstream: EchoUpstream;
  let gateway: RunningProcess;
  before(async () => {
    upstream = await startEchoUpstream();
    gateway = await startGateway(['--mode', 'pass-through', '--upstream', upstream.url, '--debug', '0']);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  test('client X-Ntlm-* headers are removed; the Authorization header goes through untouched', async () => {
    const { stdout } = await curl([
      '-H',
      'X-Ntlm-Username: mallory',
      '-H',
      'Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==',
      `${gateway.url}/pass`,
    ]);
    const { headers } = JSON.parse(stdout);
    assert.equal(headers['x-ntlm-username'], undefined);
    assert.equal(headers.authorization, 'NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==');
  });

  test('a chunked DELETE or OPTIONS keeps its body and framing: nothing in it reaches the upstream as a request', async () => {
    // The gateway gave a bodiless DELETE/OPTIONS Content-Length: 0, and did so to a chunked one
    // too while still sending its body: the upstream read the body as a request of its own.
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n';
    for (const method of ['DELETE', 'OPTIONS']) {
      const echoed = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          `${gateway.url}/echo`,
          { method, headers: { 'Transfer-Encoding': 'chunked' } },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
            });
            res.on('end', () => resolve(text));
          },
        );
        req.on('error', reject);
        req.end(smuggled);
      });
      assert.equal(echoed, smuggled, `${method}: the upstream got the body as a body`);
    }
    // The upstream answered both; a smuggled request would have been read right after each.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      upstream.seen.filter((seen) => seen.url === '/smuggled'),
      [],
      'no request smuggled to the upstream',
    );
  });

  test('WebSocket upgrades are passed through', async () => {
    const connection = await RawConnection.open(gateway.url);
    try {
      const reply = await connection.request([
        'GET /ws HTTP/1.1',
        'Host: x',
        'Connection: Upgrade',
        'Upgrade: websocket',
      ]);
      assert.equal(reply.status, 101);
      assert.equal(await connection.echo('through'), 'through');
    } finally {
      connection.close();
    }
  });
});
