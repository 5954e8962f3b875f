import { AuthenticationError } from '../errors.js';
import { peekMessageType } from '../ntlm/fields.js';
import type { Mechanism, MechanismContext, Step } from './mechanism.js';

/**
 * HTTP Negotiate (RFC 4559). Browsers that fall back from Kerberos without SPNEGO send raw
 * NTLMSSP under `Negotiate`: that goes to the NTLM mechanism as it is. A SPNEGO token needs a
 * Kerberos acceptor this instance does not have: refused (401 with fresh offers) and logged, so
 * that the client falls back to NTLM, instead of being mistaken for a broken token.
 */
export class NegotiateMechanism implements Mechanism {
  constructor(private readonly ntlm: Mechanism) {}

  #isNtlmssp(token: Buffer): boolean {
    return peekMessageType(token) !== undefined;
  }

  begins(token: Buffer): boolean {
    if (this.#isNtlmssp(token)) return this.ntlm.begins(token);
    throw new AuthenticationError(
      'ERR_NTLM_UNSUPPORTED_MECHANISM',
      'a SPNEGO (Kerberos) token under Negotiate, and no Kerberos acceptor is configured here',
    );
  }

  start(token: Buffer, context: MechanismContext): Promise<Step> {
    return this.ntlm.start(token, context);
  }

  describe(token: Buffer): Record<string, unknown> {
    return this.#isNtlmssp(token) ? this.ntlm.describe(token) : { message: 'SPNEGO' };
  }
}
