import { AuthenticationError } from '../errors.js';
import type { NtlmIdentity } from '../types.js';
import { readBasicCredentials } from './basic-credentials.js';
import { FailureLimits } from './failure-limits.js';
import type { Mechanism, MechanismContext, Step } from './mechanism.js';
import type { PasswordVerifier } from './password-verifier.js';

/**
 * HTTP Basic (RFC 7617) over TLS, the last mechanism offered, for clients with neither NTLM nor
 * Kerberos (Java's HttpClient, scripts, devices outside the domain). One leg: the password is
 * checked against the domain by the verifier, under the per-user and per-client failure limits,
 * and the identity is what the domain answered. Over plain HTTP the credentials are refused
 * unread (401): they have already crossed the network in the clear, but at least never
 * authenticate anything, so a client is not taught that this works.
 */
export class BasicMechanism implements Mechanism {
  constructor(
    private readonly verifier: PasswordVerifier,
    private readonly limits: FailureLimits = new FailureLimits(),
  ) {}

  /** Every Basic header is a whole logon. */
  begins(): boolean {
    return true;
  }

  async start(token: Buffer, context: MechanismContext): Promise<Step> {
    if (!context.secure) {
      throw new AuthenticationError(
        'ERR_NTLM_BASIC_NEEDS_TLS',
        'Basic credentials over plain HTTP are refused: Basic is taken over TLS only',
      );
    }
    const { domain, username, password } = readBasicCredentials(token);
    // Before the password goes to the DC or the KDC.
    context.hold();
    const identity: NtlmIdentity = await this.limits.run(username, context.clientAddress, () =>
      this.verifier.verifyPassword({ domain, username, password, signal: context.signal }),
    );
    return { done: true, identity: { ...identity, mechanism: 'Basic' } };
  }

  mechanismOf(): 'Basic' {
    return 'Basic';
  }

  /** The user name only: the password never goes into a log line. */
  describe(token: Buffer): Record<string, unknown> {
    try {
      const { domain, username } = readBasicCredentials(token);
      return { message: 'Basic', user: domain ? `${domain}\\${username}` : username };
    } catch {
      return { message: 'malformed' };
    }
  }
}
