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
  ...requestStatuses(),
};

/**
 * Statuses that say the DC could not take *this logon's* data: the data is the client's, so any
 * client can cause them, and they answer that logon (401) without counting against the DC. Samba
 * 4.17 answers STATUS_INVALID_PARAMETER for a name AV pair of the NTLMv2 blob that is not UTF-16
 * (issue 18 fuzz finding 2; the parser refuses those now, this is the second line); the others
 * are its numbered and mixed forms and a name the DC refuses as such.
 */
function requestStatuses(): Record<number, [AuthenticationCode, string]> {
  const invalid: [AuthenticationCode, string] = ['ERR_NTLM_LOGON_FAILED', 'the DC could not read this logon'];
  const statuses: Record<number, [AuthenticationCode, string]> = {
    3221225485: invalid, // STATUS_INVALID_PARAMETER
    3221225520: invalid, // STATUS_INVALID_PARAMETER_MIX
    3221225570: ['ERR_NTLM_LOGON_FAILED', 'invalid account name'], // STATUS_INVALID_ACCOUNT_NAME
    3221225734: invalid, // STATUS_NAME_TOO_LONG
  };
  // STATUS_INVALID_PARAMETER_1 to _12.
  for (let status = 0xc00000ef; status <= 0xc00000fa; status++) statuses[status] = invalid;
  return statuses;
}

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
