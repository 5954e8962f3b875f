import { AuthenticationError, InvalidTokenError } from '../errors.js';
import type { KerberosAcceptor, KerberosAcceptResult, KerberosIdentity } from '../kerberos/acceptor.js';
import {
  decodeSpnego,
  encodeNegTokenResp,
  MechOid,
  NegState,
  type NegTokenInit,
  type NegTokenResp,
  peekNegotiateToken,
} from '../negotiate/spnego.js';
import type { ExtendedProtectionMode } from '../ntlm/extended-protection.js';
import { canSign, ntlmMac, verifyNtlmMac } from '../ntlm/signing.js';
import { isSealedIdentity, sealIdentity } from '../sealed-identities.js';
import type { MechanismName, NtlmIdentity } from '../types.js';
import type { Mechanism, MechanismContext, Step } from './mechanism.js';
import type { NtlmMechanism, NtlmOutcome } from './ntlm.js';

/** What we can run inside SPNEGO, by mechanism OID. */
type Inner = 'kerberos' | 'ntlm';

/** The SPNEGO state an inner mechanism's legs are wrapped with. */
interface Negotiation {
  /** The mechanism's OID as the client listed it (Windows wants its MS krb5 OID echoed). */
  readonly oid: string;
  /** The client's mechTypes exactly as sent: what both mechListMICs sign. */
  readonly mechTypesDer: Buffer;
  /** supportedMech goes in our first reply only (RFC 4178 4.2.2); false once it was sent. */
  readonly firstReply: boolean;
  /** We chose a mechanism that was not the client's first: MICs must be exchanged (RFC 4178 5). */
  readonly micRequired: boolean;
}

const KERBEROS_OIDS: readonly string[] = [MechOid.KRB5, MechOid.MS_KRB5];

/**
 * HTTP Negotiate (RFC 4559) with SPNEGO (RFC 4178, MS-SPNG):
 * - a NegTokenInit whose optimistic token is a Kerberos AP-REQ → the keytab acceptor → done, with
 *   accept-completed and the AP-REP (mutual authentication);
 * - NTLMSSP inside SPNEGO (gss-ntlmssp, Windows without a ticket) → the NTLM mechanism's legs
 *   wrapped in NegTokenResp, with the mechListMIC checked and answered when the verifier gave the
 *   session key;
 * - a NegTokenInit whose first mechanism we lack but which lists one we have → request-mic (or
 *   accept-incomplete when it is their first) naming it, and its legs follow;
 * - raw NTLMSSP under `Negotiate` (browsers falling back without SPNEGO) → NTLM as it is.
 * Broken DER is a 400; a token for no mechanism we run is a 401 with fresh offers.
 */
export class NegotiateMechanism implements Mechanism {
  /**
   * `nameGroups`: names the PAC's group SIDs (the verifier's, when it can: Netlogon's LSA or the
   * lookup account), so that a Kerberos logon carries the same `groups` as an NTLM one.
   */
  constructor(
    private readonly ntlm: NtlmMechanism,
    private readonly kerberos: KerberosAcceptor | undefined,
    /** Checked on Kerberos as on NTLM: the channel bindings in the authenticator's GSS checksum. */
    private readonly extendedProtection: ExtendedProtectionMode,
    private readonly nameGroups?: (identity: NtlmIdentity) => Promise<NtlmIdentity>,
  ) {}

  begins(token: Buffer): boolean {
    switch (peekNegotiateToken(token)) {
      case 'ntlmssp':
        return this.ntlm.begins(token);
      case 'spnego-init':
      case 'krb5':
        return true;
      case 'spnego-resp':
        // Read now, so that broken DER is a 400 even when no exchange is pending.
        readResp(token);
        return false;
      default:
        throw new InvalidTokenError(
          'Negotiate token is neither SPNEGO, Kerberos nor NTLMSSP',
          'ERR_SPNEGO_INVALID_TOKEN',
        );
    }
  }

  /** At once for a Kerberos ticket checked here; a promise when the DC, a store or a group lookup must answer. */
  start(token: Buffer, context: MechanismContext): Step | Promise<Step> {
    switch (peekNegotiateToken(token)) {
      case 'ntlmssp':
        return this.ntlm.start(token, context);
      case 'krb5':
        // RFC 4559 4.2 lets a client send the krb5 token without SPNEGO; it gets one back the same way.
        return this.#kerberos(token, context, (identity, responseToken) => ({
          done: true,
          identity,
          responseToken,
        }));
    }
    const init = decodeSpnego(token);
    if (init.kind !== 'init') throw spnegoError('the first SPNEGO token must be a NegTokenInit');
    return this.#negotiate(init, context);
  }

  describe(token: Buffer): Record<string, unknown> {
    try {
      if (peekNegotiateToken(token) === 'ntlmssp') return this.ntlm.describe(token);
      const spnego = decodeSpnego(token);
      const inner = spnego.kind === 'init' ? spnego.mechToken : spnego.responseToken;
      return {
        message: spnego.kind === 'init' ? 'NegTokenInit' : 'NegTokenResp',
        ...(spnego.kind === 'init' ? { mechTypes: spnego.mechTypes } : { negState: spnego.negState }),
        ...(inner && peekNegotiateToken(inner) === 'ntlmssp' ? { ntlm: this.ntlm.describe(inner) } : {}),
      };
    } catch {
      return { message: 'malformed' };
    }
  }

  /**
   * Raw NTLMSSP is `NTLM`; inside SPNEGO, the inner token says: NTLMSSP is `SPNEGO-NTLM`, an
   * AP-REQ `Kerberos`. A NegTokenInit without a token of ours is named by the mechanism we
   * would choose from its list.
   */
  mechanismOf(token: Buffer): MechanismName | undefined {
    try {
      const outer = peekNegotiateToken(token);
      if (outer === 'ntlmssp') return 'NTLM';
      if (outer === 'krb5') return 'Kerberos';
      const spnego = decodeSpnego(token);
      const inner = spnego.kind === 'init' ? spnego.mechToken : spnego.responseToken;
      const kind = inner ? peekNegotiateToken(inner) : undefined;
      if (kind === 'ntlmssp') return 'SPNEGO-NTLM';
      if (kind === 'krb5') return 'Kerberos';
      if (spnego.kind !== 'init') return undefined;
      const first = spnego.mechTypes[0];
      if (first !== undefined && this.#inner(first) === 'kerberos') return 'Kerberos';
      return spnego.mechTypes.includes(MechOid.NTLMSSP) ? 'SPNEGO-NTLM' : undefined;
    } catch {
      return undefined;
    }
  }

  /** Picks the mechanism: the client's first if we run it, else the first listed that we run. */
  #negotiate(init: NegTokenInit, context: MechanismContext): Promise<Step> | Step {
    const first = init.mechTypes[0]!;
    const negotiation = (oid: string, micRequired: boolean): Negotiation => ({
      oid,
      mechTypesDer: init.mechTypesDer,
      firstReply: true,
      micRequired,
    });
    // The optimistic token belongs to the client's first mechanism (RFC 4178 3.2 c).
    if (this.#inner(first) && init.mechToken) {
      return this.#firstLeg(this.#inner(first)!, init.mechToken, negotiation(first, false), context);
    }
    // Kerberos as a second choice would need Kerberos mechListMICs (RFC 4121 MIC tokens), which
    // this acceptor does not produce; every client that lists Kerberos without putting it first
    // (Windows: NEGOEX first) also lists NTLMSSP.
    const index = init.mechTypes.findIndex(
      (oid, i) => this.#inner(oid) === 'ntlm' || (i === 0 && this.#inner(oid) === 'kerberos'),
    );
    if (index < 0) {
      throw new AuthenticationError(
        'ERR_NTLM_UNSUPPORTED_MECHANISM',
        `SPNEGO offers ${init.mechTypes.join(', ')}; this server runs ${this.kerberos ? 'Kerberos and ' : ''}NTLM`,
      );
    }
    const chosen = init.mechTypes[index]!;
    const micRequired = index !== 0;
    // RFC 4178 4.2.2: request-mic in our first reply when we did not take their first choice.
    const responseToken = encodeNegTokenResp({
      negState: micRequired ? NegState.REQUEST_MIC : NegState.ACCEPT_INCOMPLETE,
      supportedMech: chosen,
    });
    return {
      done: false,
      responseToken,
      pending: {
        next: async (token) => {
          const resp = readResp(token);
          if (!resp.responseToken) throw spnegoError('NegTokenResp without the mechanism token asked for');
          const then = { ...negotiation(chosen, micRequired), firstReply: false };
          return this.#firstLeg(this.#inner(chosen)!, resp.responseToken, then, context);
        },
        abort: () => {},
      },
    };
  }

  #inner(oid: string): Inner | undefined {
    if (oid === MechOid.NTLMSSP) return 'ntlm';
    return KERBEROS_OIDS.includes(oid) && this.kerberos ? 'kerberos' : undefined;
  }

  /** The inner mechanism's first token, and its answer wrapped in a NegTokenResp. */
  #firstLeg(
    inner: Inner,
    token: Buffer,
    negotiation: Negotiation,
    context: MechanismContext,
  ): Step | Promise<Step> {
    const supportedMech = negotiation.firstReply ? negotiation.oid : undefined;
    if (inner === 'kerberos') {
      if (negotiation.micRequired) throw spnegoError('Kerberos cannot be negotiated as a second choice here');
      return this.#kerberos(token, context, (identity, responseToken) => ({
        done: true,
        identity,
        responseToken: encodeNegTokenResp({
          negState: NegState.ACCEPT_COMPLETED,
          supportedMech,
          responseToken,
        }),
      }));
    }
    return this.#ntlmFirstLeg(token, negotiation, context);
  }

  async #ntlmFirstLeg(token: Buffer, negotiation: Negotiation, context: MechanismContext): Promise<Step> {
    if (peekNegotiateToken(token) !== 'ntlmssp')
      throw spnegoError('the NTLMSSP mechanism token is not NTLMSSP');
    const supportedMech = negotiation.firstReply ? negotiation.oid : undefined;
    const exchange = await this.ntlm.challenge(token, context);
    return {
      done: false,
      responseToken: encodeNegTokenResp({
        negState: NegState.ACCEPT_INCOMPLETE,
        supportedMech,
        responseToken: exchange.challengeToken,
      }),
      pending: {
        next: async (next) => {
          const resp = readResp(next);
          if (!resp.responseToken) throw spnegoError('NegTokenResp without the NTLM AUTHENTICATE');
          const outcome = await exchange.finish(resp.responseToken);
          const mechListMIC = checkNtlmMechListMic(outcome, resp, negotiation);
          return {
            done: true,
            identity: { ...outcome.identity, mechanism: 'SPNEGO-NTLM' },
            responseToken: encodeNegTokenResp({ negState: NegState.ACCEPT_COMPLETED, mechListMIC }),
          };
        },
        abort: () => exchange.abort(),
      },
    };
  }

  /**
   * The AP-REQ checked with the keytab, then `finish` with the identity and the AP-REP: in this
   * call when nothing waits, else (a shared replay store, group names to look up) after holding
   * the handshake's place.
   */
  #kerberos(
    token: Buffer,
    context: MechanismContext,
    finish: (identity: NtlmIdentity, responseToken: Buffer | undefined) => Step,
  ): Step | Promise<Step> {
    if (!this.kerberos) {
      throw new AuthenticationError(
        'ERR_NTLM_UNSUPPORTED_MECHANISM',
        'a Kerberos token, and no keytab is configured here (ntlm({ kerberos }))',
      );
    }
    const channel =
      this.extendedProtection === 'off'
        ? undefined
        : { extendedProtection: this.extendedProtection, channelBindings: context.channelBindings };
    const accepted = this.kerberos.acceptAtOnce(token, channel);
    if (accepted instanceof Promise || this.nameGroups) {
      try {
        context.hold();
      } catch (error) {
        // Refused for want of a slot: the store's answer, still on its way, is not waited for.
        if (accepted instanceof Promise) accepted.catch(() => {});
        throw error;
      }
      return this.#kerberosNamed(accepted, finish);
    }
    return finish(fromKerberos(accepted.identity), accepted.responseToken);
  }

  async #kerberosNamed(
    accepted: KerberosAcceptResult | Promise<KerberosAcceptResult>,
    finish: (identity: NtlmIdentity, responseToken: Buffer | undefined) => Step,
  ): Promise<Step> {
    const { identity, responseToken } = await accepted;
    const named = fromKerberos(identity);
    return finish(this.nameGroups ? await this.nameGroups(named) : named, responseToken);
  }
}

function spnegoError(message: string): InvalidTokenError {
  return new InvalidTokenError(`SPNEGO: ${message}`, 'ERR_SPNEGO_INVALID_TOKEN');
}

function readResp(token: Buffer): NegTokenResp {
  const resp = decodeSpnego(token);
  if (resp.kind !== 'resp') throw spnegoError('expected a NegTokenResp to continue the exchange');
  if (resp.negState === NegState.REJECT) {
    throw new AuthenticationError('ERR_NTLM_UNSUPPORTED_MECHANISM', 'the client rejected the negotiation');
  }
  return resp;
}

/**
 * The mechListMIC after NTLM (RFC 4178 5, MS-SPNG 3.3.5.1): needed when we did not take the
 * client's first choice, when the client's AUTHENTICATE carries an NTLM MIC (Windows and
 * gss-ntlmssp then send one and expect ours), or when the client sent one anyway. Ours answers
 * it. Without the ExportedSessionKey (the LDAP relay: the DC keeps it) neither can be done: the
 * DC has checked the NTLM MIC over the three NTLM messages, the client's mechListMIC is left
 * unchecked and none is sent back. HTTP clients (curl, Chromium, Firefox, WinHTTP) do not
 * process the token on the final 200 (RFC 4559 leaves it optional), so they log in; a GSSAPI
 * client that checks it (python-gssapi with mutual auth) reports a defective token.
 */
function checkNtlmMechListMic(
  outcome: NtlmOutcome,
  resp: NegTokenResp,
  negotiation: Negotiation,
): Buffer | undefined {
  const wanted = negotiation.micRequired || outcome.micPresent || resp.mechListMIC !== undefined;
  const key = outcome.exportedSessionKey;
  if (!wanted || !key || !canSign(outcome.flags)) return undefined;
  const claimedUser = outcome.identity.username;
  if (!resp.mechListMIC) {
    throw new AuthenticationError('ERR_NTLM_BAD_MIC', 'SPNEGO mechListMIC missing', { claimedUser });
  }
  if (!verifyNtlmMac(key, outcome.flags, negotiation.mechTypesDer, resp.mechListMIC)) {
    throw new AuthenticationError(
      'ERR_NTLM_BAD_MIC',
      'SPNEGO mechListMIC does not match: the mechanism list was altered',
      {
        claimedUser,
      },
    );
  }
  return ntlmMac(key, outcome.flags, 'server-to-client', negotiation.mechTypesDer);
}

/**
 * The identities made from the acceptor's, by its object: a ticket kept open gives the same sealed
 * identity at every logon (acceptor.ts), and so the same sealed NtlmIdentity here, which the
 * identity interner then finds by its object without comparing it field by field.
 */
const fromSealedKerberos = new WeakMap<KerberosIdentity, NtlmIdentity>();

export function fromKerberos(identity: KerberosIdentity): NtlmIdentity {
  if (!isSealedIdentity(identity)) return kerberosToNtlm(identity);
  let made = fromSealedKerberos.get(identity);
  if (!made) {
    made = sealIdentity(kerberosToNtlm(identity));
    fromSealedKerberos.set(identity, made);
  }
  return made;
}

function kerberosToNtlm(identity: KerberosIdentity): NtlmIdentity {
  return {
    username: identity.username,
    domain: identity.domain,
    // Kerberos names no workstation (the ticket's addresses are empty behind NAT and proxies).
    workstation: '',
    realm: identity.realm,
    sid: identity.sid,
    groupSids: identity.groupSids,
    userPrincipalName: identity.userPrincipalName,
    displayName: identity.displayName || undefined,
    mechanism: 'Kerberos',
  };
}
