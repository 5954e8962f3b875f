import { type AuthenticationCode, AuthenticationError, ServiceUnavailableError } from '../errors.js';

/**
 * NTSTATUS values of NetrLogonSamLogonEx (MS-ERREF 2.3.1) mapped to the project's errors.
 * Wrong password and unknown user get the same code, so that a client cannot tell which names
 * exist; the log line keeps the DC's status.
 */
const LOGON_STATUS: Record<number, [AuthenticationCode, string]> = {
  3221225578: ['ERR_NTLM_LOGON_FAILED', 'wrong password'],
  3221225572: ['ERR_NTLM_LOGON_FAILED', 'no such user'],
  3221225581: ['ERR_NTLM_LOGON_FAILED', 'logon failure'],
  3221225582: ['ERR_NTLM_LOGON_FAILED', 'account restriction'],
  3221225583: ['ERR_NTLM_LOGON_FAILED', 'logon not permitted at this time'],
  3221225584: ['ERR_NTLM_LOGON_FAILED', 'logon not permitted from this workstation'],
  3221225819: ['ERR_NTLM_LOGON_FAILED', 'logon type not granted'],
  3221226515: ['ERR_NTLM_LOGON_FAILED', 'authentication firewall'],
  3221225585: ['ERR_NTLM_PASSWORD_EXPIRED', 'password expired'],
  3221226020: ['ERR_NTLM_PASSWORD_EXPIRED', 'password must be changed'],
  3221225586: ['ERR_NTLM_ACCOUNT_DISABLED', 'account disabled'],
  3221225875: ['ERR_NTLM_ACCOUNT_DISABLED', 'account expired'],
  3221226036: ['ERR_NTLM_ACCOUNT_LOCKED', 'account locked out'],
  3221225566: ['ERR_NTLM_UNKNOWN_DOMAIN', 'no logon server for the domain'],
  3221225695: ['ERR_NTLM_UNKNOWN_DOMAIN', 'no such domain'],
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
