// Kerberos inputs from a real ticket (curl --negotiate against the Samba KDC, with the service's
// keytab): the fuzzer holds the service key, so it can open the ticket, change what is inside
// (EncTicketPart, the PAC, re-signed) and seal it again, and give every input a fresh
// authenticator (now, its own confounder) so that times and the replay cache let it through to
// the check a mutation aims at.
import { readFileSync } from 'node:fs';
import { AesKeySchedule, aesChecksum } from '../../src/kerberos/aes-sha1.js';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { decodeAuthenticator } from '../../src/kerberos/authenticator.js';
import { decodeEncTicketPart } from '../../src/kerberos/enc-ticket-part.js';
import { decrypt, type EncryptionKey, EncType, encrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { KRB5_OID, TokId, unwrapGssToken, wrapGssToken } from '../../src/kerberos/gss-token.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { findPac, PacBufferType } from '../../src/kerberos/pac.js';
import { decodeSpnego, encodeNegTokenInit, MechOid } from '../../src/negotiate/spnego.js';
import { boundary, mutateBytes } from './bytes.js';
import { type DerTreeNode, mutateDer, parseDer, serializeAll } from './der-tree.js';
import { mutateNdr } from './ndr-inputs.js';
import type { Random } from './random.js';

const FIXTURES = new URL('../fixtures/kerberos/', import.meta.url);
export const KEYTAB = readFileSync(new URL('http.keytab', FIXTURES));

/** GeneralizedTime as Kerberos writes it: YYYYMMDDHHMMSSZ, 15 bytes. */
function kerberosTime(ms: number): Buffer {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return Buffer.from(`${iso.slice(0, 19).replace(/[-:T]/g, '')}Z`, 'latin1');
}

function replaceAll(bytes: Buffer, from: Buffer, to: Buffer): void {
  for (let at = bytes.indexOf(from); at >= 0; at = bytes.indexOf(from, at + 1)) to.copy(bytes, at);
}

/** Replaces, in a DER tree, the node whose content is `old` (a leaf, or DER opened as children). */
function replaceContent(nodes: DerTreeNode[], old: Buffer, replacement: Buffer): boolean {
  for (const node of nodes) {
    const content = node.children ? serializeAll(node.children) : node.content;
    if (content.equals(old)) {
      node.children = undefined;
      node.content = replacement;
      return true;
    }
    if (node.children && content.includes(old) && replaceContent(node.children, old, replacement))
      return true;
  }
  return false;
}

/** Where a mutation of a Kerberos token lands. */
export type KerberosLayer = 'none' | 'spnego' | 'ap-req' | 'gss' | 'ticket' | 'authenticator' | 'bare-krb5';

export class KerberosInputs {
  readonly #spnego: Buffer;
  readonly #apReq: Buffer;
  readonly #serviceKey: EncryptionKey;
  readonly #sessionKey: EncryptionKey;
  readonly #ticketCipher: Buffer;
  readonly #authenticatorCipher: Buffer;
  readonly #ticketPlain: Buffer;
  readonly #authenticatorPlain: Buffer;
  readonly #times: { endtime: Buffer; starttime: Buffer | undefined; ctime: Buffer };
  /** The PAC as the KDC signed it. */
  readonly pac: Buffer;

  constructor() {
    this.#spnego = Buffer.from(
      readFileSync(new URL('curl-negotiate-token.b64', FIXTURES), 'utf8').trim(),
      'base64',
    );
    const init = decodeSpnego(this.#spnego);
    if (init.kind !== 'init' || !init.mechToken)
      throw new Error('the fixture is not a NegTokenInit with a token');
    this.#apReq = unwrapGssToken(init.mechToken).body;
    const apReq = decodeApReq(this.#apReq);
    this.#serviceKey = parseKeytab(KEYTAB).find((e) => e.key.etype === EncType.AES256_CTS_HMAC_SHA1_96)!.key;
    this.#ticketCipher = apReq.ticket.encPart.cipher;
    this.#authenticatorCipher = apReq.authenticator.cipher;
    this.#ticketPlain = decrypt(this.#serviceKey, KeyUsage.TICKET, this.#ticketCipher)!;
    const part = decodeEncTicketPart(this.#ticketPlain);
    this.#sessionKey = part.key;
    this.#authenticatorPlain = decrypt(part.key, KeyUsage.AP_REQ_AUTHENTICATOR, this.#authenticatorCipher)!;
    const authenticator = decodeAuthenticator(this.#authenticatorPlain);
    this.#times = {
      endtime: kerberosTime(part.endtime.getTime()),
      starttime: part.starttime ? kerberosTime(part.starttime.getTime()) : undefined,
      ctime: kerberosTime(authenticator.ctime.getTime()),
    };
    this.pac = Buffer.from(findPac(part.authorizationData)!);
  }

  /** The ticket's plaintext, valid from an hour ago for ten hours (authtime, which the PAC names, kept). */
  #freshTicket(now: number): Buffer {
    const plain = Buffer.from(this.#ticketPlain);
    replaceAll(plain, this.#times.endtime, kerberosTime(now + 10 * 3_600_000));
    if (this.#times.starttime) replaceAll(plain, this.#times.starttime, kerberosTime(now - 3_600_000));
    return plain;
  }

  #freshAuthenticator(now: number): Buffer {
    const plain = Buffer.from(this.#authenticatorPlain);
    replaceAll(plain, this.#times.ctime, kerberosTime(now));
    return plain;
  }

  /** A token whose ticket carries `pac` (re-signed with the service key unless `sign` is false). */
  withPac(pac: Buffer, now = Date.now()): Buffer {
    const roots = parseDer(this.#freshTicket(now))!;
    if (!replaceContent(roots, this.pac, pac)) throw new Error('the PAC is not in the ticket');
    return this.#token(serializeAll(roots), this.#freshAuthenticator(now));
  }

  /** A Negotiate token with a mutation at `layer` (none: the real logon, which passes). */
  input(random: Random, layer: KerberosLayer, now = Date.now()): Buffer {
    let ticket = this.#freshTicket(now);
    let authenticator = this.#freshAuthenticator(now);
    if (layer === 'ticket') ticket = structured(random, ticket);
    if (layer === 'authenticator') authenticator = structured(random, authenticator);
    if (layer === 'ap-req' || layer === 'gss' || layer === 'bare-krb5') {
      const apReq = this.#apReqWith(ticket, authenticator);
      const mutatedApReq = layer === 'ap-req' ? structured(random, apReq) : apReq;
      let gss = wrapGssToken(KRB5_OID, TokId.AP_REQ, mutatedApReq);
      if (layer === 'gss')
        gss = Buffer.concat([mutateBytes(random, gss.subarray(0, 24), 2), gss.subarray(24)]);
      if (layer === 'bare-krb5') return random.chance(0.5) ? gss : mutateBytes(random, gss, 2);
      return encodeNegTokenInit({
        mechTypes: [MechOid.MS_KRB5, MechOid.KRB5, MechOid.NTLMSSP],
        mechToken: gss,
      });
    }
    const token = this.#token(ticket, authenticator);
    return layer === 'spnego' ? structured(random, token) : token;
  }

  #apReqWith(ticketPlain: Buffer, authenticatorPlain: Buffer): Buffer {
    const ticket = encrypt(this.#serviceKey, KeyUsage.TICKET, ticketPlain);
    const authenticator = encrypt(this.#sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, authenticatorPlain);
    if (
      ticket.length === this.#ticketCipher.length &&
      authenticator.length === this.#authenticatorCipher.length
    ) {
      // Same lengths (the plaintexts kept theirs): the ciphers go where the old ones were.
      const apReq = Buffer.from(this.#apReq);
      ticket.copy(apReq, this.#apReq.indexOf(this.#ticketCipher));
      authenticator.copy(apReq, this.#apReq.indexOf(this.#authenticatorCipher));
      return apReq;
    }
    const roots = parseDer(this.#apReq)!;
    replaceContent(roots, this.#ticketCipher, ticket);
    replaceContent(roots, this.#authenticatorCipher, authenticator);
    return serializeAll(roots);
  }

  #token(ticketPlain: Buffer, authenticatorPlain: Buffer): Buffer {
    const gss = wrapGssToken(KRB5_OID, TokId.AP_REQ, this.#apReqWith(ticketPlain, authenticatorPlain));
    // As curl sends it: the MS krb5 OID first, then the standard one.
    return encodeNegTokenInit({ mechTypes: [MechOid.MS_KRB5, MechOid.KRB5], mechToken: gss });
  }

  /** Signs `pac` as the KDC would for this service (MS-PAC 2.8.1), if its layout still allows it. */
  sign(pac: Buffer): Buffer {
    const out = Buffer.from(pac);
    const signatures = pacSignatures(out);
    if (!signatures) return out;
    const { server, kdc } = signatures;
    const zeroed = Buffer.from(out);
    zeroed.fill(0, server, server + 12);
    zeroed.fill(0, kdc, kdc + 12);
    aesChecksum(new AesKeySchedule(this.#serviceKey.value).usage(KeyUsage.PAC_CHECKSUM), zeroed).copy(
      out,
      server,
    );
    return out;
  }
}

/** Where the server and KDC signatures (12-byte AES ones) sit, if the PAC's header says so. */
function pacSignatures(pac: Buffer): { server: number; kdc: number } | undefined {
  if (pac.length < 8) return undefined;
  const count = pac.readUInt32LE(0);
  if (count > 64 || 8 + count * 16 > pac.length) return undefined;
  let server: number | undefined;
  let kdc: number | undefined;
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const type = pac.readUInt32LE(at);
    const offset = Number(pac.readBigUInt64LE(at + 8));
    if (offset + 16 > pac.length) continue;
    if (type === PacBufferType.SERVER_CHECKSUM && server === undefined) server = offset + 4;
    if (type === PacBufferType.PRIVSVR_CHECKSUM && kdc === undefined) kdc = offset + 4;
  }
  return server !== undefined && kdc !== undefined ? { server, kdc } : undefined;
}

/** Mostly structure-aware (DER), sometimes blind. */
function structured(random: Random, der: Buffer): Buffer {
  const mutated = random.chance(0.75) ? mutateDer(random, der) : mutateBytes(random, der, 3);
  return random.chance(0.15) ? mutateBytes(random, mutated, 1) : mutated;
}

/** The PAC's buffers as its header describes them. */
function pacBuffers(pac: Buffer): { entry: number; type: number; size: number; offset: number }[] {
  const count = pac.readUInt32LE(0);
  const buffers = [];
  for (let i = 0; i < count && 8 + i * 16 + 16 <= pac.length; i++) {
    const entry = 8 + i * 16;
    buffers.push({
      entry,
      type: pac.readUInt32LE(entry),
      size: pac.readUInt32LE(entry + 4),
      offset: Number(pac.readBigUInt64LE(entry + 8)),
    });
  }
  return buffers;
}

/**
 * One to three edits of a PAC that know MS-PAC: the buffer count, a buffer's type, size or offset,
 * the NDR inside LOGON_INFO, CLIENT_INFO's name, UPN_DNS_INFO's offsets, a signature's type.
 */
export function mutatePac(random: Random, pac: Buffer): Buffer {
  let out: Buffer = Buffer.from(pac);
  const edits = random.range(1, 3);
  for (let e = 0; e < edits; e++) {
    const buffers = out.length >= 8 ? pacBuffers(out) : [];
    const buffer = buffers.length ? random.pick(buffers) : undefined;
    const choice = random.int(10);
    if (!buffer || choice === 0) {
      if (out.length >= 8)
        out.writeUInt32LE(boundary(random, out.readUInt32LE(0)) >>> 0, random.chance(0.8) ? 0 : 4);
      else out = mutateBytes(random, out, 2);
      continue;
    }
    const inside = buffer.offset + buffer.size <= out.length ? buffer : undefined;
    switch (choice) {
      case 1:
        out.writeUInt32LE(
          random.chance(0.5) ? random.pick([0, 1, 2, 6, 7, 10, 11, 12, 13, 14, 16, 17, 18]) : random.u32(),
          buffer.entry,
        );
        break;
      case 2:
        out.writeUInt32LE(boundary(random, buffer.size) >>> 0, buffer.entry + 4);
        break;
      case 3:
        out.writeBigUInt64LE(
          BigInt(
            random.chance(0.5)
              ? boundary(random, buffer.offset)
              : buffer.offset + random.pick([-8, -1, 1, 8, 4096]),
          ) & 0xffffffffffffffffn,
          buffer.entry + 8,
        );
        break;
      case 4:
      case 5:
        if (inside && buffer.type === PacBufferType.LOGON_INFO) {
          const body = mutateNdr(random, out.subarray(inside.offset, inside.offset + inside.size), 0);
          out = splice(out, inside, body);
        } else if (inside) {
          out = splice(
            out,
            inside,
            mutateBytes(random, out.subarray(inside.offset, inside.offset + inside.size), 2),
          );
        }
        break;
      case 6:
        if (inside && buffer.type === PacBufferType.CLIENT_INFO && inside.size >= 10) {
          // ClientId (8), NameLength (2), Name: the length, or a lone surrogate in the name.
          if (random.chance(0.5))
            out.writeUInt16LE(
              boundary(random, out.readUInt16LE(inside.offset + 8)) & 0xffff,
              inside.offset + 8,
            );
          else if (inside.size >= 12)
            out.writeUInt16LE(
              random.pick([0xd800, 0xdc00, 0]),
              inside.offset + 10 + 2 * random.int((inside.size - 10) >> 1),
            );
        }
        break;
      case 7:
        if (inside && buffer.type === PacBufferType.UPN_DNS_INFO && inside.size >= 12) {
          // UpnLength, UpnOffset, DnsDomainNameLength, DnsDomainNameOffset (u16 each), Flags.
          const field = inside.offset + 2 * random.int(4);
          out.writeUInt16LE(boundary(random, out.readUInt16LE(field)) & 0xffff, field);
        }
        break;
      case 8:
        if (
          inside &&
          (buffer.type === PacBufferType.SERVER_CHECKSUM || buffer.type === PacBufferType.PRIVSVR_CHECKSUM) &&
          inside.size >= 4
        ) {
          out.writeInt32LE(random.pick([16, 15, -138, 0, 1, 12345, -1]), inside.offset);
        }
        break;
      default:
        out = mutateBytes(random, out, 2);
    }
  }
  return out;
}

/** `pac` with the bytes of `at` replaced by `body` (of any length): later offsets are not moved. */
function splice(pac: Buffer, at: { offset: number; size: number }, body: Buffer): Buffer {
  return Buffer.concat([pac.subarray(0, at.offset), body, pac.subarray(at.offset + at.size)]);
}
