import { encodeAuthenticate } from '../ntlm/authenticate.js';
import { decodeChallenge } from '../ntlm/challenge.js';
import { NegotiateFlags as F } from '../ntlm/flags.js';
import { encodeNegotiate } from '../ntlm/negotiate.js';
import { ResultCode } from './dc-errors.js';
import type { LdapResult } from './ldap-messages.js';

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

/** What to change when a DC requires LDAP signing: the doctor prints it, readiness logs it. */
export const SIGNING_REQUIRED_FIX =
  'the relay cannot work here; use Netlogon (--netlogon HOSTS --machine-account NAME --machine-password-file FILE, or netlogon() in code) ' +
  'or set `ldap server require strong auth = no` (Samba) / "Domain controller: LDAP server signing requirements" = None (AD)';

/**
 * The DC's answer to a relay-style bind of a client that does not sign:
 * - `required`: strongerAuthRequired, as every curl or browser logon would get;
 * - `not-required`: a verdict on the (anonymous) logon itself;
 * - `unexpected`: anything else, at the NEGOTIATE or the AUTHENTICATE.
 */
export type SigningAnswer =
  | { readonly verdict: 'required'; readonly result: LdapResult }
  | { readonly verdict: 'not-required'; readonly result: LdapResult }
  | {
      readonly verdict: 'unexpected';
      readonly step: 'NEGOTIATE' | 'AUTHENTICATE';
      readonly result: LdapResult;
    };

/** The part of an LDAP connection the probe needs (LdapConnection). */
export interface SaslBinder {
  saslBind(
    mechanism: string,
    token: Buffer,
  ): Promise<{ result: LdapResult; serverSaslCreds: Buffer | undefined }>;
}

/**
 * Binds as the relay would for a client that does not sign: SASL GSS-SPNEGO with an NTLM
 * NEGOTIATE, then an anonymous AUTHENTICATE (MS-NLMP 3.1.5.1.2: empty user, empty NT response,
 * one zero byte of LM response), so no account is ever tried or locked. A DC that requires
 * signing answers strongerAuthRequired (RFC 4511 4.1.9) to exactly this. Transport failures
 * are thrown (LdapTransportError).
 */
export async function probeSigning(connection: SaslBinder): Promise<SigningAnswer> {
  const first = await connection.saslBind('GSS-SPNEGO', encodeNegotiate({ flags: UNSIGNED_CLIENT_FLAGS }));
  if (first.result.resultCode === ResultCode.strongerAuthRequired)
    return { verdict: 'required', result: first.result };
  if (first.result.resultCode !== ResultCode.saslBindInProgress || !first.serverSaslCreds)
    return { verdict: 'unexpected', step: 'NEGOTIATE', result: first.result };
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
  if (code === ResultCode.strongerAuthRequired) return { verdict: 'required', result: second.result };
  // Either verdict on the logon itself means the DC looked at it instead of refusing the
  // unsigned connection: a relayed client logon gets the same treatment.
  if (code === ResultCode.success || code === ResultCode.invalidCredentials)
    return { verdict: 'not-required', result: second.result };
  return { verdict: 'unexpected', step: 'AUTHENTICATE', result: second.result };
}

/** `result 8 "SASL:[GSS-SPNEGO]: Sign or Seal are required."` */
export function describeResult(result: LdapResult): string {
  return `result ${result.resultCode}${result.diagnosticMessage ? ` "${result.diagnosticMessage}"` : ''}`;
}
