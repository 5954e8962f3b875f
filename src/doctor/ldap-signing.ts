import type tls from 'node:tls';
import { ResultCode } from '../dc/dc-errors.js';
import { LdapConnection } from '../dc/ldap-connection.js';
import { encodeAuthenticate } from '../ntlm/authenticate.js';
import { decodeChallenge } from '../ntlm/challenge.js';
import { NegotiateFlags as F } from '../ntlm/flags.js';
import { encodeNegotiate } from '../ntlm/negotiate.js';
import { type CheckResult, describeError, fail, pass } from './check.js';

const CHECK = 'LDAP signing';

/** What curl and browsers offer: NTLMv2 with extended session security, and no SIGN or SEAL. */
const UNSIGNED_CLIENT_FLAGS =
  F.NEGOTIATE_UNICODE |
  F.NEGOTIATE_OEM |
  F.REQUEST_TARGET |
  F.NEGOTIATE_NTLM |
  F.NEGOTIATE_ALWAYS_SIGN |
  F.NEGOTIATE_EXTENDED_SESSIONSECURITY |
  F.NEGOTIATE_128 |
  F.NEGOTIATE_56;

export const SIGNING_REQUIRED_FIX =
  'the relay cannot work here; use Netlogon (--netlogon HOSTS --machine-account NAME --machine-password-file FILE) ' +
  'or set `ldap server require strong auth = no` (Samba) / "Domain controller: LDAP server signing requirements" = None (AD)';

/**
 * Binds as the relay would for a client that does not sign: SASL GSS-SPNEGO with an NTLM
 * NEGOTIATE, then an anonymous AUTHENTICATE (MS-NLMP 3.1.5.1.2: empty user, empty NT response,
 * one zero byte of LM response), so no account is ever tried or locked. A DC that requires
 * signing answers strongerAuthRequired (RFC 4511 4.1.9) to exactly this, as it would to every
 * curl or browser logon.
 */
export async function checkLdapSigning(
  url: string,
  options: { connectTimeoutMs: number; operationTimeoutMs: number; tls?: tls.ConnectionOptions },
): Promise<CheckResult> {
  let connection: LdapConnection | undefined;
  try {
    connection = await LdapConnection.connect({ url, ...options });
    const first = await connection.saslBind('GSS-SPNEGO', encodeNegotiate({ flags: UNSIGNED_CLIENT_FLAGS }));
    if (first.result.resultCode === ResultCode.strongerAuthRequired) return signingRequired(first.result);
    if (first.result.resultCode !== ResultCode.saslBindInProgress || !first.serverSaslCreds) {
      return fail(
        CHECK,
        `the DC answered our NEGOTIATE with ${answer(first.result)}`,
        'the relay needs SASL GSS-SPNEGO with NTLM: use an Active Directory or Samba AD DC',
      );
    }
    const challenge = decodeChallenge(first.serverSaslCreds);
    const second = await connection.saslBind(
      'GSS-SPNEGO',
      encodeAuthenticate({
        flags: (challenge.flags & UNSIGNED_CLIENT_FLAGS) | F.ANONYMOUS,
        lmChallengeResponse: Buffer.alloc(1),
        ntChallengeResponse: Buffer.alloc(0),
        domain: '',
        user: '',
        workstation: '',
      }),
    );
    const code = second.result.resultCode;
    if (code === ResultCode.strongerAuthRequired) return signingRequired(second.result);
    if (code === ResultCode.success || code === ResultCode.invalidCredentials) {
      // Either verdict on the logon itself means the DC looked at it instead of refusing the
      // unsigned connection: a relayed client logon gets the same treatment.
      return pass(CHECK, `not required: an unsigned relayed bind gets a verdict (${answer(second.result)})`);
    }
    return fail(
      CHECK,
      `the DC answered the relayed AUTHENTICATE with ${answer(second.result)}`,
      'look up that result in the DC’s LDAP policy (LDAP channel binding, LDAP signing) before relying on the relay',
    );
  } catch (error) {
    return fail(
      CHECK,
      `the test bind broke off: ${describeError(error)}`,
      'check that the DC answers LDAP here',
    );
  } finally {
    connection?.close();
  }
}

function answer(result: { resultCode: number; diagnosticMessage: string }): string {
  return `result ${result.resultCode}${result.diagnosticMessage ? ` "${result.diagnosticMessage}"` : ''}`;
}

function signingRequired(result: { resultCode: number; diagnosticMessage: string }): CheckResult {
  return fail(
    CHECK,
    'this DC requires LDAP signing',
    `${SIGNING_REQUIRED_FIX}; the DC answered ${answer(result)}`,
  );
}
