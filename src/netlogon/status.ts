import { type AuthenticationCode, AuthenticationError, ServiceUnavailableError } from '../errors.js';

/**
 * NTSTATUS values of NetrLogonSamLogonEx (MS-ERREF 2.3.1) mapped to the project's errors.
 * Wrong password and unknown user get the same code, so that a client cannot tell which names
 * exist; the log line keeps the DC's status.
 */
const LOGON_STATUS: Record<number, [AuthenticationCode, string]> = {
  0xc000006a: ['ERR_NTLM_LOGON_FAILED', 'wrong password'],
  0xc0000064: ['ERR_NTLM_LOGON_FAILED', 'no such user'],
  0xc000006d: ['ERR_NTLM_LOGON_FAILED', 'logon failure'],
  0xc000006e: ['ERR_NTLM_LOGON_FAILED', 'account restriction'],
  0xc000006f: ['ERR_NTLM_LOGON_FAILED', 'logon not permitted at this time'],
  0xc0000070: ['ERR_NTLM_LOGON_FAILED', 'logon not permitted from this workstation'],
  0xc000015b: ['ERR_NTLM_LOGON_FAILED', 'logon type not granted'],
  0xc0000413: ['ERR_NTLM_LOGON_FAILED', 'authentication firewall'],
  0xc0000071: ['ERR_NTLM_PASSWORD_EXPIRED', 'password expired'],
  0xc0000224: ['ERR_NTLM_PASSWORD_EXPIRED', 'password must be changed'],
  0xc0000072: ['ERR_NTLM_ACCOUNT_DISABLED', 'account disabled'],
  0xc0000193: ['ERR_NTLM_ACCOUNT_DISABLED', 'account expired'],
  0xc0000234: ['ERR_NTLM_ACCOUNT_LOCKED', 'account locked out'],
  0xc000005e: ['ERR_NTLM_UNKNOWN_DOMAIN', 'no logon server for the domain'],
  0xc00000df: ['ERR_NTLM_UNKNOWN_DOMAIN', 'no such domain'],
};

export function statusText(status: number): string {
  return `0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** The error for a refused NetrLogonSamLogonEx: a 401 for a logon verdict, else a 503. */
export function logonFailure(status: number, dc: string, claimedUser: string): Error {
  const known = LOGON_STATUS[status >>> 0];
  if (known) {
    const [code, reason] = known;
    return new AuthenticationError(code, `${reason} (${dc} answered ${statusText(status)})`, { claimedUser });
  }
  return new ServiceUnavailableError(
    'ERR_NTLM_DC_ERROR',
    `${dc} refused the Netlogon call with ${statusText(status)}`,
  );
}
