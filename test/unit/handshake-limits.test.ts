// The pending-handshake cap under floods (issue 14, defects 1 and 2): one address that sends
// NEGOTIATEs as fast as it can and never finishes must not lock anyone else out, and a forged
// X-Forwarded-For from an untrusted peer must not let it escape its share.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { addLoopbackAddresses, inTestNamespace } from '../helpers/loopback.js';
import { type1 } from '../helpers/ntlm-client.js';
import { ALICE, startServer, type TestServer } from '../helpers/servers.js';

const NEGOTIATE = `NTLM ${type1().toString('base64')}`;

/** Sends one NEGOTIATE from `localAddress` and keeps the connection open; resolves with the status. */
function negotiateAndHold(
  url: string,
  localAddress: string,
  held: net.Socket[],
  headers: string[] = [],
): Promise<number> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    const socket = net.connect({ host, port: Number(port), localAddress });
    held.push(socket);
    socket.setTimeout(5000, () => socket.destroy());
    socket.once('error', () => resolve(0));
    socket.once('connect', () =>
      socket.write(
        ['GET / HTTP/1.1', 'Host: test', `Authorization: ${NEGOTIATE}`, ...headers, '', ''].join('\r\n'),
      ),
    );
    socket.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('latin1').split(' ')[1])));
  });
}

/** Floods NEGOTIATEs from one address, `concurrency` at a time, until `stop()` or `limit` connections. */
function flood(url: string, localAddress: string, limit: number, headers?: (i: number) => string[]) {
  const held: net.Socket[] = [];
  const statuses: number[] = [];
  let stopped = false;
  let sent = 0;
  const worker = async () => {
    while (!stopped && sent < limit) {
      const i = sent++;
      statuses.push(await negotiateAndHold(url, localAddress, held, headers?.(i)));
    }
  };
  const done = Promise.all(Array.from({ length: 25 }, worker));
  return {
    statuses,
    /** Waits until `limit` NEGOTIATEs were answered (or the flood was stopped). */
    done,
    async stop() {
      stopped = true;
      await done;
      for (const socket of held) socket.destroy();
    },
  };
}

/** `count` full logons from `localAddress`, ten at a time; the share that answered 200. */
async function logonSuccessRate(t: TestServer, localAddress: string, count: number): Promise<number> {
  let ok = 0;
  for (let batch = 0; batch < count / 10; batch++) {
    const replies = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const client = new NtlmHttpClient(t.url, { localAddress });
        try {
          return (await client.login('/', ALICE)).status;
        } finally {
          client.close();
        }
      }),
    );
    ok += replies.filter((status) => status === 200).length;
  }
  return ok / count;
}

describe('pending handshakes under a NEGOTIATE flood', () => {
  it('one address flooding NEGOTIATEs holds only its share; logons from other addresses succeed', async () => {
    const t = await startServer('node:http', { maxPendingHandshakes: 200 });
    const attack = flood(t.url, '127.0.0.2', 1000);
    try {
      while (attack.statuses.length < 100) await new Promise((resolve) => setTimeout(resolve, 20));
      const rate = await logonSuccessRate(t, '127.0.0.3', 100);
      const flooded = attack.statuses.length;
      const challenged = attack.statuses.filter((status) => status === 401).length;
      console.log(
        `flood: ${flooded} NEGOTIATEs, ${challenged} challenged; other address: ${rate * 100} % logons ok`,
      );
      assert.ok(
        rate >= 0.99,
        `only ${rate * 100} % of logons from another address succeeded during the flood`,
      );
      assert.equal(challenged, 20, 'the flooding address got exactly its share (a tenth of 200)');
    } finally {
      await attack.stop();
      await t.close();
    }
  });

  it('X-Forwarded-For counts only from a trusted proxy; a forged one does not escape the share', async () => {
    const t = await startServer('node:http', {
      maxPendingHandshakes: 100,
      maxPendingHandshakesPerClient: 5,
      trustedProxies: ['127.0.0.4'],
    });
    const forged = flood(t.url, '127.0.0.2', 30, (i) => [`X-Forwarded-For: 10.0.0.${i}`]);
    await forged.done;
    await forged.stop();
    assert.equal(
      forged.statuses.filter((status) => status === 401).length,
      5,
      'an untrusted peer is one client whatever X-Forwarded-For it sends',
    );
    // Through the trusted proxy, each forwarded client has a share of its own.
    const proxied = flood(t.url, '127.0.0.4', 30, (i) => [`X-Forwarded-For: 10.0.1.${i % 3}`]);
    await proxied.done;
    await proxied.stop();
    assert.equal(proxied.statuses.filter((status) => status === 401).length, 15, 'three clients, five each');
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_TOO_MANY_HANDSHAKES');
    await t.close();
  });

  it('ten IPv6 addresses in one /64 hold one share between them; another /64 logs in', async (t) => {
    if (!inTestNamespace) return t.skip('needs addresses of its own: run it with test/run.sh');
    const flooders = Array.from({ length: 10 }, (_, i) => `2001:db8:12:1::${i + 1}`);
    const neighbour = '2001:db8:12:2::1';
    addLoopbackAddresses([...flooders, neighbour]);
    const server = await startServer(
      'node:http',
      { maxPendingHandshakes: 100, maxPendingHandshakesPerClient: 5 },
      '::1',
    );
    const held: net.Socket[] = [];
    try {
      // Three held NEGOTIATEs from each address: 30 from one /64, whose share is 5.
      const statuses = await Promise.all(
        flooders.flatMap((address) => [0, 1, 2].map(() => negotiateAndHold(server.url, address, held))),
      );
      const challenged = statuses.filter((status) => status === 401).length;
      t.diagnostic(`30 NEGOTIATEs from ten addresses of one /64: ${challenged} challenged`);
      assert.equal(challenged, 5, 'the /64 is one client: one share between its addresses');
      assert.equal(statuses.filter((status) => status === 503).length, 25);
      assert.equal(server.logger.codes().at(-1), 'ERR_NTLM_TOO_MANY_HANDSHAKES');
      const other = new NtlmHttpClient(server.url, { localAddress: neighbour });
      try {
        assert.equal((await other.login('/', ALICE)).status, 200, 'another /64 has a share of its own');
      } finally {
        other.close();
      }
    } finally {
      for (const socket of held) socket.destroy();
      await server.close();
    }
  });
});
