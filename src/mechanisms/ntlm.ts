import { InvalidTokenError } from '../errors.js';
import { decodeAuthenticate } from '../ntlm/authenticate.js';
import { AvFlags, readAvFlags } from '../ntlm/av-pairs.js';
import { decodeChallenge } from '../ntlm/challenge.js';
import { checkExtendedProtection, type ExtendedProtectionMode } from '../ntlm/extended-protection.js';
import { MessageType, peekMessageType, readMessageType } from '../ntlm/fields.js';
import { describeFlags } from '../ntlm/flags.js';
import { decodeNegotiate } from '../ntlm/negotiate.js';
import { checkLogonPolicy } from '../ntlm/policy.js';
import type { NtlmIdentity, Verifier } from '../types.js';
import type { Mechanism, MechanismContext, Step } from './mechanism.js';

/** A finished NTLM logon, with what SPNEGO needs for its mechListMIC (RFC 4178 5). */
export interface NtlmOutcome {
  readonly identity: NtlmIdentity;
  /** The ExportedSessionKey, when the verifier derived it (local directory, Netlogon; not the LDAP relay). */
  readonly exportedSessionKey: Buffer | undefined;
  /** The flags of the AUTHENTICATE: what was negotiated. */
  readonly flags: number;
  /** The client put a MIC in its AUTHENTICATE (MsvAvFlags 0x2): MS-SPNG 3.2.5.1 then expects a mechListMIC. */
  readonly micPresent: boolean;
}

/** An NTLM handshake between CHALLENGE and AUTHENTICATE, for a caller that wraps the tokens (SPNEGO). */
export interface NtlmExchange {
  readonly challengeToken: Buffer;
  finish(authenticateToken: Buffer): Promise<NtlmOutcome>;
  abort(): void;
}

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
    const exchange = await this.challenge(token, context);
    return {
      done: false,
      responseToken: exchange.challengeToken,
      pending: {
        next: async (authenticateToken) => ({
          done: true,
          identity: (await exchange.finish(authenticateToken)).identity,
        }),
        abort: () => exchange.abort(),
      },
    };
  }

  /** NEGOTIATE → CHALLENGE, and the AUTHENTICATE's verdict with its session key: NTLM's legs for SPNEGO. */
  async challenge(negotiateToken: Buffer, context: MechanismContext): Promise<NtlmExchange> {
    if (readMessageType(negotiateToken) !== MessageType.NEGOTIATE) {
      throw new InvalidTokenError('the first NTLM token is not a NEGOTIATE', 'ERR_NTLM_UNEXPECTED_MESSAGE');
    }
    const negotiate = decodeNegotiate(negotiateToken);
    // Before the verifier opens a DC connection or a secure channel call.
    context.hold();
    const handshake = await this.verifier.startHandshake({
      negotiate,
      negotiateToken,
      signal: context.signal,
    });
    return {
      challengeToken: handshake.challengeToken,
      finish: async (authenticateToken) => {
        if (readMessageType(authenticateToken) !== MessageType.AUTHENTICATE) {
          throw new InvalidTokenError('expected an NTLM AUTHENTICATE', 'ERR_NTLM_UNEXPECTED_MESSAGE');
        }
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
        return {
          identity: { ...identity, mechanism: 'NTLM' },
          exportedSessionKey: handshake.exportedSessionKey?.(),
          flags: authenticate.flags,
          micPresent: (readAvFlags(ntlmV2.avPairs) & AvFlags.MIC_PRESENT) !== 0,
        };
      },
      abort: () => handshake.abort(),
    };
  }

  mechanismOf(): 'NTLM' {
    return 'NTLM';
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
