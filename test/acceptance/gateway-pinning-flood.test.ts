// Pass-through mode under a flood of NTLM NEGOTIATEs from a few addresses: logged-in users keep
// their pinned upstream connections, new logons from other addresses still succeed, requests in
// flight are never cut, and a flooding address opens no more upstream connections than its share.
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createDemoApp } from '../../demo-app/app.js';
import { ntlm } from '../../src/index.js';
import { NtlmHttpClient, type Reply } from '../helpers/http-client.js';
import { type1 } from '../helpers/ntlm-client.js';
import { startGateway } from '../helpers/processes.js';
import { ALICE, BOB, testDirectory } from '../helpers/servers.js';

const NEGOTIATE = `NTLM ${type1().toString('base64')}`;
/** Loopback addresses are all ours in the test's network namespace: 127.0.0.2-5 flood. */
const FLOODERS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];

/** The demo app in this process; `/slow?ms=N` waits N ms before answering as /api/whoami. */
class NtlmUpstream {
  readonly server: http.Server;
  #open = 0;
  peakConnections = 0;
  readonly #auth = ntlm({ verifier: testDirectory(), debug: 0, trustedProxies: ['127.0.0.1'] });

  constructor() {
    const app = createDemoApp(this.#auth);
    this.server = http.createServer((req, res) => {
      const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
      if (!slow) return app(req, res);
      req.url = '/api/whoami';
      setTimeout(() => app(req, res), Number(slow[1]));
    });
    // NTLM authenticates the upstream connection: keep it as IIS does (120 s), not Node's 5 s,
    // or a user's pin closes while a slow run (a loaded machine) is still under way.
    this.server.keepAliveTimeout = 120_000;
    this.server.on('connection', (socket: Socket) => {
      this.#open += 1;
      this.peakConnections = Math.max(this.peakConnections, this.#open);
      socket.once('close', () => {
        this.#open -= 1;
      });
    });
  }

  get openConnections(): number {
    return this.#open;
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

/** An NTLM client whose one connection comes from `localAddress`. */
class ClientAt extends NtlmHttpClient {
  override readonly agent: http.Agent;
  constructor(url: string, localAddress: string) {
    super(url);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress });
  }
}

/**
 * `count` connections from `addresses` (round robin), opened over about `spreadMs`, each sending
 * one NEGOTIATE and then holding the connection open, as an attacker would. Resolves with the
 * status each got (0: no answer in 5 s or the connection failed) and the sockets to close.
 */
async function negotiateFlood(
  url: string,
  count: number,
  addresses: string[],
  path: string,
  spreadMs: number,
) {
  const { port } = new URL(url);
  const sockets: Socket[] = [];
  const one = (localAddress: string) =>
    new Promise<number>((resolve) => {
      const socket = net.connect({ port: Number(port), host: '127.0.0.1', localAddress });
      sockets.push(socket);
      let head = '';
      const timer = setTimeout(() => resolve(0), 5000);
      socket.on('error', () => resolve(0));
      socket.on('data', (chunk) => {
        head += chunk.toString('latin1');
        const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
        if (line) {
          clearTimeout(timer);
          resolve(Number(line[1]));
        }
      });
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${NEGOTIATE}\r\n\r\n`);
    });
  const batch = 50;
  const statuses: Promise<number>[] = [];
  for (let i = 0; i < count; i += batch) {
    for (let j = i; j < Math.min(count, i + batch); j++) statuses.push(one(addresses[j % addresses.length]!));
    await new Promise((resolve) => setTimeout(resolve, spreadMs / (count / batch)));
  }
  return {
    statuses: await Promise.all(statuses),
    close: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});
const userOf = (reply: Reply) =>
  reply.status === 200 ? (JSON.parse(reply.body) as { username: string }).username : undefined;

describe('gateway, pass-through mode, under a flood of NEGOTIATEs', () => {
  const upstream = new NtlmUpstream();
  let upstreamUrl: string;
  before(async () => {
    upstreamUrl = await upstream.start();
  });
  after(() => upstream.stop());

  test('1,200 flooding connections from 4 addresses: ≥ 95 % of 30 logons from other addresses succeed and stay', async (t) => {
    const gateway = await startGateway(['--mode', 'pass-through', '--upstream', upstreamUrl, '--debug', '0']);
    const users = Array.from({ length: 30 }, (_, i) => new ClientAt(gateway.url, `127.0.0.${20 + i}`));
    let flood: Awaited<ReturnType<typeof negotiateFlood>> | undefined;
    try {
      const started = Date.now();
      const flooding = negotiateFlood(gateway.url, 1200, FLOODERS, '/api/whoami', 2500);
      // Logons spread over the flood; each user comes back after it for a second request.
      const logons = users.map(async (client, i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 80));
        const who = i % 2 === 0 ? ALICE : BOB;
        const first = await client.login('/api/whoami', who).catch(() => undefined);
        return { who, first };
      });
      const firsts = await Promise.all(logons);
      flood = await flooding;
      const floodDone = Date.now() - started;
      const seconds = await Promise.all(
        users.map((client) => client.request('/api/whoami').catch(() => undefined)),
      );
      const ok = firsts.filter(
        ({ who, first }, i) =>
          first && userOf(first) === who.user && seconds[i] && userOf(seconds[i]!) === who.user,
      ).length;
      const counts = tally(flood.statuses);
      t.diagnostic(
        `logons that succeeded and kept their connection: ${ok}/30; flood answers ${JSON.stringify(counts)} ` +
          `in ${floodDone} ms; peak upstream connections ${upstream.peakConnections}`,
      );
      assert.ok(ok >= 29, `only ${ok} of 30 logons succeeded and stayed logged in`);
      // Each flooding address got its share (a tenth of 1000 pins) and was refused beyond it.
      assert.ok((counts[401] ?? 0) <= FLOODERS.length * 100, `${counts[401]} NEGOTIATEs were pinned`);
      assert.ok((counts[503] ?? 0) >= 1200 - FLOODERS.length * 100);
      // Upstream connections: the flood's shares, the users' pins, a shared pool at most.
      assert.ok(upstream.peakConnections <= FLOODERS.length * 100 + 30 + 64, `${upstream.peakConnections}`);
    } finally {
      flood?.close();
      for (const client of users) client.close();
      await gateway.stop();
    }
  });

  test('--max-connections 8: requests in flight are never cut for newcomers, whose NEGOTIATEs get 503', async (t) => {
    const gateway = await startGateway([
      '--mode',
      'pass-through',
      '--upstream',
      upstreamUrl,
      '--debug',
      '0',
      '--max-connections',
      '8',
    ]);
    const users = Array.from({ length: 6 }, (_, i) => new ClientAt(gateway.url, `127.0.0.${10 + i}`));
    let flood: Awaited<ReturnType<typeof negotiateFlood>> | undefined;
    try {
      for (const client of users) assert.equal((await client.login('/api/whoami', ALICE)).status, 200);
      // Six slow requests in flight on their pins, and a flood of NEGOTIATEs for slow pages too.
      const slow = Promise.all(users.map((client) => client.request('/slow?ms=1500')));
      await new Promise((resolve) => setTimeout(resolve, 100));
      flood = await negotiateFlood(gateway.url, 200, FLOODERS.slice(0, 2), '/slow?ms=1000', 500);
      const replies = await slow;
      const counts = tally(flood.statuses);
      t.diagnostic(
        `in-flight requests: ${JSON.stringify(tally(replies.map((r) => r.status)))}; flood answers ${JSON.stringify(counts)}`,
      );
      for (const reply of replies) assert.equal(reply.status, 200, reply.body);
      assert.equal(counts[502] ?? 0, 0);
      assert.ok((counts[401] ?? 0) <= 2, 'the flood had only the two free pins');
      for (const client of users) assert.equal(userOf(await client.request('/api/whoami')), 'alice');
    } finally {
      flood?.close();
      for (const client of users) client.close();
      await gateway.stop();
    }
  });
});
