import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  type AuthenticationCode,
  AuthenticationError,
  ConfigurationError,
  InvalidTokenError,
} from '../errors.js';
import { samInfoSids } from '../netlogon/validation-info.js';
import type { Store } from '../store/store.js';
import { positiveInteger } from '../validation.js';
import { encodeApRep } from './ap-rep.js';
import { type ApReq, decodeApReq } from './ap-req.js';
import { decodeAuthenticator } from './authenticator.js';
import { decodeEncTicketPart, type EncTicketPart } from './enc-ticket-part.js';
import { ChecksumType, decrypt, type EncryptionKey, EncType, KeyUsage, keyLengthOk } from './enctypes.js';
import {
  decodeGssChecksum,
  KRB5_OID,
  MS_KRB5_OID,
  TokId,
  unwrapGssToken,
  wrapGssToken,
} from './gss-token.js';
import { type KeytabEntry, parseKeytab, principalText, samePrincipal } from './keytab.js';
import { decodePac, findPac, type Pac, toFiletime, verifyServerSignature } from './pac.js';
import { LOGON_RESOURCE_GROUPS } from './pac-logon-info.js';
import { ReplayCache } from './replay-cache.js';

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
  /** Where seen authenticators are kept; share a RedisStore across instances. @default an in-process MemoryStore */
  replayStore?: Store;
  /** The clock, in ms since the epoch (for tests). @default Date.now */
  now?: () => number;
}

export interface KerberosIdentity {
  /** sAMAccountName (PAC EffectiveName). */
  username: string;
  /** NetBIOS domain name (PAC LogonDomainName). */
  domain: string;
  /** Kerberos realm of the client, e.g. EXAMPLE.COM. */
  realm: string;
  userPrincipalName: string | undefined;
  sid: string;
  /** Global groups (GroupIds), ExtraSids and resource groups, as SIDs. */
  groupSids: string[];
  /** PAC FullName. */
  displayName: string;
}

export interface KerberosAcceptResult {
  identity: KerberosIdentity;
  /** The GSS-framed AP-REP when the client asked for mutual authentication, else undefined. */
  responseToken: Buffer | undefined;
  /** The client principal, `alice@EXAMPLE.COM`. */
  clientPrincipal: string;
}

export interface KerberosAcceptor {
  accept(token: Buffer): Promise<KerberosAcceptResult>;
}

const MAX_TOKEN_BYTES = 64 * 1024;
/** TicketFlags (RFC 4120 5.3) bit 7: a postdated ticket not yet validated by the KDC. */
const TICKET_FLAG_INVALID = 0x01;

function refuse(code: AuthenticationCode, message: string, claimedUser?: string, cause?: unknown): never {
  throw new AuthenticationError(code, message, { claimedUser, cause });
}

function parsePrincipal(text: string): { components: string[]; realm: string | undefined } {
  const at = text.lastIndexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  const realm = at >= 0 ? text.slice(at + 1) : undefined;
  const components = name.split('/');
  if (components.some((part) => part === '') || realm === '') {
    throw new ConfigurationError(
      `kerberosAcceptor(): servicePrincipal ${JSON.stringify(text)} is not a principal name`,
    );
  }
  return { components, realm };
}

export function kerberosAcceptor(options: KerberosAcceptorOptions): KerberosAcceptor {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('kerberosAcceptor(): options are required');
  }
  const maxClockSkewMs = positiveInteger(
    options.maxClockSkewMs,
    'maxClockSkewMs',
    300_000,
    'kerberosAcceptor()',
  );
  const allowRc4 = options.allowRc4 ?? false;
  if (typeof allowRc4 !== 'boolean')
    throw new ConfigurationError('kerberosAcceptor(): allowRc4 must be a boolean');
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new ConfigurationError('kerberosAcceptor(): now must be a function returning ms since the epoch');
  }
  // Read at each call, not captured: a test may replace Date.
  const now = options.now ?? (() => Date.now());
  const entries = loadKeytab(options.keytab).filter(
    (e) =>
      keyLengthOk(e.key) &&
      (e.key.etype === EncType.AES128_CTS_HMAC_SHA1_96 ||
        e.key.etype === EncType.AES256_CTS_HMAC_SHA1_96 ||
        (allowRc4 && e.key.etype === EncType.RC4_HMAC)),
  );
  if (entries.length === 0) {
    throw new ConfigurationError(
      `kerberosAcceptor(): the keytab has no usable key (aes256/aes128${allowRc4 ? '/rc4' : '; rc4 needs allowRc4'})`,
    );
  }
  const service =
    options.servicePrincipal === undefined ? undefined : parsePrincipal(options.servicePrincipal);
  if (service && !entries.some((e) => matchesService(service, e))) {
    throw new ConfigurationError(
      `kerberosAcceptor(): the keytab has no usable key for ${options.servicePrincipal}`,
    );
  }
  const replay = new ReplayCache(options.replayStore, maxClockSkewMs);

  /** Which keytab key opens this ticket: principal, then enctype, then kvno (rotation). */
  function serviceKey(apReq: ApReq): EncryptionKey {
    const { ticket } = apReq;
    const target = { components: ticket.sname.components, realm: ticket.realm };
    const name = principalText(target.components, target.realm);
    if (service && !matchesService(service, { ...target })) {
      refuse('ERR_KRB_WRONG_SERVICE', `ticket is for ${name}, not ${options.servicePrincipal}`);
    }
    const forPrincipal = entries.filter((e) => samePrincipal(e, target));
    if (forPrincipal.length === 0) refuse('ERR_KRB_WRONG_SERVICE', `no key in the keytab for ${name}`);
    const { etype, kvno } = ticket.encPart;
    if (etype === EncType.RC4_HMAC && !allowRc4) {
      refuse(
        'ERR_KRB_ENCTYPE_REFUSED',
        `ticket for ${name} is encrypted with rc4-hmac; set allowRc4 to accept it`,
      );
    }
    const sameType = forPrincipal.filter((e) => e.key.etype === etype);
    if (sameType.length === 0)
      refuse('ERR_KRB_NO_KEY', `no key of enctype ${etype} for ${name} in the keytab`);
    const key =
      kvno === undefined
        ? sameType.reduce((a, b) => (b.kvno > a.kvno ? b : a))
        : sameType.find((e) => e.kvno === kvno);
    if (!key) {
      refuse(
        'ERR_KRB_NO_KEY',
        `no key with kvno ${kvno} for ${name} (keytab has ${sameType.map((e) => e.kvno).join(', ')}): export the keytab again`,
      );
    }
    return key.key;
  }

  function checkTicketTimes(part: EncTicketPart, client: string): void {
    const t = now();
    const start = (part.starttime ?? part.authtime).getTime();
    if ((part.flags[0] ?? 0) & TICKET_FLAG_INVALID || t < start - maxClockSkewMs) {
      refuse('ERR_KRB_TICKET_NOT_YET_VALID', `ticket valid from ${new Date(start).toISOString()}`, client);
    }
    if (t > part.endtime.getTime() + maxClockSkewMs) {
      refuse('ERR_KRB_TICKET_EXPIRED', `ticket expired at ${part.endtime.toISOString()}`, client);
    }
  }

  function readPac(part: EncTicketPart, key: EncryptionKey, client: string): Pac {
    let pac: Pac;
    try {
      const bytes = findPac(part.authorizationData);
      if (!bytes) refuse('ERR_KRB_BAD_PAC', 'ticket carries no PAC', client);
      if (!verifyServerSignature(bytes, key))
        refuse('ERR_KRB_BAD_PAC', 'PAC server signature is wrong', client);
      pac = decodePac(bytes);
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      refuse('ERR_KRB_BAD_PAC', `malformed PAC: ${(error as Error).message}`, client, error);
    }
    // MS-PAC 2.7: CLIENT_INFO names the ticket's client and its authtime; a PAC cut from
    // another user's ticket fails here.
    const cname = part.cname.components.join('/');
    if (pac.clientInfo.name.toLowerCase() !== cname.toLowerCase()) {
      refuse('ERR_KRB_CLIENT_MISMATCH', `PAC is for ${pac.clientInfo.name}, ticket for ${cname}`, client);
    }
    if (pac.clientInfo.clientId !== toFiletime(part.authtime)) {
      refuse('ERR_KRB_CLIENT_MISMATCH', 'PAC CLIENT_INFO time is not the ticket authtime', client);
    }
    return pac;
  }

  async function accept(token: Buffer): Promise<KerberosAcceptResult> {
    if (!Buffer.isBuffer(token) || token.length > MAX_TOKEN_BYTES) {
      throw new InvalidTokenError(
        `Kerberos token larger than ${MAX_TOKEN_BYTES} bytes`,
        'ERR_KRB_INVALID_TOKEN',
      );
    }
    const apReq = decodeApReq(unwrapApReq(token));
    if (apReq.useSessionKey) refuse('ERR_KRB_NO_KEY', 'user-to-user tickets are not supported');
    const key = serviceKey(apReq);
    const ticketPlain = decrypt(key, KeyUsage.TICKET, apReq.ticket.encPart.cipher);
    if (!ticketPlain)
      refuse('ERR_KRB_MODIFIED', 'ticket does not decrypt with the keytab key (wrong key or modified)');
    const part = decodeEncTicketPart(ticketPlain);
    const client = principalText(part.cname.components, part.crealm);
    if (!keyLengthOk(part.key) || (part.key.etype === EncType.RC4_HMAC && !allowRc4)) {
      refuse('ERR_KRB_ENCTYPE_REFUSED', `session key of enctype ${part.key.etype} refused`, client);
    }
    checkTicketTimes(part, client);

    const authPlain = decrypt(part.key, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher);
    if (!authPlain) refuse('ERR_KRB_MODIFIED', 'authenticator does not decrypt with the session key', client);
    const authenticator = decodeAuthenticator(authPlain);
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
    if (Math.abs(now() - clientTime) > maxClockSkewMs) {
      refuse(
        'ERR_KRB_CLOCK_SKEW',
        `authenticator time ${authenticator.ctime.toISOString()} is outside the skew`,
        client,
      );
    }
    // RFC 4121 4.1.1: a GSS initiator always sends the 0x8003 checksum. Its flags are informative
    // here, and its channel bindings are not checked: HTTP clients without EPA send zeros.
    if (authenticator.cksum?.cksumtype !== ChecksumType.GSS_KRB5) {
      throw new InvalidTokenError('authenticator without the GSS 0x8003 checksum', 'ERR_KRB_INVALID_TOKEN');
    }
    decodeGssChecksum(authenticator.cksum.checksum);
    if (authenticator.subkey && !keyLengthOk(authenticator.subkey)) {
      refuse(
        'ERR_KRB_ENCTYPE_REFUSED',
        `authenticator subkey of enctype ${authenticator.subkey.etype}`,
        client,
      );
    }

    const pac = readPac(part, key, client);
    // Last, so that only authenticators that passed every check occupy the cache.
    const first = await replay.firstUse({
      client,
      server: principalText(apReq.ticket.sname.components, apReq.ticket.realm),
      ctime: authenticator.ctime,
      cusec: authenticator.cusec,
      authenticatorCipher: apReq.authenticator.cipher,
    });
    if (!first) refuse('ERR_KRB_REPLAY', 'authenticator already used (replay)', client);

    const responseToken = apReq.mutualRequired
      ? wrapGssToken(
          KRB5_OID,
          TokId.AP_REP,
          encodeApRep(part.key, {
            ctime: authenticator.ctime,
            cusec: authenticator.cusec,
            subkey: authenticator.subkey,
            seqNumber: randomInt(0, 0x3fffffff),
          }),
        )
      : undefined;
    return { identity: identityFrom(pac, part.crealm), responseToken, clientPrincipal: client };
  }

  return { accept };
}

function loadKeytab(keytab: unknown): KeytabEntry[] {
  if (Buffer.isBuffer(keytab)) return parseKeytab(keytab);
  if (typeof keytab !== 'string' || keytab === '') {
    throw new ConfigurationError('kerberosAcceptor(): keytab must be a file path or a Buffer');
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(keytab);
  } catch (error) {
    throw new ConfigurationError(`kerberosAcceptor(): cannot read the keytab ${keytab}`, { cause: error });
  }
  return parseKeytab(bytes);
}

function matchesService(
  service: { components: string[]; realm: string | undefined },
  entry: { components: readonly string[]; realm: string },
): boolean {
  return samePrincipal({ components: service.components, realm: service.realm ?? entry.realm }, entry);
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

function identityFrom(pac: Pac, realm: string): KerberosIdentity {
  const info = pac.logonInfo;
  let sids: { sid: string; groupSids: string[] };
  try {
    sids = samInfoSids(info);
  } catch (error) {
    refuse('ERR_KRB_BAD_PAC', 'PAC LOGON_INFO has no LogonDomainId', undefined, error);
  }
  const groupSids = sids.groupSids;
  // MS-PAC 2.5: resource groups (domain-local groups of the resource domain) when flagged.
  if (info.userFlags & LOGON_RESOURCE_GROUPS && info.resourceGroupDomainSid) {
    for (const group of info.resourceGroupIds) {
      const sid = `${info.resourceGroupDomainSid}-${group.relativeId}`;
      if (!groupSids.includes(sid)) groupSids.push(sid);
    }
  }
  return {
    username: info.effectiveName,
    domain: info.logonDomainName,
    realm,
    userPrincipalName: pac.upnDnsInfo?.upn || undefined,
    sid: sids.sid,
    groupSids,
    displayName: info.fullName,
  };
}
