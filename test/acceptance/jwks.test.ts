// Issue 21, item 1: Bearer tokens that another service checks with a JWT library we do not write.
// The keys are given as `bearer.keys` takes them today: an ES256 private key (PKCS8 PEM) that
// signs, an RS256 public key alone (SPKI PEM) and an HS256 secret. A real client (curl --ntlm)
// logs on; jose's createLocalJWKSet + jwtVerify check its token against the JWKS the running
// server publishes, fetched without authentication.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import Koa from 'koa';
import { ntlmPlugin } from '../../src/fastify/index.js';
import { type BearerKey, createGateway, type Gateway, ntlm } from '../../src/index.js';
import { ntlm as koaNtlm } from '../../src/koa/index.js';
import { curlBearerToken } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { ALICE, listen, testDirectory } from '../helpers/servers.js';

const JWKS_PATH = '/.well-known/jwks.json';
const CREDENTIALS = `${ALICE.domain}\\${ALICE.user}:${ALICE.password}`;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const SECRET = randomBytes(32);
const KEYS: BearerKey[] = [
  { kid: 'es-2026-12', algorithm: 'ES256', key: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) },
  { kid: 'rs-2026-11', algorithm: 'RS256', publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }) },
  { kid: 'hs-2026-10', algorithm: 'HS256', key: SECRET },
];

/** GET without credentials: status, content type and the parsed body. */
async function fetchJwks(url: string) {
  const reply = await fetch(url + JWKS_PATH);
  const text = await reply.text();
  return { status: reply.status, type: reply.headers.get('content-type'), text, body: safeJson(text) };
}
const safeJson = (text: string) => {
  try {
    return JSON.parse(text) as JSONWebKeySet;
  } catch {
    return undefined;
  }
};

/** What the JWKS must be: the two public keys with their kids, no secret, no private member. */
function assertPublicOnly(jwks: { text: string; body: JSONWebKeySet | undefined }) {
  assert.deepEqual(
    jwks.body?.keys.map(({ kid, alg, kty, use }) => ({ kid, alg, kty, use })),
    [
      { kid: 'es-2026-12', alg: 'ES256', kty: 'EC', use: 'sig' },
      { kid: 'rs-2026-11', alg: 'RS256', kty: 'RSA', use: 'sig' },
    ],
  );
  assert.ok(!/"(d|p|q|dp|dq|qi|k)":/.test(jwks.text), 'no private or secret member');
  assert.ok(!jwks.text.includes(SECRET.toString('base64url')), 'the HS256 secret is not there');
}

/** A token from curl --ntlm, checked by jose against the server's JWKS alone. */
async function assertTokenVerifies(url: string, jwks: JSONWebKeySet) {
  const bearer = await curlBearerToken(`${url}/`, CREDENTIALS);
  assert.ok(bearer, 'curl --ntlm got a Bearer token');
  const token = bearer.slice('Bearer '.length);
  assert.equal(decodeProtectedHeader(token).kid, 'es-2026-12');
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: 'ntlm-sso',
    audience: 'ntlm-sso',
    algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.alg, 'ES256');
  assert.deepEqual([payload.username, payload.domain, payload.sub], ['alice', 'EXAMPLE', 'EXAMPLE\\alice']);
  // The same set refuses a token that was tampered with.
  const [header, body, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString());
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, username: 'admin' })).toString('base64url')}.${signature}`;
  await assert.rejects(jwtVerify(forged, createLocalJWKSet(jwks)), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
}

describe('JWKS: tokens from an NTLM logon, checked by jose', () => {
  it('the middleware serves it at bearer.jwksPath, before authentication, and as auth.jwks()', async () => {
    const auth = ntlm({ verifier: testDirectory(), bearer: { keys: KEYS, jwksPath: JWKS_PATH } });
    const served = await listen(
      (req, res) => auth(req, res, () => res.end('hi')),
      () => auth.close(),
    );
    try {
      const jwks = await fetchJwks(served.url);
      assert.equal(jwks.status, 200);
      assert.equal(jwks.type, 'application/json');
      assertPublicOnly(jwks);
      assert.deepEqual(auth.jwks(), jwks.body);
      await assertTokenVerifies(served.url, jwks.body!);
    } finally {
      await served.close();
    }
  });

  it('the middleware does not answer it unless jwksPath is set (the path is authenticated like any other)', async () => {
    const auth = ntlm({ verifier: testDirectory(), bearer: { keys: KEYS } });
    const served = await listen(
      (req, res) => auth(req, res, () => res.end('hi')),
      () => auth.close(),
    );
    try {
      assert.equal((await fetchJwks(served.url)).status, 401);
    } finally {
      await served.close();
    }
  });

  it('the Fastify plugin and the Koa middleware serve it too', async () => {
    const options = { verifier: testDirectory(), bearer: { keys: KEYS, jwksPath: JWKS_PATH } };
    const app = Fastify();
    await app.register(ntlmPlugin, options);
    app.get('/', async () => 'hi');
    const fastifyUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const koa = new Koa();
    const koaAuth = koaNtlm(options);
    koa.use(koaAuth);
    koa.use((ctx) => {
      ctx.body = 'hi';
    });
    const koaServed = await listen(koa.callback(), () => koaAuth.close());
    try {
      for (const url of [fastifyUrl, koaServed.url]) {
        const jwks = await fetchJwks(url);
        assert.equal(jwks.status, 200, url);
        assert.match(jwks.type ?? '', /^application\/json/);
        assertPublicOnly(jwks);
        await assertTokenVerifies(url, jwks.body!);
      }
      assert.deepEqual(app.ntlm.jwks(), koaAuth.jwks());
    } finally {
      await app.close();
      await koaServed.close();
    }
  });

  describe('the gateway (header mode)', () => {
    let upstream: EchoUpstream;
    let gateway: Gateway;
    let url: string;
    before(async () => {
      upstream = await startEchoUpstream();
      gateway = createGateway({
        upstream: upstream.url,
        auth: { verifier: testDirectory(), bearer: { keys: KEYS } },
      });
      const address = await gateway.listen(0, '127.0.0.1');
      url = `http://127.0.0.1:${address.port}`;
    });
    after(async () => {
      await gateway?.close();
      await upstream?.close();
    });

    it('answers /.well-known/jwks.json without authentication, never sending it upstream', async () => {
      const before = upstream.seen.length;
      const jwks = await fetchJwks(url);
      assert.equal(jwks.status, 200);
      assertPublicOnly(jwks);
      assert.equal(upstream.seen.length, before, 'not forwarded');
      await assertTokenVerifies(url, jwks.body!);
    });
  });
});
