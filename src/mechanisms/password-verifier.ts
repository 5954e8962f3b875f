import type { NtlmIdentity } from '../types.js';

/** A user name and password as a client typed them (Basic), before any domain checks it. */
export interface PasswordLogon {
  /** The domain the client named (`EXAMPLE\alice`), or '' (`alice`, `alice@example.test`). */
  readonly domain: string;
  /** The account name, or a UPN when the client typed one. */
  readonly username: string;
  readonly password: string;
  /** Aborted when the client goes or a new exchange starts on its connection. */
  readonly signal: AbortSignal;
}

/**
 * Checks a password against the domain, beside the NTLM Verifier (startHandshake) of the same
 * object: Netlogon (an interactive NetrLogonSamLogonEx), the LDAP relay (an LDAPS simple bind),
 * the local directory (its records). Never a cache of passwords: every call asks the authority.
 * Resolves to the identity the authority vouches for (groups included), or throws
 * AuthenticationError (401) for a wrong password or a refused account, ServiceUnavailableError (503)
 * when it could not ask.
 */
export interface PasswordVerifier {
  verifyPassword(logon: PasswordLogon): Promise<NtlmIdentity>;
}

export function isPasswordVerifier(verifier: unknown): verifier is PasswordVerifier {
  return typeof (verifier as Partial<PasswordVerifier> | undefined)?.verifyPassword === 'function';
}
