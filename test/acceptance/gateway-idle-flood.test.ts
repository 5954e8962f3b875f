// Issue 18, item 5: idle keep-alive connections from one address locked the gateway. 5,000
// connections that had not logged in, each sending one request every 50 s (answered 401), held
// the whole share of unauthenticated connections, and every new client got 503. Now one address
// holds only its part of that share, and a connection answered 401 is closed unless it answers
// within --challenge-timeout.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type RunningProcess, startGateway } from '../helpers/processes.js';
import { ALICE } from '../helpers/servers.js';

const USERS = 'demo-app/users.json';

/** A keep-alive connection from `localAddress` that sends one request without credentials and stays open. */
function idleAfterOneRequest(url: string, localAddress: string) {
  const { port } = new URL(url);
  const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress });
  let closed = false;
  socket.on('error', () => {});
  socket.once('close', () => {
    closed = true;
  });
  const status = new Promise<number>((resolve) => {
    const timer = setTimeout(() => resolve(0), 5000);
    socket.once('close', () => resolve(0));
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString('latin1').split(' ')[1]));
    });
  });
  socket.write('GET /hello HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  return { socket, status, closed: () => closed };
}

const tally = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>((counts, status) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

/** `count` logons from `localAddress`, ten at a time: how many got 200. */
async function logons(url: string, localAddress: string, count: number): Promise<number> {
  let ok = 0;
  for (let batch = 0; batch < count / 10; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const client = new NtlmHttpClient(url, { localAddress });
        try {
          return (await client.login('/hello', ALICE)).status;
        } finally {
          client.close();
        }
      }),
    );
    ok += replies.filter((status) => status === 200).length;
  }
  return ok;
}

describe('gateway: idle connections that have not logged in', () => {
  let upstream: EchoUpstream;
  before(async () => {
    upstream = await startEchoUpstream();
  });
  after(() => upstream?.close());

  test('600 idle keep-alive connections answered 401 from 127.0.0.2: 127.0.0.3 logs in 20 of 20', async (t) => {
    // A share of 200 unauthenticated connections; one address's part of it is left at its default.
    const gateway: RunningProcess = await startGateway([
      '--upstream',
      upstream.url,
      '--users',
      USERS,
      '--debug',
      '0',
      '--max-unauthenticated-connections',
      '200',
    ]);
    const flood: ReturnType<typeof idleAfterOneRequest>[] = [];
    try {
      for (let batch = 0; batch < 12; batch++) {
        const opened = Array.from({ length: 50 }, () => idleAfterOneRequest(gateway.url, '127.0.0.2'));
        flood.push(...opened);
        await Promise.all(opened.map((connection) => connection.status));
      }
      const statuses = await Promise.all(flood.map((connection) => connection.status));
      const ok = await logons(gateway.url, '127.0.0.3', 20);
      const counts = tally(statuses);
      t.diagnostic(`flood answers ${JSON.stringify(counts)}; logons from 127.0.0.3: ${ok}/20`);
      assert.equal(ok, 20, `only ${ok} of 20 logons from another address succeeded`);
      assert.equal(counts[401], 20, 'the flooding address held its part of the share: a tenth of 200');
      assert.equal(counts[503], 580);
    } finally {
      for (const connection of flood) connection.socket.destroy();
      await gateway.stop();
    }
  });

  test('by default a connection answered 401 is closed 10 s later unless it answers; a logged-in one stays', async (t) => {
    const gateway = await startGateway(['--upstream', upstream.url, '--users', USERS, '--debug', '0']);
    const idle = idleAfterOneRequest(gateway.url, '127.0.0.2');
    const alice = new NtlmHttpClient(gateway.url, { localAddress: '127.0.0.2' });
    try {
      assert.equal(await idle.status, 401);
      const opened = Date.now();
      const logon = await alice.login('/hello', ALICE);
      assert.equal(logon.status, 200);
      // The idle timeout (60 s) would keep it open until long after a request every 50 s.
      await eventually(() => idle.closed(), 'the connection answered 401 closed', 30_000);
      t.diagnostic(`the idle connection closed ${Date.now() - opened} ms after its 401`);
      const again = await alice.request('/hello');
      assert.equal(again.status, 200);
      assert.equal(again.localPort, logon.localPort, "alice's logged-in connection stayed open");
    } finally {
      idle.socket.destroy();
      alice.close();
      await gateway.stop();
    }
  });
});
