import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidTokenError } from '../../src/errors.js';
import { decodeAuthenticate, encodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { AvId, decodeAvPairs, encodeAvPairs } from '../../src/ntlm/av-pairs.js';
import { decodeChallenge, encodeChallenge } from '../../src/ntlm/challenge.js';
import { NegotiateFlags as F } from '../../src/ntlm/flags.js';
import { decodeNegotiate, encodeNegotiate } from '../../src/ntlm/negotiate.js';
import { decodeNtlmV2Response, encodeClientChallengeBlob } from '../../src/ntlm/ntlmv2-response.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import { challengeFlags } from '../../src/ntlm/server-challenge.js';
import { parseAuthorization } from '../../src/session/authorization.js';

const invalid =
  (code = 'ERR_NTLM_INVALID_TOKEN') =>
  (error: unknown) =>
    error instanceof InvalidTokenError && error.code === code && error.statusCode === 400;

function sampleAuthenticate(overrides: Partial<Parameters<typeof encodeAuthenticate>[0]> = {}): Buffer {
  return encodeAuthenticate({
    flags: F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM | F.NEGOTIATE_VERSION,
    lmChallengeResponse: Buffer.alloc(24),
    ntChallengeResponse: Buffer.concat([
      Buffer.alloc(16, 7),
      Buffer.from([1, 1]),
      Buffer.alloc(26),
      Buffer.alloc(8),
    ]),
    domain: 'EXAMPLE',
    user: 'alice',
    workstation: 'PC1',
    ...overrides,
  });
}

describe('NEGOTIATE (Type 1)', () => {
  it('round-trips, reading OEM names only when their flags say so', () => {
    const flags =
      F.NEGOTIATE_UNICODE | F.NEGOTIATE_OEM_DOMAIN_SUPPLIED | F.NEGOTIATE_OEM_WORKSTATION_SUPPLIED;
    const message = decodeNegotiate(encodeNegotiate({ flags, domain: 'EXAMPLE', workstation: 'PC1' }));
    assert.deepEqual([message.flags, message.domain, message.workstation], [flags, 'EXAMPLE', 'PC1']);
    const unflagged = decodeNegotiate(encodeNegotiate({ flags: F.NEGOTIATE_UNICODE, domain: 'EXAMPLE' }));
    assert.equal(unflagged.domain, '');
  });

  it('accepts the 16-byte form old clients send', () => {
    const short = encodeNegotiate({ flags: F.NEGOTIATE_NTLM }).subarray(0, 16);
    assert.equal(decodeNegotiate(short).flags, F.NEGOTIATE_NTLM);
  });

  it('refuses a wrong signature, a wrong type, truncation and oversize', () => {
    const good = encodeNegotiate({ flags: F.NEGOTIATE_NTLM });
    assert.throws(() => decodeNegotiate(Buffer.from('NTLMSSX\0\x01\0\0\0\0\0\0\0', 'latin1')), invalid());
    assert.throws(() => decodeNegotiate(good.subarray(0, 11)), invalid());
    assert.throws(() => decodeNegotiate(good.subarray(0, 14)), invalid());
    assert.throws(() => decodeNegotiate(sampleAuthenticate()), invalid('ERR_NTLM_UNEXPECTED_MESSAGE'));
    assert.throws(
      () => decodeNegotiate(Buffer.concat([good, Buffer.alloc(17_000)])),
      invalid('ERR_NTLM_TOKEN_TOO_LARGE'),
    );
  });
});

describe('CHALLENGE (Type 2)', () => {
  it('round-trips with target info', () => {
    const targetInfo = encodeAvPairs([
      { id: AvId.MsvAvNbDomainName, value: Buffer.from('EXAMPLE', 'utf16le') },
    ]);
    const token = encodeChallenge({
      flags: F.NEGOTIATE_UNICODE | F.NEGOTIATE_TARGET_INFO,
      targetName: 'EXAMPLE',
      serverChallenge: Buffer.alloc(8, 9),
      targetInfo,
    });
    const message = decodeChallenge(token);
    assert.equal(message.targetName, 'EXAMPLE');
    assert.deepEqual(message.targetInfo, targetInfo);
  });

  it('chooses Unicode unless the client offers only OEM, and echoes only known flags', () => {
    assert.equal(
      challengeFlags(F.NEGOTIATE_UNICODE | F.NEGOTIATE_OEM) & F.NEGOTIATE_UNICODE,
      F.NEGOTIATE_UNICODE,
    );
    assert.equal(challengeFlags(F.NEGOTIATE_OEM) & (F.NEGOTIATE_UNICODE | F.NEGOTIATE_OEM), F.NEGOTIATE_OEM);
    assert.equal(
      challengeFlags(F.NEGOTIATE_DATAGRAM | F.NEGOTIATE_LM_KEY) & (F.NEGOTIATE_DATAGRAM | F.NEGOTIATE_LM_KEY),
      0,
    );
  });
});

describe('AUTHENTICATE (Type 3)', () => {
  it('round-trips and finds the MIC slot', () => {
    const message = decodeAuthenticate(sampleAuthenticate());
    assert.deepEqual([message.user, message.domain, message.workstation], ['alice', 'EXAMPLE', 'PC1']);
    assert.equal(message.mic?.length, 16);
    assert.equal(message.version?.length, 8);
  });

  it('reads OEM names when Unicode was not negotiated', () => {
    const message = decodeAuthenticate(sampleAuthenticate({ flags: F.NEGOTIATE_OEM | F.NEGOTIATE_NTLM }));
    assert.equal(message.user, 'alice');
  });

  it('refuses fields outside the token, inside the header, oversized, odd Unicode or with control characters', () => {
    const good = sampleAuthenticate();
    const mutate = (fn: (b: Buffer) => void) => {
      const copy = Buffer.from(good);
      fn(copy);
      return copy;
    };
    assert.throws(
      () => decodeAuthenticate(mutate((b) => b.writeUInt32LE(0xffffffff, 40))),
      invalid(),
      'offset past end',
    );
    assert.throws(
      () => decodeAuthenticate(mutate((b) => b.writeUInt32LE(b.length - 2, 40))),
      invalid(),
      'runs past end',
    );
    assert.throws(
      () => decodeAuthenticate(mutate((b) => b.writeUInt32LE(8, 40))),
      invalid(),
      'inside the header',
    );
    assert.throws(
      () => decodeAuthenticate(mutate((b) => b.writeUInt16LE(0xffff, 12))),
      invalid(),
      'LM too long',
    );
    assert.throws(
      () => decodeAuthenticate(mutate((b) => b.writeUInt16LE(9, 36))),
      invalid(),
      'odd Unicode length',
    );
    assert.throws(() => decodeAuthenticate(good.subarray(0, 63)), invalid(), 'truncated header');
    assert.throws(
      () => decodeAuthenticate(sampleAuthenticate({ user: 'al\nice' })),
      invalid(),
      'newline in user name',
    );
    assert.throws(
      () => decodeAuthenticate(sampleAuthenticate({ workstation: 'x'.repeat(300) })),
      invalid(),
      '600-byte name',
    );
  });

  it('refuses a user, domain or workstation name that is not UTF-16 (a lone surrogate), for every verifier', () => {
    for (const field of ['user', 'domain', 'workstation'] as const) {
      for (const name of ['alice\uD800x', 'alice\uDC00', '\uD800']) {
        assert.throws(
          () => decodeAuthenticate(sampleAuthenticate({ [field]: name })),
          invalid(),
          `${field} ${JSON.stringify(name)}`,
        );
      }
    }
    // A surrogate pair is UTF-16: an emoji in a name is read as it is.
    assert.equal(
      decodeAuthenticate(sampleAuthenticate({ user: 'al\uD83D\uDE00ice' })).user,
      'al\uD83D\uDE00ice',
    );
  });

  it('has no room for a MIC when the payload starts at 64', () => {
    const token = sampleAuthenticate();
    // Move every field descriptor 24 bytes down and cut the Version and MIC slots out.
    const compact = Buffer.concat([token.subarray(0, 64), token.subarray(88)]);
    for (let d = 12; d <= 52; d += 8) compact.writeUInt32LE(compact.readUInt32LE(d + 4) - 24, d + 4);
    const message = decodeAuthenticate(compact);
    assert.equal(message.mic, undefined);
    assert.equal(message.user, 'alice');
  });
});

describe('AV pairs', () => {
  it('needs an EOL inside the buffer and refuses pairs that run past it', () => {
    assert.throws(() => decodeAvPairs(Buffer.from([1, 0, 2, 0, 65, 0])), invalid());
    assert.throws(() => decodeAvPairs(Buffer.from([1, 0, 0xff, 0xff, 65, 0, 0, 0, 0, 0])), invalid());
    assert.deepEqual(decodeAvPairs(Buffer.from([0, 0, 0, 0, 9, 9])), []);
  });

  it('refuses a name AV pair of the NTLMv2 blob that is not UTF-16, before any verifier (fuzz finding 2)', () => {
    const response = (pairs: { id: number; value: Buffer }[]) =>
      Buffer.concat([Buffer.alloc(16), encodeClientChallengeBlob(0n, Buffer.alloc(8), pairs)]);
    const names = [
      AvId.MsvAvNbComputerName,
      AvId.MsvAvNbDomainName,
      AvId.MsvAvDnsComputerName,
      AvId.MsvAvDnsDomainName,
      AvId.MsvAvDnsTreeName,
      AvId.MsvAvTargetName,
    ];
    for (const id of names) {
      for (const value of [
        Buffer.from('WEB'),
        Buffer.from('a\uD800b', 'utf16le'),
        Buffer.from('\uDC00', 'utf16le'),
      ]) {
        assert.throws(
          () => decodeNtlmV2Response(response([{ id, value }])),
          invalid(),
          `pair ${id} ${value.toString('hex')}`,
        );
      }
      // A surrogate pair is UTF-16.
      const emoji = Buffer.from('web\uD83D\uDE00', 'utf16le');
      assert.deepEqual(decodeNtlmV2Response(response([{ id, value: emoji }])).avPairs, [
        { id, value: emoji },
      ]);
    }
    // Pairs that are not names keep their bytes: a 3-byte timestamp is not this check's business.
    assert.equal(
      decodeNtlmV2Response(response([{ id: AvId.MsvAvSingleHost, value: Buffer.from('abc') }])).avPairs
        .length,
      1,
    );
  });
});

describe('logon policy', () => {
  it('refuses anonymous, NTLMv1 and LM-only logons, and breaks on half-sized responses', () => {
    const policy = (overrides: Partial<Parameters<typeof encodeAuthenticate>[0]>) =>
      checkLogonPolicy(decodeAuthenticate(sampleAuthenticate(overrides)));
    const code = (expected: string) => (error: unknown) => (error as { code?: string }).code === expected;
    assert.throws(
      () => policy({ user: '', ntChallengeResponse: Buffer.alloc(0), lmChallengeResponse: Buffer.alloc(1) }),
      code('ERR_NTLM_ANONYMOUS_REFUSED'),
    );
    assert.throws(() => policy({ user: '' }), code('ERR_NTLM_ANONYMOUS_REFUSED'));
    assert.throws(() => policy({ ntChallengeResponse: Buffer.alloc(24, 1) }), code('ERR_NTLM_V1_REFUSED'));
    assert.throws(() => policy({ ntChallengeResponse: Buffer.alloc(0) }), code('ERR_NTLM_V1_REFUSED'));
    assert.throws(() => policy({ ntChallengeResponse: Buffer.alloc(30) }), invalid());
    assert.equal(policy({}).ntProofStr.length, 16);
  });
});

describe('Authorization header', () => {
  it('tells handshake legs (NTLM, Negotiate with any token) from other schemes', () => {
    const token = encodeNegotiate({ flags: F.NEGOTIATE_NTLM });
    assert.equal(parseAuthorization(undefined).kind, 'none');
    assert.deepEqual(parseAuthorization(`NTLM ${token.toString('base64')}`), {
      kind: 'token',
      scheme: 'NTLM',
      token,
    });
    assert.deepEqual(parseAuthorization(`negotiate ${token.toString('base64')}`), {
      kind: 'token',
      scheme: 'Negotiate',
      token,
    });
    // SPNEGO is a leg too: whether a mechanism accepts it is the authenticator's call.
    assert.deepEqual(parseAuthorization('Negotiate YIIBBgYGKwYBBQUCoA=='), {
      kind: 'token',
      scheme: 'Negotiate',
      token: Buffer.from('YIIBBgYGKwYBBQUCoA==', 'base64'),
    });
    assert.deepEqual(parseAuthorization('Basic YTpi'), {
      kind: 'other',
      scheme: 'Basic',
      credentials: 'YTpi',
    });
    assert.throws(() => parseAuthorization('NTLM a*b'), invalid('ERR_NTLM_INVALID_HEADER'));
    assert.throws(
      () => parseAuthorization(`NTLM ${'A'.repeat(30_000)}`),
      invalid('ERR_NTLM_TOKEN_TOO_LARGE'),
    );
  });
});
