// Property test: no input, random or mutated from real tokens, makes the wire layer or the
// acceptor throw anything but our typed errors. 100,000 tokens through the decoders and the
// logon checks, and 5,000 more through the per-connection acceptor.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { composeOptions } from '../../src/compose.js';
import { isNtlmError } from '../../src/errors.js';
import { createAuthenticator } from '../../src/http/middleware.js';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { decodeAvPairs } from '../../src/ntlm/av-pairs.js';
import { decodeChallenge } from '../../src/ntlm/challenge.js';
import { ntowfv1 } from '../../src/ntlm/crypto.js';
import { SIGNATURE } from '../../src/ntlm/fields.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import { decodeNtlmV2Response } from '../../src/ntlm/ntlmv2-response.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import { verifyNtlmV2 } from '../../src/ntlm/verify-ntlmv2.js';
import { parseAuthorization } from '../../src/session/authorization.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { ALICE, testDirectory } from '../helpers/servers.js';

const fixtures = Object.values(
  JSON.parse(readFileSync(new URL('../fixtures/client-tokens.json', import.meta.url), 'utf8')) as Record<
    string,
    { negotiate: string; challenge: string; authenticate: string; at: number; password: string }
  >,
);
const seeds = fixtures.flatMap((f) =>
  [f.negotiate, f.challenge, f.authenticate].map((t) => Buffer.from(t, 'base64')),
);

const BOUNDARIES = [
  0, 1, 2, 7, 8, 15, 16, 24, 48, 64, 72, 88, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0xffffffff,
];

/** One mutation of a token: the edits a fuzzer of length-prefixed formats finds most bugs with. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARIES) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARIES) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

function mutate(
  token: Buffer,
  edits: ReadonlyArray<typeof mutation extends fc.Arbitrary<infer T> ? T : never>,
): Buffer {
  let out = Buffer.from(token);
  for (const edit of edits) {
    if (out.length === 0 && edit.kind !== 'append') continue;
    switch (edit.kind) {
      case 'flip':
        out[edit.at % out.length]! ^= 1 << edit.bit;
        break;
      case 'u16':
        if (out.length >= 2) out.writeUInt16LE(edit.value & 0xffff, edit.at % (out.length - 1));
        break;
      case 'u32':
        if (out.length >= 4) out.writeUInt32LE(edit.value >>> 0, edit.at % (out.length - 3));
        break;
      case 'truncate':
        out = out.subarray(0, edit.at % out.length);
        break;
      case 'append':
        out = Buffer.concat([out, edit.bytes]);
        break;
    }
  }
  return out;
}

const tokens = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([seed, edits]) => mutate(seed, edits)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 160 }))
      .map(([type, rest]) => Buffer.concat([SIGNATURE, Buffer.from([type, 0, 0, 0]), rest])),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
);

/**
 * What decoding promises beyond "no crash": every field it returns is exactly as long as its
 * descriptor says, and is made of the token's own bytes at the declared offset (a clamped or
 * out-of-bounds read would show here).
 */
function assertFieldsAreTheTokensBytes(token: Buffer, fields: Array<[number, Buffer]>): void {
  for (const [descriptor, value] of fields) {
    const length = token.readUInt16LE(descriptor);
    assert.equal(value.length, length, `field at ${descriptor}: length`);
    if (length > 0) {
      const offset = token.readUInt32LE(descriptor + 4);
      assert.ok(offset + length <= token.length, `field at ${descriptor} inside the token`);
      assert.deepEqual(value, token.subarray(offset, offset + length), `field at ${descriptor}: bytes`);
    }
  }
}

const nameBytes = (name: string, unicode: boolean) => Buffer.from(name, unicode ? 'utf16le' : 'latin1');

/** Runs `fn`, and fails the property if it throws anything but one of our typed errors. */
function onlyTypedErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isNtlmError(error)) throw error;
  }
}

describe('fuzzing the wire layer', () => {
  it('100,000 random and mutated tokens raise nothing but typed errors', async () => {
    const fixture = fixtures[0]!;
    const ntHash = await ntowfv1(fixture.password);
    const negotiateToken = Buffer.from(fixture.negotiate, 'base64');
    const challengeToken = Buffer.from(fixture.challenge, 'base64');
    const serverChallenge = decodeChallenge(challengeToken).serverChallenge;
    let decodedSome = 0;
    fc.assert(
      fc.property(tokens, (token) => {
        onlyTypedErrors(() => decodeNegotiate(token));
        onlyTypedErrors(() => {
          const challenge = decodeChallenge(token);
          assertFieldsAreTheTokensBytes(token, [[40, challenge.targetInfo]]);
        });
        onlyTypedErrors(() => decodeAvPairs(token));
        onlyTypedErrors(() => decodeNtlmV2Response(token));
        onlyTypedErrors(() => parseAuthorization(`NTLM ${token.toString('base64')}`));
        onlyTypedErrors(() => {
          const authenticate = decodeAuthenticate(token);
          decodedSome++;
          const unicode = (authenticate.flags & 1) === 1;
          assertFieldsAreTheTokensBytes(token, [
            [12, authenticate.lmChallengeResponse],
            [20, authenticate.ntChallengeResponse],
            [28, nameBytes(authenticate.domain, unicode)],
            [36, nameBytes(authenticate.user, unicode)],
            [44, nameBytes(authenticate.workstation, unicode)],
            [52, authenticate.encryptedRandomSessionKey],
          ]);
          const response = checkLogonPolicy(authenticate);
          verifyNtlmV2({
            ntHash,
            serverChallenge,
            negotiateToken,
            challengeToken,
            authenticateToken: token,
            authenticate,
            response,
            now: fixture.at,
            maxClockSkewMs: 300_000,
          });
        });
      }),
      { numRuns: 100_000, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    assert.ok(decodedSome > 1000, `mutations should often still decode (${decodedSome} did)`);
  });

  it('5,000 mutated AUTHENTICATE messages through the authenticator settle with typed errors', async () => {
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const authenticator = createAuthenticator(
      composeOptions({
        verifier: testDirectory(),
        logger: quiet,
        maxPendingHandshakes: 10,
        maxConnections: 10,
      }),
    );
    const socket = new Socket();
    const request = (token: Buffer) => ({
      socket,
      authorization: `NTLM ${token.toString('base64')}`,
      cookie: undefined,
      clientAddress: '127.0.0.1',
    });
    const negotiate = type1();
    const edits = fc.sample(fc.array(mutation, { minLength: 1, maxLength: 3 }), { numRuns: 5_000, seed: 42 });
    let accepted = 0;
    for (const edit of edits) {
      const leg = await authenticator.authenticate(request(negotiate));
      assert.equal(leg.kind, 'challenge');
      const challenge = Buffer.from((leg.kind === 'challenge' ? leg.offers[0]! : '').slice(5), 'base64');
      const token = mutate(await type3(negotiate, challenge, ALICE), edit);
      // Anything but a typed error would reject here instead of becoming a decision.
      const result = await authenticator.authenticate(request(token));
      if (result.kind === 'pass') accepted++;
      // A mutation may turn the message into a NEGOTIATE, which starts over with a challenge.
      else assert.ok(result.kind === 'fail' || result.kind === 'challenge', result.kind);
    }
    assert.equal(authenticator.counts.pending, 0, 'no handshake left pending');
    assert.ok(accepted < 5_000, 'most mutations are refused');
    socket.destroy();
  });
});
