import { InvalidTokenError } from '../errors.js';
import { decodeAuthenticate } from '../ntlm/authenticate.js';
import { decodeChallenge } from '../ntlm/challenge.js';
import { checkExtendedProtection, type ExtendedProtectionMode } from '../ntlm/extended-protection.js';
import { MessageType, peekMessageType, readMessageType } from '../ntlm/fields.js';
import { describeFlags } from '../ntlm/flags.js';
import { decodeNegotiate } from '../ntlm/negotiate.js';
import { checkLogonPolicy } from '../ntlm/policy.js';
import type { Verifier } from '../types.js';
import type { Mechanism, MechanismContext, Step } from './mechanism.js';

/**
 * NTLM (MS-NLMP) as a mechanism, pyspnego's NTLM context on the server side: NEGOTIATE →
 * CHALLENGE (pending) → AUTHENTICATE → identity. It parses through the wire layer, applies the
 * logon policy, and leaves the verdict to the verifier (local directory, LDAP relay, Netlogon).
 */
export interface NtlmMechanismOptions {
  /** IIS's `extendedProtection`: check the channel binding and target name the client signed. @default 'off' */
  readonly extendedProtection: ExtendedProtectionMode;
  /** Our SPNs, for the target-name check. */
  readonly servicePrincipalNames: readonly string[];
}

export class NtlmMechanism implements Mechanism {
  constructor(
    private readonly verifier: Verifier,
    private readonly options: NtlmMechanismOptions = { extendedProtection: 'off', servicePrincipalNames: [] },
  ) {}

  /** A NEGOTIATE begins a handshake; an AUTHENTICATE finishes the pending one; nothing else comes from a client. */
  begins(token: Buffer): boolean {
    const type = readMessageType(token);
    if (type === MessageType.NEGOTIATE) return true;
    if (type === MessageType.AUTHENTICATE) return false;
    throw new InvalidTokenError(
      `unexpected NTLM message type ${type} from a client`,
      'ERR_NTLM_UNEXPECTED_MESSAGE',
    );
  }

  async start(token: Buffer, context: MechanismContext): Promise<Step> {
    const negotiate = decodeNegotiate(token);
    const handshake = await this.verifier.startHandshake({
      negotiate,
      negotiateToken: token,
      signal: context.signal,
    });
    return {
      done: false,
      responseToken: handshake.challengeToken,
      pending: {
        next: async (authenticateToken) => {
          const authenticate = decodeAuthenticate(authenticateToken);
          const ntlmV2 = checkLogonPolicy(authenticate);
          // The bindings are inside the NTLMv2 blob, which the verifier (or the DC) proves
          // authentic with the password: so this check holds for every verifier, relay included.
          checkExtendedProtection({
            mode: this.options.extendedProtection,
            avPairs: ntlmV2.avPairs,
            expectedChannelBindings: context.channelBindings,
            spns: this.options.servicePrincipalNames,
            claimedUser: authenticate.user,
          });
          const identity = await handshake.complete({ authenticate, authenticateToken, ntlmV2 });
          return { done: true, identity };
        },
        abort: () => handshake.abort(),
      },
    };
  }

  describe(token: Buffer): Record<string, unknown> {
    try {
      switch (peekMessageType(token)) {
        case MessageType.NEGOTIATE:
          return { message: 'NEGOTIATE', flags: describeFlags(decodeNegotiate(token).flags) };
        case MessageType.CHALLENGE:
          return { message: 'CHALLENGE', flags: describeFlags(decodeChallenge(token).flags) };
        case MessageType.AUTHENTICATE: {
          const { user, domain, workstation, flags } = decodeAuthenticate(token);
          return { message: 'AUTHENTICATE', user, domain, workstation, flags: describeFlags(flags) };
        }
        default:
          return { message: 'not NTLMSSP' };
      }
    } catch {
      return { message: 'malformed' };
    }
  }
}
