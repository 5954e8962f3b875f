import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { createAuthenticator } from '../../src/http/middleware.js';
import { ConfigurationError, localDirectory, MemoryStore } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { BearerTokens } from '../../src/session/bearer-tokens.js';

const ALICE = { username: 'alice', domain: 'EXAMPLE', workstation: 'PC', groups: ['Engineering'] };
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const tokens = (options: ConstructorParameters<typeof BearerTokens>[0]) =>
  new BearerTokens(options, new MemoryStore());

describe('Bearer token keys', () => {
  it('signs and checks with RS256 and ES256, kid in the header', async () => {
    for (const [algorithm, pair] of [
      ['RS256', rsa],
      ['ES256', ec],
    ] as const) {
      const issuer = tokens({ keys: [{ kid: `k-${algorithm}`, algorithm, key: pair.privateKey }] });
      const { token } = issuer.issue(ALICE);
      const header = jwt.decode(token, { complete: true })?.header;
      assert.deepEqual([header?.alg, header?.kid], [algorithm, `k-${algorithm}`]);
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

  it('rotates by kid: the new instance accepts old tokens while the old key is listed, not after', async () => {
    const oldKey = { kid: '2026-10', algorithm: 'HS256' as const, key: randomBytes(32) };
    const newKey = { kid: '2026-11', algorithm: 'HS256' as const, key: randomBytes(32) };
    const { token } = tokens({ keys: [oldKey] }).issue(ALICE);
    assert.ok(await tokens({ keys: [newKey, oldKey] }).verify(token));
    assert.equal(await tokens({ keys: [newKey] }).verify(token), undefined);
  });

  it('refuses algorithm confusion: an HS256 token keyed with the RSA public key', async () => {
    const checker = tokens({ keys: [{ kid: 'rsa', algorithm: 'RS256', key: rsa.privateKey }] });
    const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' });
    const forged = jwt.sign({ username: 'admin', domain: 'EXAMPLE', jti: 'x' }, publicPem, {
      algorithm: 'HS256',
      keyid: 'rsa',
      issuer: 'ntlm-sso',
      audience: 'ntlm-sso',
    });
    assert.equal(await checker.verify(forged), undefined);
  });

  it('refuses weak or mismatched keys at start-up', () => {
    const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const bad = [
      {},
      { secret: 'too short' },
      { keys: [{ kid: 'a', algorithm: 'RS256' as const, key: weakRsa.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'ES256' as const, key: p384.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'ES256' as const, key: rsa.privateKey }] },
      { keys: [{ kid: 'a', algorithm: 'RS256' as const, publicKey: rsa.publicKey }] },
      {
        keys: [
          { kid: 'a', algorithm: 'HS256' as const, key: randomBytes(32) },
          { kid: 'a', algorithm: 'HS256' as const, key: randomBytes(32) },
        ],
      },
    ];
    for (const options of bad)
      assert.throws(() => tokens(options), ConfigurationError, JSON.stringify(Object.keys(options)));
  });
});

describe('Bearer token claims', () => {
  const secret = randomBytes(32);
  /** A token signed with our own key, but with claims `issue` never writes. */
  const forged = (claims: Record<string, unknown>) =>
    jwt.sign({ username: 'alice', domain: 'EXAMPLE', ...claims }, secret, {
      algorithm: 'HS256',
      keyid: 'default',
      expiresIn: 60,
      issuer: 'ntlm-sso',
      audience: 'ntlm-sso',
      jwtid: 'id-1',
    });

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
    const authenticator = createAuthenticator(
      resolveOptions({
        verifier: localDirectory({ domain: 'EXAMPLE', users: [] }),
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        bearer: { secret },
        allowGroups: ['Engineering'],
      }),
    );
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
