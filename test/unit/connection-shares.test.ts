// The gateway's share of connections not logged in (issue 18, items 5 and 12): one client (an
// IPv4 address, an IPv6 /64, or behind a trusted proxy the forwarded address) holds only its
// part of it, and a connection that got a 401 is kept only as long as a browser needs to answer.
// Real sockets on the gateway's own client server, with an application that answers 401 unless
// the request says `Authorization: ok`.
import assert from 'node:assert/strict';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createClientServer } from '../../src/gateway/client-server.js';
import { ConnectionShares, type ShareLimits } from '../../src/gateway/connection-shares.js';
import { TrustedProxies } from '../../src/net/client-address.js';
import { eventually } from '../helpers/eventually.js';
import { addLoopbackAddresses, inTestNamespace } from '../helpers/loopback.js';
import { recordingLogger } from '../helpers/servers.js';

/** The gateway's client server and shares on `::` (IPv4 and IPv6), with a stand-in for the middleware. */
async function sharedServer(limits: Partial<ShareLimits>, trusted: string[] = []) {
  const logger = recordingLogger();
  const server: http.Server = createClientServer(
    {
      tls: undefined,
      headerTimeoutMs: 10_000,
      maxHeaderBytes: 98_304,
      idleTimeoutMs: 60_000,
      maxClientConnections: 1000,
    },
    (req, res) => {
      if (shares.refused(req.socket)) return void req.resume();
      if (req.headers.authorization === 'ok') {
        shares.authenticated(req.socket);
        res.end('hello');
        return;
      }
      res.writeHead(401, { 'WWW-Authenticate': 'NTLM' });
      res.end();
    },
  );
  const shares = new ConnectionShares(
    server,
    'connection',
    { maxUnauthenticated: 20, maxUnauthenticatedPerClient: 4, challengeTimeoutMs: 60_000, ...limits },
    new TrustedProxies(trusted),
    logger,
  );
  await new Promise<void>((resolve) => server.listen(0, '::', resolve));
  const port = (server.address() as AddressInfo).port;
  const sockets: net.Socket[] = [];

  /** A keep-alive connection from `localAddress`; each `send` resolves with its answer's status (0: none). */
  const connect = (localAddress: string) => {
    const host = localAddress.includes(':') ? '::1' : '127.0.0.1';
    const socket = net.connect({ host, port, localAddress });
    sockets.push(socket);
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    const send = (headers: string[] = []) =>
      new Promise<number>((resolve) => {
        const timer = setTimeout(() => resolve(0), 5000);
        socket.once('close', () => resolve(0));
        socket.once('data', (chunk: Buffer) => {
          clearTimeout(timer);
          resolve(Number(chunk.toString('latin1').split(' ')[1]));
        });
        socket.write(['GET / HTTP/1.1', 'Host: x', ...headers, '', ''].join('\r\n'));
      });
    return { socket, send, closed: () => closed };
  };

  /** `count` connections from `localAddress` that each send one request and stay open: their statuses. */
  const hold = (localAddress: string, count: number, headers?: string[]) =>
    Promise.all(Array.from({ length: count }, () => connect(localAddress).send(headers)));

  return {
    shares,
    logger,
    connect,
    hold,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const tally = (statuses: number[]) => ({
  held: statuses.filter((status) => status === 401).length,
  refused: statuses.filter((status) => status === 503).length,
});

describe('the share of connections not logged in', () => {
  it('one address holding idle connections answered 401 takes its share only; another address logs in', async (t) => {
    const s = await sharedServer({ maxUnauthenticated: 20, maxUnauthenticatedPerClient: 4 });
    try {
      const flood = tally(await s.hold('127.0.0.2', 30));
      const other = await Promise.all(
        Array.from({ length: 10 }, () => s.connect('127.0.0.3').send(['Authorization: ok'])),
      );
      t.diagnostic(`flood from one address: ${JSON.stringify(flood)}; another address: ${other.join(',')}`);
      assert.deepEqual(flood, { held: 4, refused: 26 });
      assert.deepEqual(other, Array(10).fill(200), 'every connection from another address was served');
      assert.equal(s.shares.unauthenticatedCount, 4);
      assert.match(String(s.logger.records.at(-1)?.message), /this client's share/);
    } finally {
      await s.close();
    }
  });

  it('ten IPv6 addresses in one /64 hold one share between them; another /64 has its own', async (t) => {
    if (!inTestNamespace) return t.skip('needs addresses of its own: run it with test/run.sh');
    const flooders = Array.from({ length: 10 }, (_, i) => `2001:db8:12:5::${i + 1}`);
    const neighbour = '2001:db8:12:6::1';
    addLoopbackAddresses([...flooders, neighbour]);
    const s = await sharedServer({ maxUnauthenticated: 100, maxUnauthenticatedPerClient: 4 });
    try {
      const flood = tally((await Promise.all(flooders.map((address) => s.hold(address, 2)))).flat());
      t.diagnostic(`20 connections from ten addresses of one /64: ${JSON.stringify(flood)}`);
      assert.deepEqual(flood, { held: 4, refused: 16 });
      assert.deepEqual(tally(await s.hold(neighbour, 4)), { held: 4, refused: 0 });
    } finally {
      await s.close();
    }
  });

  it('behind a trusted proxy each forwarded address has its share; an untrusted peer is one client whatever it forwards', async () => {
    const s = await sharedServer({ maxUnauthenticated: 100, maxUnauthenticatedPerClient: 4 }, ['127.0.0.4']);
    try {
      assert.deepEqual(tally(await s.hold('127.0.0.4', 10, ['X-Forwarded-For: 10.0.0.9'])), {
        held: 4,
        refused: 6,
      });
      assert.deepEqual(tally(await s.hold('127.0.0.4', 4, ['X-Forwarded-For: 10.0.0.10'])), {
        held: 4,
        refused: 0,
      });
      const forged = await Promise.all(
        Array.from({ length: 10 }, (_, i) => s.connect('127.0.0.5').send([`X-Forwarded-For: 10.1.0.${i}`])),
      );
      assert.deepEqual(tally(forged), { held: 4, refused: 6 });
    } finally {
      await s.close();
    }
  });

  it('a connection answered 401 is closed after challengeTimeoutMs unless the client answers; one that answered stays', async () => {
    const s = await sharedServer({ challengeTimeoutMs: 300 });
    try {
      const idle = s.connect('127.0.0.2');
      const answering = s.connect('127.0.0.2');
      const silent = s.connect('127.0.0.2');
      assert.equal(await idle.send(), 401);
      assert.equal(await answering.send(), 401);
      assert.equal(await answering.send(['Authorization: ok']), 200);
      await eventually(() => idle.closed(), 'the idle connection closed after its 401', 5000);
      // Nothing closes the others meanwhile: the logged-in one, and one that never got a 401
      // (the header timeout is its limit).
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.ok(!answering.closed(), 'the connection that answered its 401 was closed');
      assert.ok(!silent.closed());
      assert.equal(await answering.send(['Authorization: ok']), 200);
      assert.equal(s.shares.unauthenticatedCount, 1, 'only the silent one');
    } finally {
      await s.close();
    }
  });
});
