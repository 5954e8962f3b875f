import { timingSafeEqual } from 'node:crypto';
import { DerWriter } from '../asn1/der-writer.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigurationError, InvalidTokenError } from '../errors.js';
import { sealIdentity } from '../sealed-identities.js';
import type { Store } from '../store/store.js';
import { booleanOption, positiveInteger } from '../validation.js';
import { writeApRep } from './ap-rep.js';
import { type ApReq, decodeApReq, type Ticket } from './ap-req.js';
import { type Authenticator, decodeAuthenticator } from './authenticator.js';
import { checkKerberosChannelBindings, type KerberosChannel } from './channel-bindings.js';
import { decodeEncTicketPart } from './enc-ticket-part.js';
import { ChecksumType, decrypt, type EncryptionKey, EncType, KeyUsage, keyLengthOk } from './enctypes.js';
import {
  decodeGssChecksum,
  type GssChecksum,
  KRB5_OID,
  MS_KRB5_OID,
  startGssToken,
  TokId,
  unwrapGssToken,
} from './gss-token.js';
import { principalText } from './keytab.js';
import { keptPart, type OpenedTicket, OpenedTickets, type TicketPart } from './opened-tickets.js';
import { identityFrom, type KerberosIdentity, verifiedPac } from './pac-identity.js';
import { pooledRandomBytes } from './random-pool.js';
import { refuse } from './refuse.js';
import { ReplayCache, type ReplayVerdict } from './replay-cache.js';
import { ServiceKeys } from './service-key.js';

export type { KerberosChannel } from './channel-bindings.js';
export type { KerberosIdentity } from './pac-identity.js';

/**
 * A Kerberos acceptor from a keytab: takes the AP-REQ a browser or curl sends (inside SPNEGO,
 * unwrapped by the caller) and answers who the user is, with the SID and groups from the PAC,
 * without any round trip to a domain controller.
 *
 * Why our own, in TypeScript on node:crypto: no pure-JS Kerberos acceptor exists on npm; the
 * `kerberos` package (MIT GSSAPI, native) needs libkrb5-dev and a compiler on every install and
 * exposes the user name but no PAC, so no SID and no groups, which is what authorization needs.
 * The checks follow MIT's krb5_rd_req and MS-KILE 3.4.5 / MS-PAC 2.8.
 */

export interface KerberosAcceptorOptions {
  /** Path of an MIT keytab (format 0x0502), or its bytes. */
  keytab: string | Buffer;
  /**
   * Accept only tickets for this principal, `HTTP/web.example.com` or with `@REALM`.
   * @default any principal that has a key in the keytab
   */
  servicePrincipal?: string;
  /** How far the client's clock and ticket times may be from ours. @default 300000 (5 minutes, RFC 4120) */
  maxClockSkewMs?: number;
  /** Accept rc4-hmac (23) tickets and session keys. @default false */
  allowRc4?: boolean;
  /**
   * Where seen authenticators are kept; share a RedisStore across instances (with
   * `maxmemory-policy noeviction`: an evicted entry lets its token in again). A MemoryStore, or
   * none, keeps them in this process. @default in this process
   */
  replayStore?: Store;
  /**
   * Authenticators this process holds in the replay cache, each for twice `maxClockSkewMs`. They
   * are never forgotten early: when this many are held, new Kerberos logons get 503
   * (`ERR_KRB_REPLAY_CACHE_FULL`) until some expire; a replay still gets 401.
   * @default 500000 (about 45 MB in this process when full)
   */
  maxReplayEntries?: number;
  /**
   * Of those, what one client principal may hold: past it, that principal's new logons get 503
   * (`ERR_KRB_REPLAY_SHARE_FULL`) and everyone else's go on. @default 50000, at most maxReplayEntries
   */
  maxReplayEntriesPerClient?: number;
  /** The clock, in ms since the epoch (for tests). @default Date.now */
  now?: () => number;
}

export interface KerberosAcceptResult {
  identity: KerberosIdentity;
  /** The GSS-framed AP-REP when the client asked for mutual authentication, else undefined. */
  responseToken: Buffer | undefined;
  /** The client principal, `alice@EXAMPLE.COM`. */
  clientPrincipal: string;
}

export interface KerberosAcceptor {
  /**
   * `channel`: the TLS channel the token came over and the Extended Protection mode, to check the
   * channel bindings the client signed; without it they are not checked.
   */
  accept(token: Buffer, channel?: KerberosChannel): Promise<KerberosAcceptResult>;
  /**
   * `accept`, with its answer in the same call when nothing has to be waited for (the replay
   * cache in this process): a promise only while a shared replay store answers. A refusal is
   * thrown then, or rejects the promise. What the middleware calls, so that a Kerberos logon is
   * decided in the request's own call.
   */
  acceptAtOnce(
    token: Buffer,
    channel?: KerberosChannel,
  ): KerberosAcceptResult | Promise<KerberosAcceptResult>;
  /** The realms of the service principals it serves (from the keytab): the site's own. */
  readonly realms: readonly string[];
  /**
   * Readiness: the keytab file is readable and still holds a usable key (for servicePrincipal).
   * Read again at each call, so that a keytab deleted, truncated or replaced by one without that
   * key shows before a restart would fail on it. A keytab given as bytes is always ready.
   */
  check(): { name: string; ok: boolean; detail?: string; fix?: string };
  /** The principal a password check (Basic) asks the KDC a ticket for: servicePrincipal, else the keytab's first. */
  readonly servicePrincipal: { readonly components: readonly string[]; readonly realm: string };
  /**
   * Opens a service ticket fetched from the KDC by a password check (Basic): the checks an
   * AP-REQ's ticket gets (our key, times, session key type, PAC signature and CLIENT_INFO), and
   * in place of the authenticator's proof, that the ticket holds `sessionKey`, the key the
   * TGS-REP gave (a ticket captured from someone else's AP-REQ opens with our key, but its
   * session key is not the one a forged TGS-REP can name).
   */
  verifyTicket(ticket: Ticket, sessionKey: EncryptionKey): Omit<KerberosAcceptResult, 'responseToken'>;
}

/** What to do about a keytab that is not usable. */
const KEYTAB_FIX =
  'make the keytab readable by this service and export it again if needed (ktpass; samba-tool domain exportkeytab FILE --principal=HTTP/...)';

const MAX_TOKEN_BYTES = 64 * 1024;
/** TicketFlags (RFC 4120 5.3) bit 7: a postdated ticket not yet validated by the KDC. */
const TICKET_FLAG_INVALID = 0x01;

export function kerberosAcceptor(options: KerberosAcceptorOptions): KerberosAcceptor {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('kerberosAcceptor(): options are required');
  }
  const maxClockSkewMs = positiveInteger(
    options.maxClockSkewMs,
    'maxClockSkewMs',
    DEFAULTS.kerberos.maxClockSkewMs,
    'kerberosAcceptor()',
  );
  const allowRc4 = booleanOption(options.allowRc4, 'allowRc4', false, 'kerberosAcceptor()');
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new ConfigurationError('kerberosAcceptor(): now must be a function returning ms since the epoch');
  }
  const maxReplayEntries = positiveInteger(
    options.maxReplayEntries,
    'maxReplayEntries',
    DEFAULTS.kerberos.maxReplayEntries,
    'kerberosAcceptor()',
  );
  const maxReplayEntriesPerClient = Math.min(
    maxReplayEntries,
    positiveInteger(
      options.maxReplayEntriesPerClient,
      'maxReplayEntriesPerClient',
      DEFAULTS.kerberos.maxReplayEntriesPerClient,
      'kerberosAcceptor()',
    ),
  );
  const keys = ServiceKeys.fromKeytab(options.keytab, options.servicePrincipal, allowRc4);
  // Read at each call, not captured: a test may replace Date.
  const now = options.now ?? (() => Date.now());
  const acceptor = new KeytabAcceptor(keys, {
    maxClockSkewMs,
    allowRc4,
    now,
    replay: new ReplayCache({
      store: options.replayStore,
      maxClockSkewMs,
      maxEntries: maxReplayEntries,
      maxEntriesPerClient: maxReplayEntriesPerClient,
      now,
    }),
  });
  const { keytab, servicePrincipal } = options;
  return {
    accept: async (token, channel) => acceptor.accept(token, channel),
    acceptAtOnce: (token, channel) => acceptor.accept(token, channel),
    realms: acceptor.realms,
    servicePrincipal: keys.principal,
    verifyTicket: (ticket, sessionKey) => acceptor.verifyTicket(ticket, sessionKey),
    check: () => {
      if (typeof keytab !== 'string') return { name: 'kerberos keytab', ok: true };
      try {
        ServiceKeys.fromKeytab(keytab, servicePrincipal, allowRc4);
        return { name: 'kerberos keytab', ok: true };
      } catch (error) {
        const cause = (error as Error).cause as Error | undefined;
        const detail = `${(error as Error).message}${cause?.message ? `: ${cause.message}` : ''}`;
        return { name: 'kerberos keytab', ok: false, detail, fix: KEYTAB_FIX };
      }
    },
  };
}

interface AcceptorPolicy {
  readonly maxClockSkewMs: number;
  readonly allowRc4: boolean;
  readonly now: () => number;
  readonly replay: ReplayCache;
}

/** Receipt of a KRB_AP_REQ (RFC 4120 3.2.3), in its order, with the PAC checks of MS-KILE 3.4.5. */
class KeytabAcceptor implements Pick<KerberosAcceptor, 'verifyTicket'> {
  readonly #keys: ServiceKeys;
  readonly #policy: AcceptorPolicy;
  readonly #opened = new OpenedTickets();

  constructor(keys: ServiceKeys, policy: AcceptorPolicy) {
    this.#keys = keys;
    this.#policy = policy;
  }

  get realms(): readonly string[] {
    return this.#keys.realms;
  }

  /** The verdict, at once unless the replay cache waits on its shared store. */
  accept(token: Buffer, channel?: KerberosChannel): KerberosAcceptResult | Promise<KerberosAcceptResult> {
    if (!Buffer.isBuffer(token) || token.length > MAX_TOKEN_BYTES) {
      throw new InvalidTokenError(
        `Kerberos token larger than ${MAX_TOKEN_BYTES} bytes`,
        'ERR_KRB_INVALID_TOKEN',
      );
    }
    const apReq = decodeApReq(unwrapApReq(token));
    if (apReq.useSessionKey) refuse('ERR_KRB_NO_KEY', 'user-to-user tickets are not supported');
    const { part, client, identity } = this.#openTicket(apReq.ticket, true);
    const authenticator = this.#openAuthenticator(apReq, part, client, channel);
    // Last, so that only authenticators that passed every check occupy the cache.
    const stored = this.#checkReplay(apReq, part, authenticator, client);
    const result = (): KerberosAcceptResult => ({
      identity,
      responseToken: apReq.mutualRequired ? apRepToken(part.key, authenticator) : undefined,
      clientPrincipal: client,
    });
    return stored ? stored.then(result) : result();
  }

  verifyTicket(ticket: Ticket, sessionKey: EncryptionKey): Omit<KerberosAcceptResult, 'responseToken'> {
    const { part, client, identity } = this.#openTicket(ticket, false);
    if (
      part.key.etype !== sessionKey.etype ||
      part.key.value.length !== sessionKey.value.length ||
      !timingSafeEqual(part.key.value, sessionKey.value)
    ) {
      refuse('ERR_KRB_CLIENT_MISMATCH', 'the ticket does not hold the session key its TGS-REP named', client);
    }
    return { identity, clientPrincipal: client };
  }

  /**
   * The ticket opened with our key, with its times checked against our clock now. An AP-REQ's
   * ticket is opened once (OpenedTickets): a client sends it again on every new connection. A
   * ticket fetched for a password check (verifyTicket) is new every time, so it is not kept.
   */
  #openTicket(ticket: Ticket, keep: boolean): OpenedTicket {
    // Every time, kept or not: a ticket for a principal or key we do not serve stops here.
    const serviceKey = this.#keys.forTicket(ticket);
    const known = keep ? this.#opened.get(ticket, serviceKey) : undefined;
    if (known) {
      this.#checkTicketTimes(known.part, known.client);
      return known;
    }
    const opened = this.#openNew(ticket, serviceKey);
    if (keep) {
      const { maxClockSkewMs, now } = this.#policy;
      this.#opened.set(ticket, serviceKey, opened, opened.part.endtime.getTime() + maxClockSkewMs - now());
    }
    return opened;
  }

  /**
   * Decrypts the ticket with the service key (key usage 2), checks its session key type, and
   * verifies its PAC (server signature, CLIENT_INFO) into the identity.
   */
  #openNew(ticket: Ticket, serviceKey: EncryptionKey): OpenedTicket {
    const plain = decrypt(serviceKey, KeyUsage.TICKET, ticket.encPart.cipher);
    if (!plain)
      refuse('ERR_KRB_MODIFIED', 'ticket does not decrypt with the keytab key (wrong key or modified)');
    const part = decodeEncTicketPart(plain);
    const client = principalText(part.cname.components, part.crealm);
    if (!keyLengthOk(part.key) || (part.key.etype === EncType.RC4_HMAC && !this.#policy.allowRc4)) {
      refuse('ERR_KRB_ENCTYPE_REFUSED', `session key of enctype ${part.key.etype} refused`, client);
    }
    // The times first: an expired ticket is refused as such, not for its PAC.
    this.#checkTicketTimes(part, client);
    const identity = identityFrom(verifiedPac(part, serviceKey, client), part.crealm);
    // Shared by every logon with this ticket: frozen (sealed), so that no one's change reaches the next.
    Object.freeze(identity.groupSids);
    return { part: keptPart(part), client, identity: sealIdentity(identity) };
  }

  /** RFC 4120 3.2.3: starttime (or authtime) and endtime, within the clock skew; not INVALID. */
  #checkTicketTimes(part: TicketPart, client: string): void {
    const { now, maxClockSkewMs } = this.#policy;
    const t = now();
    const start = (part.starttime ?? part.authtime).getTime();
    if ((part.flags[0] ?? 0) & TICKET_FLAG_INVALID || t < start - maxClockSkewMs) {
      refuse('ERR_KRB_TICKET_NOT_YET_VALID', `ticket valid from ${new Date(start).toISOString()}`, client);
    }
    if (t > part.endtime.getTime() + maxClockSkewMs) {
      refuse('ERR_KRB_TICKET_EXPIRED', `ticket expired at ${part.endtime.toISOString()}`, client);
    }
  }

  /**
   * Decrypts the authenticator with the session key (key usage 11) and checks that it comes from
   * the ticket's client, now, with the GSS checksum (RFC 4121 4.1.1) and an acceptable subkey.
   */
  #openAuthenticator(
    apReq: ApReq,
    part: TicketPart,
    client: string,
    channel: KerberosChannel | undefined,
  ): Authenticator {
    const plain = decrypt(part.key, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher);
    if (!plain) refuse('ERR_KRB_MODIFIED', 'authenticator does not decrypt with the session key', client);
    const authenticator = decodeAuthenticator(plain);
    if (
      authenticator.crealm.toUpperCase() !== part.crealm.toUpperCase() ||
      authenticator.cname.components.join('/') !== part.cname.components.join('/')
    ) {
      refuse(
        'ERR_KRB_CLIENT_MISMATCH',
        `authenticator is from ${principalText(authenticator.cname.components, authenticator.crealm)}, ticket for ${client}`,
        client,
      );
    }
    const clientTime = authenticator.ctime.getTime() + Math.floor(authenticator.cusec / 1000);
    if (Math.abs(this.#policy.now() - clientTime) > this.#policy.maxClockSkewMs) {
      refuse(
        'ERR_KRB_CLOCK_SKEW',
        `authenticator time ${authenticator.ctime.toISOString()} is outside the skew`,
        client,
      );
    }
    const { channelBindings } = checkedGssChecksum(authenticator);
    checkKerberosChannelBindings(channelBindings, channel, client);
    this.#checkSubkey(authenticator, client);
    return authenticator;
  }

  /** The subkey the client proposes (RFC 4120 5.5.1) obeys the same enctype policy as the session key. */
  #checkSubkey(authenticator: Authenticator, client: string): void {
    const { subkey } = authenticator;
    if (!subkey) return;
    if (!keyLengthOk(subkey) || (subkey.etype === EncType.RC4_HMAC && !this.#policy.allowRc4)) {
      refuse('ERR_KRB_ENCTYPE_REFUSED', `authenticator subkey of enctype ${subkey.etype} refused`, client);
    }
  }

  /**
   * RFC 4120 3.2.3: an authenticator (client, server, ctime, cusec) is accepted once. Decided at
   * once by the in-process table; a promise only while a shared store answers.
   */
  #checkReplay(
    apReq: ApReq,
    part: TicketPart,
    authenticator: Authenticator,
    client: string,
  ): Promise<void> | undefined {
    const verdict = this.#policy.replay.admit({
      client,
      server: principalText(apReq.ticket.sname.components, apReq.ticket.realm),
      ctime: authenticator.ctime,
      cusec: authenticator.cusec,
      authenticatorCipher: apReq.authenticator.cipher,
      // The enctype that decrypted it and checked its checksum: the one on the wire is not
      // signed, and a replay with it changed must find the same entry.
      authenticatorEtype: part.key.etype,
    });
    if (typeof verdict !== 'string') return verdict.then((settled) => refuseReplay(settled, client));
    refuseReplay(verdict, client);
    return undefined;
  }
}

function refuseReplay(verdict: ReplayVerdict, client: string): void {
  if (verdict === 'replay') refuse('ERR_KRB_REPLAY', 'authenticator already used (replay)', client);
}

/**
 * RFC 4121 4.1.1: a GSS initiator always sends the 0x8003 checksum. Its flags are informative
 * here; its channel bindings are checked against the TLS channel by the caller.
 */
function checkedGssChecksum(authenticator: Authenticator): GssChecksum {
  if (authenticator.cksum?.cksumtype !== ChecksumType.GSS_KRB5) {
    throw new InvalidTokenError('authenticator without the GSS 0x8003 checksum', 'ERR_KRB_INVALID_TOKEN');
  }
  return decodeGssChecksum(authenticator.cksum.checksum);
}

/** The KRB_AP_REP for mutual authentication (RFC 4120 3.2.4), GSS-framed (RFC 4121 4.1). */
function apRepToken(sessionKey: EncryptionKey, authenticator: Authenticator): Buffer {
  // The GSS frame and the AP-REP in one buffer (der-writer.ts says why).
  const writer = new DerWriter();
  const token = startGssToken(writer, KRB5_OID, TokId.AP_REP);
  writeApRep(writer, sessionKey, {
    ctime: authenticator.ctime,
    cusec: authenticator.cusec,
    subkey: authenticator.subkey,
    seqNumber: pooledRandomBytes(4).readUInt32BE(0) & 0x3fffffff,
  });
  writer.end(token);
  return writer.result();
}

/** A GSS krb5 initial context token (either krb5 OID), or a bare AP-REQ. */
function unwrapApReq(token: Buffer): Buffer {
  if (token[0] === 0x6e) return token;
  const gss = unwrapGssToken(token);
  if (gss.mech !== KRB5_OID && gss.mech !== MS_KRB5_OID) {
    throw new InvalidTokenError(`GSS token for mechanism ${gss.mech}, not Kerberos`, 'ERR_KRB_INVALID_TOKEN');
  }
  if (gss.tokId !== TokId.AP_REQ) {
    throw new InvalidTokenError(
      `GSS krb5 token ${gss.tokId.toString(16)} is not an AP-REQ`,
      'ERR_KRB_INVALID_TOKEN',
    );
  }
  return gss.body;
}
