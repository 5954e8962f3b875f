import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, SignJWT } from 'jose';
import { ntlm } from '../../src/index.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import {
  ALICE,
  BOB,
  FRAMEWORKS,
  listen,
  recordingLogger,
  startServer,
  type TestServer,
  testDirectory,
} from '../helpers/servers.js';

const json = (body: string) => JSON.parse(body);
/** A token signed by someone else's hand: the claims as given, HS256 under `secret`. */
const hs256 = (claims: Record<string, unknown>, secret: string) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', kid: 'default', typ: 'JWT' })
    .sign(Buffer.from(secret));
const ntlmHeader = (token: Buffer) => ({ Authorization: `NTLM ${token.toString('base64')}` });

for (const framework of FRAMEWORKS) {
  describe(`middleware on ${framework}`, () => {
    let t: TestServer;
    before(async () => {
      t = await startServer(framework);
    });
    after(() => t.close());

    it('logs in once per connection and keeps the identity for later requests', async () => {
      const client = new NtlmHttpClient(t.url);
      const reply = await client.login('/', ALICE);
      assert.equal(reply.status, 200);
      const seen = json(reply.body);
      assert.equal(seen.ntlm.username, 'alice');
      assert.equal(seen.ntlm.domain, 'EXAMPLE');
      assert.equal(seen.ntlm.workstation, 'TESTBOX');
      assert.deepEqual(seen.ntlm.groups, ['Engineering']);
      assert.deepEqual(seen.headers, { 'x-ntlm-username': 'alice', 'x-ntlm-domain': 'EXAMPLE' });
      const again = await client.request('/next');
      assert.equal(again.status, 200, 'no new handshake on the same connection');
      assert.equal(json(again.body).ntlm.username, 'alice');
      assert.equal(again.localPort, reply.localPort);
      client.close();
    });

    it('answers 401 with WWW-Authenticate: NTLM to a request without credentials', async () => {
      const client = new NtlmHttpClient(t.url);
      const reply = await client.request('/');
      assert.equal(reply.status, 401);
      assert.equal(reply.headers['www-authenticate'], 'NTLM');
      assert.equal(reply.headers['set-cookie'], undefined);
      client.close();
    });

    it('answers a wrong password with 401 and a fresh challenge, on a connection that stays usable', async () => {
      const client = new NtlmHttpClient(t.url);
      const reply = await client.login('/', { ...ALICE, password: 'wrong' });
      assert.equal(reply.status, 401);
      assert.equal(reply.headers['www-authenticate'], 'NTLM');
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_LOGON_FAILED');
      const retry = await client.login('/', ALICE);
      assert.equal(retry.status, 200);
      assert.equal(retry.localPort, reply.localPort, 'the retry used the same connection');
      client.close();
    });

    it('never lets a client-supplied X-Ntlm-* header through', async () => {
      const client = new NtlmHttpClient(t.url);
      await client.login('/', BOB);
      const reply = await client.request('/', {
        'X-Ntlm-Username': 'admin',
        'X-Ntlm-Domain': 'CORP',
        'X-Ntlm-Groups': 'Admins',
        // CGI/WSGI upstreams read `_` as `-`: these would reach a Python app as HTTP_X_NTLM_*.
        X_Ntlm_Username: 'Administrator',
        'x_NTLM-Domain': 'CORP',
        'X-ntlm_Groups': 'Admins',
      });
      const seen = json(reply.body);
      assert.equal(seen.ntlm.username, 'bob');
      assert.deepEqual(seen.headers, { 'x-ntlm-username': 'bob', 'x-ntlm-domain': 'EXAMPLE' });
      assert.deepEqual(seen.rawHeaders, ['X-Ntlm-Username', 'X-Ntlm-Domain']);
      client.close();
    });

    it('drops the identity at once when a new handshake starts on an authenticated connection', async () => {
      const client = new NtlmHttpClient(t.url);
      assert.equal((await client.login('/', ALICE)).status, 200);
      const restart = await client.request('/', ntlmHeader(type1()));
      assert.equal(restart.status, 401);
      assert.match(String(restart.headers['www-authenticate']), /^NTLM \S+$/);
      const between = await client.request('/');
      assert.equal(between.status, 401, 'alice is forgotten as soon as the new NEGOTIATE arrives');
      const asBob = await client.login('/', BOB);
      assert.equal(json(asBob.body).ntlm.username, 'bob');
      client.close();
    });

    it('answers 400 to malformed tokens and keeps serving', async () => {
      const client = new NtlmHttpClient(t.url);
      for (const value of [
        'NTLM !!!notbase64',
        'NTLM',
        'NTLM AAAA',
        `NTLM ${Buffer.from('NTLMSSP\0\x02\0\0\0', 'latin1').toString('base64')}`,
      ]) {
        const reply = await client.request('/', { Authorization: value });
        assert.equal(reply.status, 400, value);
        // The code only: the parser's reason is for the log, not for the sender.
        assert.match(reply.body, /^Bad authentication token \(ERR_NTLM_[A-Z_]+\)\n$/, value);
      }
      assert.equal((await client.login('/', ALICE)).status, 200);
      client.close();
    });

    it('refuses an AUTHENTICATE that arrives without a pending challenge on its connection', async () => {
      const first = new NtlmHttpClient(t.url);
      const negotiate = type1();
      const challengeReply = await first.request('/', ntlmHeader(negotiate));
      const challenge = Buffer.from(String(challengeReply.headers['www-authenticate']).slice(5), 'base64');
      const authenticate = await type3(negotiate, challenge, ALICE);
      const second = new NtlmHttpClient(t.url);
      const reply = await second.request('/', ntlmHeader(authenticate));
      assert.equal(reply.status, 401, 'the handshake belongs to the first connection only');
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_NO_PENDING_HANDSHAKE');
      const onOwnConnection = await first.request('/', ntlmHeader(authenticate));
      assert.equal(onOwnConnection.status, 200);
      const replay = await first.request('/', ntlmHeader(authenticate));
      assert.equal(replay.status, 401, 'a server challenge is good for one AUTHENTICATE');
      first.close();
      second.close();
    });
  });
}

describe('middleware policy', () => {
  it('refuses disabled accounts, unknown domains, a bad MIC and a stale timestamp', async () => {
    const t = await startServer('express5');
    const cases: Array<
      [string, Parameters<NtlmHttpClient['login']>[1], Parameters<NtlmHttpClient['login']>[2], string]
    > = [
      [
        'disabled',
        { user: 'carol', domain: 'EXAMPLE', password: 'Carol-Passw0rd!' },
        {},
        'ERR_NTLM_ACCOUNT_DISABLED',
      ],
      ['unknown domain', { ...ALICE, domain: 'FOO' }, {}, 'ERR_NTLM_UNKNOWN_DOMAIN'],
      ['unknown user', { ...ALICE, user: 'mallory' }, {}, 'ERR_NTLM_LOGON_FAILED'],
      ['stale', ALICE, { timestampMs: Date.now() - 3_600_000 }, 'ERR_NTLM_CLOCK_SKEW'],
    ];
    for (const [name, credentials, options, code] of cases) {
      const client = new NtlmHttpClient(t.url);
      const reply = await client.login('/', credentials, options);
      assert.equal(reply.status, 401, name);
      assert.equal(t.logger.codes().at(-1), code, name);
      client.close();
    }
    await t.close();
  });

  it('checks the MIC: a changed workstation name or a flipped MIC byte is refused', async () => {
    const t = await startServer('express5');
    const client = new NtlmHttpClient(t.url);
    const negotiate = type1();
    const first = await client.request('/', ntlmHeader(negotiate));
    const challenge = Buffer.from(String(first.headers['www-authenticate']).slice(5), 'base64');
    const authenticate = await type3(negotiate, challenge, ALICE);
    authenticate[72]! ^= 0x01;
    const reply = await client.request('/', ntlmHeader(authenticate));
    assert.equal(reply.status, 401);
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_BAD_MIC');
    client.close();
    await t.close();
  });

  it('accepts user@dnsDomain with no domain, and shows DOMAIN\\user when asked', async () => {
    const t = await startServer('express5', { usernameFormat: 'domain\\user' });
    const client = new NtlmHttpClient(t.url);
    const reply = await client.login('/', {
      user: 'Alice@Example.Test',
      domain: '',
      password: ALICE.password,
    });
    assert.equal(reply.status, 200);
    const seen = json(reply.body);
    assert.equal(seen.ntlm.username, 'alice', 'the directory spells the name, not the client');
    assert.equal(seen.headers['x-ntlm-username'], 'EXAMPLE\\alice');
    client.close();
    await t.close();
  });

  it("passes other schemes to the next middleware when otherSchemes is 'next'", async () => {
    const t = await startServer('connect', { otherSchemes: 'next' });
    const client = new NtlmHttpClient(t.url);
    const reply = await client.request('/', {
      Authorization: 'Basic YWxpY2U6cHc=',
      'X-Ntlm-Username': 'admin',
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(json(reply.body), { ntlm: null, headers: {}, rawHeaders: [] });
    client.close();
    await t.close();
  });
});

describe('Negotiate scheme carrying raw NTLMSSP', () => {
  it('answers in the scheme the client used', async () => {
    const t = await startServer('express5');
    const client = new NtlmHttpClient(t.url);
    const reply = await client.login('/', ALICE, { scheme: 'Negotiate' });
    assert.equal(reply.status, 200);
    assert.equal(json(reply.body).ntlm.scheme, 'Negotiate');
    client.close();
    await t.close();
  });
});

describe('Bearer tokens', () => {
  const bearer = { secret: 'a-test-secret-that-is-long-enough-32b' };

  it('a completed handshake returns a token that works alone on a new connection', async () => {
    const t = await startServer('express5', { bearer });
    const client = new NtlmHttpClient(t.url);
    const login = await client.login('/', ALICE);
    assert.equal(login.status, 200);
    const issued = String(login.headers.authorization);
    assert.match(issued, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.equal(login.headers['access-control-expose-headers'], 'Authorization');
    const other = new NtlmHttpClient(t.url);
    const reply = await other.request('/', { Authorization: issued });
    assert.equal(reply.status, 200);
    const seen = json(reply.body).ntlm;
    assert.deepEqual([seen.username, seen.domain, seen.scheme], ['alice', 'EXAMPLE', 'Bearer']);
    assert.deepEqual(seen.groups, ['Engineering']);
    client.close();
    other.close();
    await t.close();
  });

  it('a connection that outlives its token gets a fresh one on req.ntlm.token', async () => {
    // Tokens count whole seconds: a 2 s token lives between 1 and 2 s, so after 2.1 s the first
    // has expired and the fresh one still has a second left (a 1 s token may have none).
    const t = await startServer('express5', { bearer: { ...bearer, expiresInSeconds: 2 } });
    const client = new NtlmHttpClient(t.url);
    try {
      assert.equal((await client.login('/', ALICE)).status, 200);
      const first = json((await client.request('/')).body).ntlm;
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const later = json((await client.request('/')).body).ntlm;
      assert.equal(later.scheme, 'NTLM', 'still the connection, not the token, that authenticates');
      assert.notEqual(later.tokenId, first.tokenId);
      assert.ok(later.tokenExpiresAt > Date.now());
      assert.equal(later.tokenExpiresAt, decodeJwt(later.token).exp! * 1000);
      const other = new NtlmHttpClient(t.url);
      assert.equal((await other.request('/', { Authorization: `Bearer ${later.token}` })).status, 200);
      assert.equal((await other.request('/', { Authorization: `Bearer ${first.token}` })).status, 401);
      other.close();
    } finally {
      client.close();
      await t.close();
    }
  });

  it('refuses tampered, unsigned (alg none), wrong-key and expired tokens with a fresh NTLM challenge', async () => {
    const t = await startServer('express5', { bearer });
    const client = new NtlmHttpClient(t.url);
    const token = String((await client.login('/', ALICE)).headers.authorization).slice(7);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = [
      `${header}.${b64({ ...claims, username: 'admin' })}.${signature}`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, username: 'admin' })}.`,
      await hs256({ ...claims }, 'another-secret-that-is-long-enough-32b'),
      await hs256({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, bearer.secret),
    ];
    for (const bad of forged) {
      const reply = await new NtlmHttpClient(t.url).request('/', { Authorization: `Bearer ${bad}` });
      assert.equal(reply.status, 401, bad);
      assert.equal(reply.headers['www-authenticate'], 'NTLM');
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_INVALID_BEARER');
    }
    client.close();
    await t.close();
  });

  it('logout revokes the token and forgets the connection; 401 legs carry no token or cookie', async () => {
    const logger = recordingLogger();
    const auth = ntlm({ verifier: testDirectory(), logger, bearer });
    const server = http.createServer((req, res) =>
      auth(req, res, async () => {
        if (req.url === '/logout') await auth.logout(req);
        res.end(req.ntlm?.username);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new NtlmHttpClient(url);
    const negotiate = await client.request('/', { Authorization: `NTLM ${type1().toString('base64')}` });
    assert.equal(negotiate.headers.authorization, undefined);
    assert.equal(negotiate.headers['set-cookie'], undefined);
    const login = await client.login('/', BOB);
    const token = String(login.headers.authorization);
    assert.equal((await new NtlmHttpClient(url).request('/', { Authorization: token })).status, 200);
    assert.equal((await client.request('/logout')).status, 200);
    assert.equal((await client.request('/')).status, 401, 'the connection must authenticate again');
    assert.equal(
      (await new NtlmHttpClient(url).request('/', { Authorization: token })).status,
      401,
      'the token is revoked',
    );
    client.close();
    server.closeAllConnections();
    server.close();
  });

  it('with cookie on: an HttpOnly Secure SameSite cookie on the completing response only, accepted alone', async () => {
    const logger = recordingLogger();
    const auth = ntlm({ verifier: testDirectory(), logger, bearer: { ...bearer, cookie: true } });
    const served = await listen((req, res) =>
      auth(req, res, async () => {
        if (req.url === '/logout') await auth.logout(req, res);
        res.end(req.ntlm?.username);
      }),
    );
    const client = new NtlmHttpClient(served.url);
    const challenge = await client.request('/', { Authorization: `NTLM ${type1().toString('base64')}` });
    assert.equal(challenge.headers['set-cookie'], undefined, 'no cookie on a 401 leg');
    const login = await client.login('/', ALICE);
    const [cookie] = login.headers['set-cookie'] ?? [];
    assert.match(
      String(cookie),
      /^ntlm_sso_token=[\w-]+\.[\w-]+\.[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$/,
    );
    const pair = String(cookie).split(';')[0]!;
    const fresh = new NtlmHttpClient(served.url);
    const reply = await fresh.request('/', { Cookie: `other=1; ${pair}` });
    assert.deepEqual([reply.status, reply.body], [200, 'alice']);
    const logout = await fresh.request('/logout', { Cookie: pair });
    assert.match(String(logout.headers['set-cookie']), /ntlm_sso_token=; .*Max-Age=0/);
    assert.equal((await new NtlmHttpClient(served.url).request('/', { Cookie: pair })).status, 401);
    client.close();
    fresh.close();
    await served.close();
  });

  it('refuses a short secret at start-up', () => {
    assert.throws(
      () => ntlm({ verifier: testDirectory(), bearer: { secret: 'short' } }),
      /at least 32 bytes/,
    );
  });
});

describe('connection rules (nginx-ntlm-module) and access rules', () => {
  it('a connection authenticates again after maxRequestsPerConnection, maxConnectionAgeMs or idleness', async () => {
    const byRequests = await startServer('node:http', { maxRequestsPerConnection: 2 });
    const a = new NtlmHttpClient(byRequests.url);
    assert.equal((await a.login('/', ALICE)).status, 200);
    assert.equal((await a.request('/')).status, 200);
    assert.equal((await a.request('/')).status, 401, 'third request on a 2-request identity');
    a.close();
    await byRequests.close();

    for (const options of [{ maxConnectionAgeMs: 100 }, { connectionIdleTimeoutMs: 100 }]) {
      const t = await startServer('node:http', options);
      const client = new NtlmHttpClient(t.url);
      assert.equal((await client.login('/', ALICE)).status, 200);
      await sleep(200);
      assert.equal((await client.request('/')).status, 401, JSON.stringify(options));
      assert.equal((await client.login('/', ALICE)).status, 200, 'and can log in again');
      client.close();
      await t.close();
    }
  });

  it('by default a connection is not sent back to a logon for its number of requests (as IIS, nginx-ntlm)', async () => {
    const t = await startServer('node:http', {});
    const client = new NtlmHttpClient(t.url);
    assert.equal((await client.login('/', ALICE)).status, 200);
    for (let i = 0; i < 1000; i++) assert.equal((await client.request('/')).status, 200, `request ${i + 2}`);
    client.close();
    await t.close();
  });

  it('beyond maxConnections, the oldest authenticated connection loses its identity', async () => {
    const t = await startServer('node:http', { maxConnections: 1 });
    const first = new NtlmHttpClient(t.url);
    const second = new NtlmHttpClient(t.url);
    assert.equal((await first.login('/', ALICE)).status, 200);
    assert.equal((await second.login('/', BOB)).status, 200);
    assert.equal((await first.request('/')).status, 401);
    assert.equal(json((await second.request('/')).body).ntlm.username, 'bob');
    first.close();
    second.close();
    await t.close();
  });

  it('allowGroups and allowUsers admit their members and answer 403 to the rest', async () => {
    const t = await startServer('express5', { allowGroups: ['engineering'], allowUsers: ['EXAMPLE\\Carol'] });
    const alice = new NtlmHttpClient(t.url);
    assert.equal((await alice.login('/', ALICE)).status, 200);
    const bob = new NtlmHttpClient(t.url);
    const denied = await bob.login('/', BOB);
    assert.equal(denied.status, 403);
    assert.match(denied.body, /EXAMPLE\\bob is not allowed/);
    alice.close();
    bob.close();
    await t.close();
    assert.throws(() => ntlm({ verifier: testDirectory(), allowGroups: 'Engineering' as never }), /array/);
  });
});

describe('keep-alive', () => {
  it("warns once when the server's keepAliveTimeout would close connections before their identity expires", async () => {
    const t = await startServer('node:http');
    const client = new NtlmHttpClient(t.url);
    await client.login('/', ALICE);
    assert.equal(t.logger.records.filter((r) => /keepAliveTimeout/.test(r.message)).length, 0);
    client.close();
    await t.close();

    const short = await startServer('node:http');
    short.server.keepAliveTimeout = 5000; // Node's default
    const again = new NtlmHttpClient(short.url);
    await again.login('/', ALICE);
    await again.request('/');
    const warnings = short.logger.records.filter((r) => /keepAliveTimeout/.test(r.message));
    assert.equal(warnings.length, 1, 'said once, not per request');
    assert.equal(warnings[0]!.level, 'warn');
    assert.deepEqual(warnings[0]!.fields, { keepAliveTimeout: 5000, connectionIdleTimeoutMs: 60_000 });
    again.close();
    await short.close();
  });
});

describe('middleware limits', () => {
  it('caps pending handshakes with 503 and frees a slot when its connection closes', async () => {
    const t = await startServer('node:http', { maxPendingHandshakes: 2, maxPendingHandshakesPerClient: 2 });
    const clients = [0, 1, 2].map(() => new NtlmHttpClient(t.url));
    const replies = [];
    for (const client of clients) replies.push(await client.request('/', ntlmHeader(type1())));
    assert.deepEqual(
      replies.map((r) => r.status),
      [401, 401, 503],
    );
    assert.equal(replies[2]!.headers['retry-after'], '1');
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_TOO_MANY_HANDSHAKES');
    clients[0]!.close();
    // The server learns of the close when the socket's end event runs (later on a loaded machine).
    await eventually(
      async () => (await clients[2]!.login('/', ALICE)).status === 200,
      'the closed connection gave its slot back',
    );
    for (const client of clients) client.close();
    await t.close();
  });

  it('forgets a challenge that waits longer than handshakeTimeoutMs', async () => {
    const t = await startServer('node:http', { handshakeTimeoutMs: 100, maxPendingHandshakes: 1 });
    const client = new NtlmHttpClient(t.url);
    const negotiate = type1();
    const first = await client.request('/', ntlmHeader(negotiate));
    const challenge = Buffer.from(String(first.headers['www-authenticate']).slice(5), 'base64');
    await sleep(250);
    const late = await client.request('/', ntlmHeader(await type3(negotiate, challenge, ALICE)));
    assert.equal(late.status, 401);
    assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_NO_PENDING_HANDSHAKE');
    const other = new NtlmHttpClient(t.url);
    assert.equal((await other.login('/', BOB)).status, 200, 'the expired handshake freed its slot');
    client.close();
    other.close();
    await t.close();
  });
});
