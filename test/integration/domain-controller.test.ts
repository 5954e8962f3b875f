// The domain-controller verifier against a real Samba AD DC on 127.0.0.1. Where CI is set, a DC
// that cannot be started fails the run; elsewhere these tests report themselves skipped, with why.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_IDLE_PER_DC } from '../../src/dc/idle-connections.js';
import { type DomainControllerOptions, domainController, type NtlmOptions, ntlm } from '../../src/index.js';
import { decodeAuthenticate, encodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { NegotiateFlags as F } from '../../src/ntlm/flags.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import type { Verifier } from '../../src/types.js';
import { curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { startDemo, startGateway } from '../helpers/processes.js';
import { pythonNtlmGet } from '../helpers/python.js';
import {
  ADMIN_PASSWORD,
  DC_DIR,
  DC_URL,
  ensureLoadUsers,
  LOAD_USERS,
  openLdapConnections,
  sambaSkip,
  setUserAttribute,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { recordingLogger, serveIdentity, silentTcpServer } from '../helpers/servers.js';

const skip = await sambaSkip();

function serve(options: Partial<DomainControllerOptions> = {}, middleware: Partial<NtlmOptions> = {}) {
  return serveIdentity({
    verifier: domainController({ domains: { EXAMPLE: [DC_URL] }, ...options }),
    ...middleware,
  });
}

/** A read-only lookup account (Administrator here) over LDAPS, checked against the DC's own CA. */
function lookupAccount(): DomainControllerOptions['lookup'] {
  return {
    url: 'ldaps://127.0.0.1',
    bindDN: 'Administrator@example.test',
    password: ADMIN_PASSWORD,
    // Samba's generated certificate names the host (VM.example.test), not 127.0.0.1.
    tls: { ca: readFileSync(`${DC_DIR}/private/tls/ca.pem`), checkServerIdentity: () => undefined },
  };
}

/**
 * A TCP proxy in front of the DC's LDAP port: counts the connections the relay opens, how many
 * sockets (both ends) are open, and can drop them all, as a DC or a firewall drops idle ones, or
 * silence them (the DC's answers on them no longer arrive), as a firewall that forgot them does.
 */
async function countingProxy() {
  const sockets = new Set<net.Socket>();
  const pairs: { client: net.Socket; dc: net.Socket }[] = [];
  let opened = 0;
  const server = net.createServer((client) => {
    opened++;
    const dc = net.connect(389, '127.0.0.1');
    pairs.push({ client, dc });
    for (const socket of [client, dc]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(dc).pipe(client);
    // Either end gone (a reset included, which pipe() does not pass on): the other goes too.
    client.on('close', () => dc.destroy());
    dc.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`,
    opened: () => opened,
    open: () => sockets.size,
    dropAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    silenceAll: () => {
      for (const { client, dc } of pairs.splice(0)) {
        dc.unpipe(client);
        dc.on('data', () => {}); // read and dropped, so that the DC's close still comes through
      }
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('domain controller verifier (Samba AD DC)', { skip }, () => {
  before(async () => {
    await startDc();
    await ensureLoadUsers();
  });
  after(() => stopDc());

  it('alice: 200, with the account name, groups and mail the DC reports', async () => {
    const t = await serve();
    const reply = await curlNtlm(`${t.url}/api/whoami`, 'EXAMPLE\\ALICE:Alice-Passw0rd!');
    assert.equal(reply.status, 200);
    const who = JSON.parse(reply.body);
    assert.equal(who.username, 'alice', 'typed ALICE, the DC says alice');
    assert.equal(who.domain, 'EXAMPLE');
    assert.equal(who.mail, 'alice@example.test');
    assert.ok(who.groups.includes('Engineering'), `groups: ${who.groups}`);
    assert.match(who.sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
    assert.ok(
      who.groupSids.length >= who.groups.length,
      'tokenGroups SIDs, nested and well-known ones included',
    );
    assert.ok(who.groupSids.every((sid: string) => /^S-1-/.test(sid)) && !who.groupSids.includes(who.sid));
    await t.close();
  });

  it('the demo app with NTLM_DC_URL: /api/whoami shows alice as the DC knows her', async () => {
    const demo = await startDemo({ NTLM_DC_URL: DC_URL, NTLM_DOMAIN: 'EXAMPLE' });
    try {
      const reply = await curlNtlm(`${demo.url}/api/whoami`, 'example\\Alice:Alice-Passw0rd!');
      assert.equal(reply.status, 200);
      const who = JSON.parse(reply.body);
      assert.deepEqual([who.username, who.domain, who.mail], ['alice', 'EXAMPLE', 'alice@example.test']);
      assert.ok(who.groups.includes('Engineering'));
      assert.match(demo.output(), /users from EXAMPLE via ldap:\/\/127\.0\.0\.1/);
    } finally {
      await demo.stop();
    }
  });

  it('directory attributes are reused for cache.ttlSeconds, while the DC still decides every logon', async () => {
    const cached = await serve({ cache: { ttlSeconds: 2 } });
    const uncached = await serve({ cache: false });
    const mailVia = async (url: string) => {
      const reply = await curlNtlm(`${url}/`, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(reply.status, 200, reply.body);
      return JSON.parse(reply.body).mail as string;
    };
    try {
      assert.equal(await mailVia(cached.url), 'alice@example.test');
      await setUserAttribute('alice', 'mail', 'alice.moved@example.test');
      assert.equal(await mailVia(cached.url), 'alice@example.test', 'within the TTL: from the cache');
      assert.equal(await mailVia(uncached.url), 'alice.moved@example.test', 'without a cache: from the DC');
      // A cached user with a wrong password is still refused: the cache never decides a logon.
      assert.equal((await curlNtlm(`${cached.url}/`, 'EXAMPLE\\alice:wrong')).status, 401);
      await sleep(2100);
      assert.equal(await mailVia(cached.url), 'alice.moved@example.test', 'after the TTL: from the DC again');
    } finally {
      await setUserAttribute('alice', 'mail', 'alice@example.test');
      await cached.close();
      await uncached.close();
    }
  });

  it('the gateway with --dc (first DC down) --domain: the upstream sees the user and groups the DC reports', async () => {
    const upstream = await startEchoUpstream();
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--dc',
      `ldap://127.0.0.1:1,${DC_URL}`,
      '--domain',
      'EXAMPLE',
      '--forward-groups',
    ]);
    try {
      const reply = await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\ALICE:Alice-Passw0rd!');
      assert.equal(reply.status, 200, reply.body);
      const { headers } = JSON.parse(reply.body);
      assert.equal(headers['x-ntlm-username'], 'alice', 'typed ALICE, the DC says alice');
      assert.equal(headers['x-ntlm-domain'], 'EXAMPLE');
      assert.ok(
        String(headers['x-ntlm-groups']).split(',').includes('Engineering'),
        headers['x-ntlm-groups'],
      );
      assert.equal((await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\alice:wrong')).status, 401);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });

  it('a challenge never answered closes its LDAP connection after handshakeTimeoutMs', async () => {
    const logger = recordingLogger();
    const auth = ntlm({
      verifier: domainController({ domains: { EXAMPLE: [DC_URL] } }),
      logger,
      handshakeTimeoutMs: 300,
    });
    const server = http.createServer((req, res) => auth(req, res, () => res.end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new NtlmHttpClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      // The readiness probe made at start holds an LDAP connection for a moment: let it finish.
      await auth.ready();
      const baseline = await openLdapConnections();
      const challenge = await client.request('/', { Authorization: `NTLM ${type1().toString('base64')}` });
      assert.equal(challenge.status, 401);
      assert.equal(
        await openLdapConnections(),
        baseline + 1,
        'the relay connection is open while the challenge waits',
      );
      await sleep(600);
      assert.equal(await openLdapConnections(), baseline, 'and closed once the handshake expired');
    } finally {
      // A failure must not leave the server holding the test run open.
      client.close();
      server.closeAllConnections();
      server.close();
      await auth.close();
    }
  });

  it('refuses wrong password, unknown user, disabled carol, must-change dave, and anonymous', async () => {
    const t = await serve();
    const cases: Array<[string, string]> = [
      ['EXAMPLE\\alice:wrong-password', 'ERR_NTLM_LOGON_FAILED'],
      ['EXAMPLE\\nobody:Whatever-1!', 'ERR_NTLM_LOGON_FAILED'],
      ['EXAMPLE\\carol:Carol-Passw0rd!', 'ERR_NTLM_ACCOUNT_DISABLED'],
      ['EXAMPLE\\dave:Dave-Passw0rd!', 'ERR_NTLM_PASSWORD_EXPIRED'],
    ];
    for (const [credentials, code] of cases) {
      const reply = await curlNtlm(t.url, credentials);
      assert.equal(reply.status, 401, credentials);
      assert.equal(t.logger.codes().at(-1), code, credentials);
    }
    // Anonymous: empty user, empty NT response, one-byte LM response (MS-NLMP 3.2.5.1.2).
    const client = new NtlmHttpClient(t.url);
    const negotiate = type1();
    const challenge = await client.request('/', { Authorization: `NTLM ${negotiate.toString('base64')}` });
    assert.equal(challenge.status, 401);
    const anonymous = encodeAuthenticate({
      flags: F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM | F.ANONYMOUS,
      lmChallengeResponse: Buffer.alloc(1),
      ntChallengeResponse: Buffer.alloc(0),
      domain: '',
      user: '',
      workstation: 'PC',
    });
    const reply = await client.request('/', { Authorization: `NTLM ${anonymous.toString('base64')}` });
    assert.equal(reply.status, 401);
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_ANONYMOUS_REFUSED');
    client.close();
    await t.close();
  });

  it('a client that negotiates signing (requests-ntlm): 503 naming the lookup option, 200 with a lookup account', async () => {
    const plain = await serve();
    const refused = await pythonNtlmGet(plain.url, 'EXAMPLE\\alice', 'Alice-Passw0rd!');
    assert.equal(refused.status, 503);
    assert.match(refused.body, /ERR_NTLM_LOOKUP_UNAVAILABLE/);
    assert.equal(plain.logger.codes().at(-1), 'ERR_NTLM_LOOKUP_UNAVAILABLE');
    assert.match(
      String(plain.logger.records.at(-1)?.fields?.reason),
      /lookup/,
      'the log says what to configure',
    );
    await plain.close();

    const proxy = await countingProxy();
    const withLookup = await serve({ domains: { EXAMPLE: [proxy.url] }, lookup: lookupAccount() });
    try {
      const reply = await pythonNtlmGet(withLookup.url, 'EXAMPLE\\alice', 'Alice-Passw0rd!');
      assert.equal(reply.status, 200, reply.body);
      const who = JSON.parse(reply.body);
      assert.deepEqual([who.username, who.domain, who.mail], ['alice', 'EXAMPLE', 'alice@example.test']);
      assert.ok(who.groups.includes('Engineering'));
      // Signing was agreed on that DC connection: it takes only signed messages now, so it is not kept.
      for (let i = 0; i < 20 && proxy.open() > 0; i++) await sleep(50);
      assert.equal(proxy.open(), 0, "the signing client's DC connection was closed, not kept");
      assert.equal((await curlNtlm(withLookup.url, 'EXAMPLE\\bob:Bob-Passw0rd!')).status, 200);
      assert.equal(proxy.open(), 2, "an unsigned logon's connection is kept (both ends of the proxy)");
      const wrong = await pythonNtlmGet(withLookup.url, 'EXAMPLE\\alice', 'wrong');
      assert.equal(wrong.status, 401, 'the DC, not the lookup account, decides');
    } finally {
      await withLookup.close();
      proxy.close();
    }
  });

  it('a DC that accepts TCP and never answers: 503 within the timeout, no socket left open', async () => {
    const silent = await silentTcpServer();
    const t = await serve({
      domains: { EXAMPLE: [`ldap://127.0.0.1:${silent.port}`] },
      connectTimeoutMs: 500,
      operationTimeoutMs: 800,
    });
    const started = Date.now();
    const reply = await curlNtlm(t.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
    const elapsed = Date.now() - started;
    assert.equal(reply.status, 503);
    // The stranger learns the code; the DC's address and our timeouts are in the log only.
    assert.equal(reply.body, 'Authentication is unavailable; try again later (ERR_NTLM_DC_UNAVAILABLE)\n');
    assert.ok(elapsed < 5000, `answered after ${elapsed} ms`);
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_DC_UNAVAILABLE');
    assert.match(
      String(t.logger.records.at(-1)?.fields?.reason),
      /no domain controller of EXAMPLE answered: ldap:\/\/127\.0\.0\.1:\d+: no answer within 800 ms/,
    );
    await sleep(100);
    assert.equal(silent.open(), 0, 'our side closed its connection to the silent DC');
    silent.close();
    await t.close();
  });

  it('two DCs, the first silent: 200 via the second, and later logons skip the dead one', async () => {
    const silent = await silentTcpServer();
    const t = await serve({
      domains: { EXAMPLE: [`ldap://127.0.0.1:${silent.port}`, DC_URL] },
      connectTimeoutMs: 500,
      operationTimeoutMs: 1000,
    });
    const first = Date.now();
    assert.equal((await curlNtlm(t.url, 'EXAMPLE\\alice:Alice-Passw0rd!')).status, 200);
    const firstMs = Date.now() - first;
    assert.ok(firstMs >= 1000, `the first logon waited for the silent DC (${firstMs} ms)`);
    const second = Date.now();
    assert.equal((await curlNtlm(t.url, 'EXAMPLE\\bob:Bob-Passw0rd!')).status, 200);
    const secondMs = Date.now() - second;
    assert.ok(secondMs < 500, `the second logon went straight to the live DC (${secondMs} ms)`);
    silent.close();
    await t.close();
  });

  it('200 concurrent handshakes for 20 users: each sees itself, and only the kept LDAP connections stay open', async () => {
    const t = await serve();
    try {
      // The readiness probe made at start holds an LDAP connection for a moment: let it finish.
      await t.auth.ready();
      const before = await openLdapConnections();
      const logins = Array.from({ length: 200 }, async (_, i) => {
        const credentials = LOAD_USERS[i % LOAD_USERS.length]!;
        // Each from a machine of its own, as a rush of real users would be (per-client shares).
        const client = new NtlmHttpClient(t.url, { localAddress: `127.0.1.${2 + i}` });
        try {
          const reply = await client.login('/', credentials);
          return {
            expected: credentials.user,
            status: reply.status,
            seen: reply.status === 200 ? JSON.parse(reply.body).username : reply.body,
          };
        } finally {
          client.close();
        }
      });
      const results = await Promise.all(logins);
      const wrong = results.filter((r) => r.status !== 200 || r.seen !== r.expected);
      assert.deepEqual(wrong, [], `${wrong.length} of 200 logons went wrong`);
      // The relay keeps a few for its next logons; every other one was closed.
      const kept = await openLdapConnections();
      assert.ok(kept - before <= MAX_IDLE_PER_DC, `${kept - before} relay connections stayed open`);
      await t.close();
      for (let i = 0; i < 20 && (await openLdapConnections()) > before; i++) await sleep(100);
      assert.equal(await openLdapConnections(), before, 'and close() closed those');
    } finally {
      await t.close(); // a failure must not leave the server holding the test run open
    }
  });

  it('keeps a DC connection for the next logon, which sees only its own user; a dropped one is replaced', async () => {
    const proxy = await countingProxy();
    const t = await serve({ domains: { EXAMPLE: [proxy.url] } });
    try {
      await t.auth.ready();
      const before = proxy.opened();
      const logon = async (credentials: string) => {
        const reply = await curlNtlm(t.url, credentials);
        return reply.status === 200 ? `200 ${JSON.parse(reply.body).username}` : String(reply.status);
      };
      assert.equal(await logon('EXAMPLE\\alice:Alice-Passw0rd!'), '200 alice');
      assert.equal(await logon('EXAMPLE\\bob:Bob-Passw0rd!'), '200 bob');
      assert.equal(proxy.opened() - before, 1, "bob's logon ran on alice's connection");
      // A refused logon's connection is not kept: the next one opens another.
      assert.equal(await logon('EXAMPLE\\bob:wrong-password'), '401');
      assert.equal(await logon('EXAMPLE\\alice:Alice-Passw0rd!'), '200 alice');
      assert.equal(proxy.opened() - before, 2);
      // The DC drops idle connections (its own idle timeout, a restart): the next logon opens a new one.
      proxy.dropAll();
      await sleep(50);
      assert.equal(await logon('EXAMPLE\\bob:Bob-Passw0rd!'), '200 bob');
      assert.equal(proxy.opened() - before, 3);
      // A kept connection that goes silent (a firewall forgot it): its NEGOTIATE waits a second at
      // most, then a new connection serves the logon, and the DC is not taken for down.
      proxy.silenceAll();
      assert.equal(await logon('EXAMPLE\\alice:Alice-Passw0rd!'), '200 alice');
      assert.equal(proxy.opened() - before, 4);
      assert.equal(await logon('EXAMPLE\\bob:Bob-Passw0rd!'), '200 bob');
      assert.ok(
        !t.logger.codes().some((code) => String(code).startsWith('ERR_NTLM_DC')),
        'no DC error logged',
      );
      await t.close();
      for (let i = 0; i < 20 && proxy.open() > 0; i++) await sleep(50);
      assert.equal(proxy.open(), 0, 'close() closed the kept connection');
    } finally {
      await t.close();
      proxy.close();
    }
  });

  it('an abort once the AUTHENTICATE is relayed leaves that logon and its kept connection alone', async () => {
    const proxy = await countingProxy();
    const verifier = domainController({ domains: { EXAMPLE: [proxy.url] } });
    /** One handshake straight through the verifier; `afterRelay` runs as the AUTHENTICATE goes out. */
    const logon = async (
      user: string,
      password: string,
      afterRelay?: (handshake: AbortController) => void,
    ) => {
      const negotiateToken = type1();
      const controller = new AbortController();
      const pending = await verifier.startHandshake({
        negotiate: decodeNegotiate(negotiateToken),
        negotiateToken,
        signal: controller.signal,
      });
      const authenticateToken = await type3(negotiateToken, pending.challengeToken, {
        user,
        domain: 'EXAMPLE',
        password,
      });
      const authenticate = decodeAuthenticate(authenticateToken);
      const identity = pending.complete({
        authenticate,
        authenticateToken,
        ntlmV2: checkLogonPolicy(authenticate),
      });
      afterRelay?.(controller);
      return (await identity).username;
    };
    try {
      const before = proxy.opened();
      // The client went away (or a newer leg came) just as its AUTHENTICATE was relayed: the
      // handshake's signal is aborted while the relay owns the connection.
      let aborted = false;
      const abortLate = (handshake: AbortController) => {
        handshake.abort();
        aborted = handshake.signal.aborted;
      };
      assert.equal(await logon('alice', 'Alice-Passw0rd!', abortLate), 'alice');
      assert.ok(aborted);
      // The relay kept that connection: the next logon runs on it.
      assert.equal(await logon('bob', 'Bob-Passw0rd!'), 'bob');
      assert.equal(proxy.opened() - before, 1, 'the late abort closed the kept connection');
    } finally {
      await (verifier as Verifier & { close?(): Promise<void> }).close?.();
      proxy.close();
    }
  });

  it('a DC requiring LDAP signing (STRICT): 503 with its code, and the log names the setting', async () => {
    await startDc({ strict: true });
    try {
      const t = await serve();
      const reply = await curlNtlm(t.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(reply.status, 503);
      assert.match(reply.body, /ERR_NTLM_DC_REQUIRES_SIGNING/);
      assert.doesNotMatch(reply.body, /ldap|127\.0\.0\.1/i);
      const line = t.logger.records.at(-1)!;
      assert.equal(line.level, 'error');
      assert.equal(line.fields?.code, 'ERR_NTLM_DC_REQUIRES_SIGNING');
      assert.match(String(line.fields?.reason), /LDAP server signing requirements/);
      await t.close();
      // A client that signs gets through a strict DC; its identity then comes from the lookup account.
      const signed = await serve({ lookup: lookupAccount() });
      const signedReply = await pythonNtlmGet(signed.url, 'EXAMPLE\\bob', 'Bob-Passw0rd!');
      assert.equal(signedReply.status, 200, signedReply.body);
      assert.equal(JSON.parse(signedReply.body).username, 'bob');
      await signed.close();
    } finally {
      await startDc();
    }
  });

  it('the DC stopped: 503 at once, not a hang', async () => {
    await stopDc();
    try {
      const t = await serve();
      const started = Date.now();
      const reply = await curlNtlm(t.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(reply.status, 503);
      assert.ok(Date.now() - started < 5000);
      assert.equal(t.logger.records.at(-1)?.level, 'error');
      assert.match(String(t.logger.records.at(-1)?.fields?.reason), /127\.0\.0\.1/);
      await t.close();
    } finally {
      await startDc();
    }
  });
});
