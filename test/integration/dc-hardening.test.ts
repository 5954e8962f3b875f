// Issue 14's defects that need a real DC: the pending-handshake cap under a NEGOTIATE burst
// (every pending handshake holds a DC connection), a DC restart, and signing clients' domains.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DomainControllerOptions, domainController, type NtlmOptions } from '../../src/index.js';
import { type1 } from '../helpers/ntlm-client.js';
import { DC_URL, openLdapConnections, sambaSkip, startDc, stopDc } from '../helpers/samba.js';
import { serveIdentity } from '../helpers/servers.js';

const skip = await sambaSkip();

function serve(verifier: Partial<DomainControllerOptions> = {}, options: Partial<NtlmOptions> = {}) {
  return serveIdentity({
    verifier: domainController({ domains: { EXAMPLE: [DC_URL] }, ...verifier }),
    ...options,
  });
}

/** Opens `count` connections at once, each sending a NEGOTIATE and staying open; their statuses. */
async function negotiateBurst(url: string, count: number, held: net.Socket[]): Promise<number[]> {
  const port = Number(new URL(url).port);
  const request = `GET / HTTP/1.1\r\nHost: test\r\nAuthorization: NTLM ${type1().toString('base64')}\r\n\r\n`;
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(request));
          held.push(socket);
          socket.setTimeout(20_000, () => socket.destroy());
          socket.once('error', () => resolve(0));
          socket.once('close', () => resolve(0));
          socket.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('latin1').split(' ')[1])));
        }),
    ),
  );
}

describe('hardening against a real DC (Samba AD DC)', { skip }, () => {
  before(() => startDc());
  after(() => stopDc());

  it('4,000 simultaneous NEGOTIATEs open no more DC connections than maxPendingHandshakes', async () => {
    const limit = 50;
    const baseline = await openLdapConnections();
    const t = await serve({}, { maxPendingHandshakes: limit, maxPendingHandshakesPerClient: limit });
    // ntlm() probes readiness at start (one LDAP connection, closed at once): let it finish.
    for (let i = 0; i < 50 && (await openLdapConnections()) > baseline; i++) await sleep(20);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, (await openLdapConnections()) - baseline);
        await sleep(5);
      }
    })();
    const held: net.Socket[] = [];
    try {
      const statuses = await negotiateBurst(t.url, 4000, held);
      await sleep(200);
      sampling = false;
      await sampler;
      const challenged = statuses.filter((status) => status === 401).length;
      const refused = statuses.filter((status) => status === 503).length;
      console.log(
        `4,000 NEGOTIATEs: ${challenged} challenged, ${refused} refused; peak DC connections ${peak}`,
      );
      assert.ok(peak <= limit, `${peak} LDAP connections to the DC at the peak (limit ${limit})`);
      assert.equal(challenged, limit);
      assert.equal(refused, 4000 - limit);
    } finally {
      sampling = false;
      for (const socket of held) socket.destroy();
      await t.close();
    }
    for (let i = 0; i < 50 && (await openLdapConnections()) > baseline; i++) await sleep(100);
    assert.equal(await openLdapConnections(), baseline, 'every relay connection was closed');
  });
});
