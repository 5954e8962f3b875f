import { type AuthenticationCode, AuthenticationError, ServiceUnavailableError } from '../errors.js';
import type { LdapResult } from './ldap-messages.js';

/** LDAP result codes we act on (RFC 4511 4.1.9). */
export const ResultCode = {
  success: 0,
  strongerAuthRequired: 8,
  saslBindInProgress: 14,
  invalidCredentials: 49,
  unwillingToPerform: 53,
} as const;

/**
 * The Windows status behind "data XXX" in an AD/Samba bind diagnostic, e.g.
 * "80090308: LdapErr: DSID-0C0904DC, comment: AcceptSecurityContext error, data 52e, v1db1".
 */
const LOGON_STATUS: Record<string, [AuthenticationCode, string]> = {
  '525': ['ERR_NTLM_LOGON_FAILED', 'no such user'],
  '52e': ['ERR_NTLM_LOGON_FAILED', 'wrong password or unknown user'],
  '530': ['ERR_NTLM_LOGON_FAILED', 'logon not permitted at this time'],
  '531': ['ERR_NTLM_LOGON_FAILED', 'logon not permitted from this workstation'],
  '532': ['ERR_NTLM_PASSWORD_EXPIRED', 'password expired'],
  '533': ['ERR_NTLM_ACCOUNT_DISABLED', 'account disabled'],
  '701': ['ERR_NTLM_ACCOUNT_DISABLED', 'account expired'],
  '773': ['ERR_NTLM_PASSWORD_EXPIRED', 'password must be changed at next logon'],
  '775': ['ERR_NTLM_ACCOUNT_LOCKED', 'account locked out'],
  '51f': ['ERR_NTLM_UNKNOWN_DOMAIN', 'no logon server for the domain'],
};

export const SIGNING_ADVICE =
  'the domain controller requires LDAP signing, which a relayed NTLM logon cannot provide for clients that do not sign. ' +
  'Set "ldap server require strong auth = no" (Samba) or "Domain controller: LDAP server signing requirements = None" (AD) ' +
  'on the DCs ntlm-sso uses, or use ldaps:// with "ldap server require strong auth = allow_sasl_over_tls" (Samba)';

/** Turns a failed bind of the client's AUTHENTICATE into the error the middleware answers with. */
export function bindFailure(result: LdapResult, dc: string, claimedUser: string): Error {
  const detail = `${dc} answered ${result.resultCode}: ${result.diagnosticMessage}`;
  if (result.resultCode === ResultCode.invalidCredentials) {
    const status = /\bdata ([0-9a-f]{3,8})\b/i.exec(result.diagnosticMessage)?.[1]?.toLowerCase();
    const [code, reason] = (status && LOGON_STATUS[status]) || ['ERR_NTLM_LOGON_FAILED', 'logon refused'];
    return new AuthenticationError(code, `${reason} (${detail})`, { claimedUser });
  }
  if (result.resultCode === ResultCode.strongerAuthRequired) {
    return new ServiceUnavailableError('ERR_NTLM_DC_REQUIRES_SIGNING', `${SIGNING_ADVICE} (${detail})`);
  }
  return new ServiceUnavailableError(
    'ERR_NTLM_DC_ERROR',
    `the domain controller refused the logon unexpectedly (${detail})`,
  );
}
