// Tokens captured from real clients (test/fixtures/capture-client-tokens.ts): curl, python
// requests-ntlm and Chromium. Our verifier must accept each, and refuse it with one bit changed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationError } from '../../src/errors.js';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { AvFlags, readAvFlags } from '../../src/ntlm/av-pairs.js';
import { decodeChallenge } from '../../src/ntlm/challenge.js';
import { ntowfv1 } from '../../src/ntlm/crypto.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import { verifyNtlmV2 } from '../../src/ntlm/verify-ntlmv2.js';

interface Fixture {
  negotiate: string;
  challenge: string;
  authenticate: string;
  at: number;
  user: string;
  domain: string;
  password: string;
}
const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/client-tokens.json', import.meta.url), 'utf8'),
) as Record<string, Fixture>;

async function verify(fixture: Fixture, authenticateToken: Buffer) {
  const negotiateToken = Buffer.from(fixture.negotiate, 'base64');
  const challengeToken = Buffer.from(fixture.challenge, 'base64');
  const authenticate = decodeAuthenticate(authenticateToken);
  const response = checkLogonPolicy(authenticate);
  verifyNtlmV2({
    ntHash: await ntowfv1(fixture.password),
    serverChallenge: decodeChallenge(challengeToken).serverChallenge,
    negotiateToken,
    challengeToken,
    authenticateToken,
    authenticate,
    response,
    now: fixture.at,
    maxClockSkewMs: 300_000,
  });
  return { authenticate, response };
}

describe('tokens captured from real clients', () => {
  assert.deepEqual(Object.keys(fixtures).sort(), ['chromium', 'curl', 'python-requests-ntlm']);
  for (const [client, fixture] of Object.entries(fixtures)) {
    it(`${client}: decodes and verifies`, async () => {
      decodeNegotiate(Buffer.from(fixture.negotiate, 'base64'));
      const { authenticate } = await verify(fixture, Buffer.from(fixture.authenticate, 'base64'));
      assert.equal(authenticate.user.toLowerCase(), fixture.user);
    });

    it(`${client}: a flipped bit in the NTLMv2 response is refused`, async () => {
      const token = Buffer.from(fixture.authenticate, 'base64');
      const nt = decodeAuthenticate(token).ntChallengeResponse;
      const offset = nt.byteOffset - token.byteOffset + 20; // inside the timestamp of the client blob
      token[offset]! ^= 0x80;
      await assert.rejects(
        verify(fixture, token),
        (e) => e instanceof AuthenticationError && e.code === 'ERR_NTLM_LOGON_FAILED',
      );
    });
  }

  it('Chromium and requests-ntlm send a MIC, and it is checked', async () => {
    for (const client of ['chromium', 'python-requests-ntlm']) {
      const fixture = fixtures[client]!;
      const token = Buffer.from(fixture.authenticate, 'base64');
      const { response } = await verify(fixture, token);
      assert.equal(readAvFlags(response.avPairs) & AvFlags.MIC_PRESENT, AvFlags.MIC_PRESENT, client);
      token[80]! ^= 0x01;
      await assert.rejects(
        verify(fixture, token),
        (e) => (e as { code?: string }).code === 'ERR_NTLM_BAD_MIC',
        client,
      );
    }
  });
});
