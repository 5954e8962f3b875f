import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { composeOptions } from '../../src/compose.js';
import { createAuthenticator } from '../../src/http/middleware.js';
import {
  ConfigurationError,
  localDirectory,
  MemoryStore,
  type NtlmOptions,
  type TokenAlgorithm,
} from '../../src/index.js';
import { BearerTokens, DEFAULT_COOKIE_NAME } from '../../src/session/bearer-tokens.js';

const ALICE = { username: 'alice', domain: 'EXAMPLE', workstation: 'PC', groups: ['Engineering'] };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const tokens = (options: ConstructorParameters<typeof BearerTokens>[0]) =>
  new BearerTokens(options, new MemoryStore());
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An Authenticator taking Bearer tokens signed with `secret`, and no other logon. */
const bearerAuthenticator = (secret: Buffer, options: Partial<NtlmOptions> = {}) =>
  createAuthenticator(
    composeOptions({
      verifier: localDirectory({ domain: 'EXAMPLE', users: [] }),
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      bearer: { secret },
      ...options,
    }),
  );

/** A key pair for each asymmetric algorithm, as a user would generate it. */
const PAIRS: [TokenAlgorithm, ReturnType<typeof generateKeyPairSync>][] = [
  ['RS256', rsa],
  ['RS512', rsa],
  ['PS256', rsa],
  ['ES256', ec],
  ['ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' })],
  ['ES512', generateKeyPairSync('ec', { namedCurve: 'P-521' })],
  ['EdDSA', generateKeyPairSync('ed25519')],
];

describe('Bearer token keys', () => {
  it('signs and checks with every asymmetric algorithm, kid in the header', async () => {
    for (const [algorithm, pair] of PAIRS) {
      const issuer = tokens({ keys: [{ kid: `k-${algorithm}`, algorithm, key: pair.privateKey }] });
      const { token } = await issuer.issue(ALICE);
      const header = decodeProtectedHeader(token);
      assert.deepEqual([header.alg, header.kid, header.typ], [algorithm, `k-${algorithm}`, 'JWT']);
      const checker = tokens({
        keys: [
          { kid: 'hs', algorithm: 'HS256', key: randomBytes(32) },
          { kid: `k-${algorithm}`, algorithm, publicKey: pair.publicKey },
        ],
      });
      assert.equal(
        (await checker.verify(token))?.identity.username,
        'alice',
        `${algorithm}: a verify-only key accepts it`,
      );
    }
  });

  it('keeps the claims: sub, iss, aud, jti, iat and exp beside the identity', async () => {
    const issuer = tokens({ secret: randomBytes(32), expiresInSeconds: 600 });
    const issued = await issuer.issue({ ...ALICE, displayName: 'Alice A.', sid: 'S-1-5-21-1-2-3-1104' });
    const claims = JSON.parse(Buffer.from(issued.token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(
      { ...claims, iat: typeof claims.iat },
      {
        username: 'alice',
        domain: 'EXAMPLE',
        groups: ['Engineering'],
        displayName: 'Alice A.',
        sid: 'S-1-5-21-1-2-3-1104',
        iat: 'number',
        exp: claims.iat + 600,
        iss: 'ntlm-sso',
        aud: 'ntlm-sso',
        sub: 'EXAMPLE\\alice',
        jti: issued.tokenId,
      },
    );
    assert.equal(issued.expiresAt, claims.exp * 1000);
  });

  it('rotates by kid: the new instance accepts old tokens while the old key is listed, not after', async () => {
    const oldKey = { kid: '2026-10', algorithm: 'HS256' as const, key: randomBytes(32) };
    const newKey = { kid: '2026-11', algorithm: 'HS256' as const, key: randomBytes(32) };
    const { token } = await tokens({ keys: [oldKey] }).issue(ALICE);
    assert.ok(await tokens({ keys: [newKey, oldKey] }).verify(token));
    assert.equal(await tokens({ keys: [newKey] }).verify(token), undefined);
  });

  it('refuses algorithm confusion: an HS256 token keyed with the RSA public key', async () => {
    const checker = tokens({ keys: [{ kid: 'rsa', algorithm: 'RS256', key: rsa.privateKey }] });
    const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const now = Math.floor(Date.now() / 1000);
    const claims = { username: 'admin', domain: 'EXAMPLE', jti: 'x', iss: 'ntlm-sso', aud: 'ntlm-sso' };
    const signed = `${b64({ alg: 'HS256', kid: 'rsa', typ: 'JWT' })}.${b64({ ...claims, iat: now, exp: now + 60 })}`;
    const forged = `${signed}.${createHmac('sha256', publicPem).update(signed).digest('base64url')}`;
    assert.equal(await checker.verify(forged), undefined);
  });

  it('refuses a token of another issuer or audience, and one whose kid is not listed', async () => {
    const key = { kid: 'k', algorithm: 'HS256' as const, key: randomBytes(32) };
    const checker = tokens({ keys: [key] });
    for (const other of [{ issuer: 'someone-else' }, { audience: 'another-app' }]) {
      const { token } = await tokens({ keys: [key], ...other }).issue(ALICE);
      assert.equal(await checker.verify(token), undefined, JSON.stringify(other));
    }
    const { token } = await tokens({ keys: [{ ...key, kid: 'unknown' }] }).issue(ALICE);
    assert.equal(await checker.verify(token), undefined, 'unknown kid');
  });

  it('refuses weak or mismatched keys at start-up', () => {
    const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const bad = [
      {},
      { secret: 'too short' },
      { keys: [{ kid: 'a', algorithm: 'HS512' as const, key: randomBytes(32) }] },
      { keys: [{ kid: 'a', algorithm: 'RS256' as const, key: weakRsa.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'ES256' as const, key: p384.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'ES256' as const, key: rsa.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'EdDSA' as const, key: ec.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'RS256' as const, publicKey: rsa.publicKey }] },
      { keys: [{ kid: 'a', algorithm: 'none' as TokenAlgorithm, key: randomBytes(32) }] },
      {
        keys: [
          { kid: 'a', algorithm: 'HS256' as const, key: randomBytes(32) },
          { kid: 'a', algorithm: 'HS256' as const, key: randomBytes(32) },
        ],
      },
    ];
    for (const options of bad)
      assert.throws(() => tokens(options), ConfigurationError, JSON.stringify(options));
  });
});

describe('the JWKS', () => {
  it('lists the public half of each asymmetric key with its kid and alg, and never a secret', async () => {
    const secret = randomBytes(32);
    const keys = [
      { kid: 'hs', algorithm: 'HS256' as const, key: secret },
      ...PAIRS.map(([algorithm, pair]) => ({ kid: `k-${algorithm}`, algorithm, key: pair.privateKey })),
    ];
    const jwks = tokens({ keys }).jwks();
    assert.deepEqual(
      jwks.keys.map(({ kid, alg, kty, use }) => [kid, alg, kty, use]),
      PAIRS.map(([algorithm]) => [
        `k-${algorithm}`,
        algorithm,
        algorithm === 'EdDSA' ? 'OKP' : algorithm.startsWith('ES') ? 'EC' : 'RSA',
        'sig',
      ]),
    );
    const text = JSON.stringify(jwks);
    assert.ok(!/"(d|p|q|dp|dq|qi|k)":/.test(text), 'no private or secret member');
    assert.ok(!text.includes(secret.toString('base64url')));
    // Each published key checks its own tokens in jose.
    const keySet = createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    for (const [index] of PAIRS.entries()) {
      const { token } = await tokens({ keys: [keys[index + 1]!] }).issue(ALICE);
      const { payload } = await jwtVerify(token, keySet, { issuer: 'ntlm-sso', audience: 'ntlm-sso' });
      assert.equal(payload.username, 'alice');
    }
  });

  it('is empty with an HS256 secret alone', () => {
    assert.deepEqual(tokens({ secret: randomBytes(32) }).jwks(), { keys: [] });
  });
});

describe('Bearer token claims', () => {
  const secret = randomBytes(32);
  /** A token signed with our own key, but with claims `issue` never writes. */
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const forged = (claims: Record<string, unknown>) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { username: 'alice', domain: 'EXAMPLE', ...claims, iat: now, exp: now + 60 };
    const signed = `${part({ alg: 'HS256', typ: 'JWT', kid: 'default' })}.${part({ ...payload, iss: 'ntlm-sso', aud: 'ntlm-sso', jti: 'id-1' })}`;
    return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
  };

  it('refuses a token whose groups are not names, or whose names are not text (found by the fuzz)', async () => {
    const checker = tokens({ secret });
    assert.equal((await checker.verify(forged({ groups: ['Engineering'] })))?.identity.username, 'alice');
    for (const claims of [
      { groups: [1, null, {}, 'Engineering'] },
      { groups: [['Engineering']] },
      { groups: 'Engineering' },
      { displayName: { toString: 1 } },
      { mail: 7 },
      { sid: ['S-1-5-21-1'] },
    ]) {
      assert.equal(await checker.verify(forged(claims)), undefined, JSON.stringify(claims));
    }
  });

  it('a token with a group that is not a string gets 401 under allowGroups, not an exception', async () => {
    const authenticator = bearerAuthenticator(secret, { allowGroups: ['Engineering'] });
    const decision = await authenticator.authenticate({
      socket: new Socket(),
      authorization: `Bearer ${forged({ groups: [1, 'Engineering'] })}`,
      cookie: undefined,
      clientAddress: '127.0.0.1',
    });
    assert.equal(decision.kind, 'fail');
    assert.equal(decision.kind === 'fail' && decision.error.code, 'ERR_NTLM_INVALID_BEARER');
  });
});

describe('the verified-token cache', () => {
  const secret = randomBytes(32);

  it('answers a token it verified at once, and not one that only shares its signature', async () => {
    // Alone (no shared store to ask about revocations): a known token's answer is at hand.
    const checker = new BearerTokens({ secret }, undefined);
    const { token } = await checker.issue(ALICE);
    assert.equal(checker.known(token), undefined);
    assert.ok(checker.verify(token) instanceof Promise, 'a new token is checked');
    assert.equal((await checker.verify(token))?.identity.username, 'alice');
    const again = checker.verify(token);
    assert.ok(!(again instanceof Promise), 'a token verified before is answered from the cache');
    assert.equal(again?.identity.username, 'alice');
    assert.equal(checker.known(token)?.token, token);

    // The cache keeps a token under its signature's last characters: another payload under that
    // signature shares the key, and is not it.
    const [header, , signature] = token.split('.');
    const other = `${header}.${b64({ username: 'mallory', domain: 'EXAMPLE', exp: 4_000_000_000, jti: 'x' })}.${signature}`;
    assert.equal(checker.known(other), undefined);
    const forged = checker.verify(other);
    assert.ok(forged instanceof Promise, 'checked, not answered from the entry it shares a key with');
    assert.equal(await forged, undefined);
    assert.equal(checker.known(token)?.token, token, 'and the real token stays known');
  });

  it('still refuses a Bearer header of two words with 400, and takes a known token without looking', async () => {
    const authenticator = bearerAuthenticator(secret);
    const request = (authorization: string) => ({
      socket: new Socket(),
      authorization,
      cookie: undefined,
      clientAddress: '127.0.0.1',
    });
    for (const authorization of [
      'Bearer abc def',
      'Bearer abc\tdef',
      'Bearer abc\u00a0def',
      'Negotiat x y',
    ]) {
      const decision = await authenticator.authenticate(request(authorization));
      assert.equal(decision.kind, 'fail', authorization);
      assert.equal(decision.kind === 'fail' && decision.error.statusCode, 400, authorization);
      assert.equal(decision.kind === 'fail' && decision.error.code, 'ERR_NTLM_INVALID_HEADER', authorization);
    }
    const { token } = await tokens({ secret }).issue(ALICE);
    assert.equal((await authenticator.authenticate(request(`Bearer ${token}`))).kind, 'pass');
    const known = authenticator.authenticate(request(`Bearer ${token}`));
    assert.ok(!(known instanceof Promise), 'a known token: no promise');
    assert.equal(known.kind, 'pass');
    // The scheme in any letter case (RFC 9110 11.1); the exact spelling is only a fast path.
    for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
      const decision = authenticator.authenticate(request(`${scheme} ${token}`));
      assert.equal(decision instanceof Promise ? 'promise' : decision.kind, 'pass', scheme);
    }
  });

  it('takes no token with whitespace inside, which jose would read, from a cookie or a header', async () => {
    const { token } = await tokens({ secret }).issue(ALICE);
    const spaced = `${token.slice(0, -4)} ${token.slice(-4)}`;
    const checker = new BearerTokens({ secret }, undefined);
    assert.equal(await checker.verify(spaced), undefined);
    assert.equal(checker.known(spaced), undefined);
    // The cookie is not read by the header's rule: refused there, it cannot make the header's
    // two words a known token either.
    const authenticator = bearerAuthenticator(secret, { bearer: { secret, cookie: true } });
    const socket = new Socket();
    const viaCookie = await authenticator.authenticate({
      socket,
      authorization: undefined,
      cookie: `${DEFAULT_COOKIE_NAME}=${spaced}`,
      clientAddress: '127.0.0.1',
    });
    assert.equal(viaCookie.kind === 'fail' && viaCookie.error.code, 'ERR_NTLM_INVALID_BEARER');
    const viaHeader = await authenticator.authenticate({
      socket,
      authorization: `Bearer ${spaced}`,
      cookie: undefined,
      clientAddress: '127.0.0.1',
    });
    assert.equal(viaHeader.kind === 'fail' && viaHeader.error.statusCode, 400);
  });
});
