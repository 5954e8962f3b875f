import { DerReader, derError, oidBody, oidToString, Tag, TagClass } from '../asn1/der.js';
import { DerWriter } from '../asn1/der-writer.js';
import { InvalidTokenError } from '../errors.js';

/**
 * The GSS-API framing of Kerberos context tokens (RFC 2743 3.1, RFC 1964 1.1, RFC 4121 4.1):
 * [APPLICATION 0] { mech OID, TOK_ID (2 bytes), message }. And the "checksum" 0x8003 that the
 * GSS initiator puts in its authenticator (RFC 4121 4.1.1): channel bindings and context flags.
 */

export const KRB5_OID = '1.2.840.113554.1.2.2';
/** The OID Windows used by mistake (a truncated encoding) and still sends first from some clients. */
export const MS_KRB5_OID = '1.2.840.48018.1.2.2';

export const TokId = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

const fail = derError('ERR_KRB_INVALID_TOKEN');

export interface GssToken {
  readonly mech: string;
  readonly tokId: number;
  readonly body: Buffer;
}

export function unwrapGssToken(token: Buffer): GssToken {
  const reader = new DerReader(token, { fail });
  const node = reader.next('GSS token');
  reader.end('GSS token');
  if (node.tagClass !== TagClass.APPLICATION || node.tag !== 0 || !node.constructed) {
    throw fail('GSS token: expected [APPLICATION 0]');
  }
  // The OID is a DER element; what follows is not (TOK_ID, then the raw Kerberos message).
  const inner = new DerReader(node.body, { fail, depth: 1 });
  const oid = inner.next('GSS token mech');
  if (oid.tagClass !== TagClass.UNIVERSAL || oid.tag !== 6 || oid.constructed)
    throw fail('GSS token: no mech OID');
  const mech = oidToString(oid.body, 'GSS token mech', fail);
  const rest = node.body.subarray(oid.raw.length);
  if (rest.length < 2) throw fail('GSS token: no TOK_ID');
  return { mech, tokId: rest.readUInt16BE(0), body: rest.subarray(2) };
}

export function wrapGssToken(mech: string, tokId: number, body: Buffer): Buffer {
  const writer = new DerWriter(body.length + 32);
  const token = startGssToken(writer, mech, tokId);
  writer.bytes(body);
  writer.end(token);
  return writer.result();
}

/**
 * Writes a GSS token's head (RFC 2743 3.1: [APPLICATION 0], the mech OID, then TOK_ID); the
 * message follows it in `writer`, and `writer.end` of what this returns closes the token.
 */
export function startGssToken(writer: DerWriter, mech: string, tokId: number): number {
  const token = writer.application(0);
  writer.primitive(Tag.OID, oidBody(mech));
  // TOK_ID: two octets, big-endian, not a DER element.
  writer.byte(tokId >> 8);
  writer.byte(tokId & 0xff);
  return token;
}

/** GSS context flags in the 0x8003 checksum (RFC 4121 4.1.1.1, RFC 2744). */
export const GssFlag = {
  DELEG: 1,
  MUTUAL: 2,
  REPLAY: 4,
  SEQUENCE: 8,
  CONF: 16,
  INTEG: 32,
  DCE_STYLE: 0x1000,
} as const;

export interface GssChecksum {
  readonly channelBindings: Buffer;
  readonly flags: number;
  /** A forwarded TGT (KRB-CRED), when the client delegated one; we never use it. */
  readonly delegation: Buffer | undefined;
}

export function decodeGssChecksum(checksum: Buffer): GssChecksum {
  const bad = (why: string) => new InvalidTokenError(`GSS checksum 0x8003: ${why}`, 'ERR_KRB_INVALID_TOKEN');
  if (checksum.length < 24) throw bad(`${checksum.length} bytes, fewer than 24`);
  if (checksum.readUInt32LE(0) !== 16) throw bad('Lgth is not 16');
  const flags = checksum.readUInt32LE(20);
  let delegation: Buffer | undefined;
  // As MIT and Heimdal read it: the delegation fields follow only when the checksum is longer
  // than 24 bytes; a DELEG flag on a 24-byte checksum delegates nothing.
  if (flags & GssFlag.DELEG && checksum.length > 24) {
    if (checksum.length < 28) throw bad('DELEG flag with a cut DlgOpt/Dlgth');
    if (checksum.readUInt16LE(24) !== 1) throw bad('DlgOpt is not 1');
    const length = checksum.readUInt16LE(26);
    if (28 + length > checksum.length) throw bad('Deleg runs past the checksum');
    delegation = checksum.subarray(28, 28 + length);
  }
  return { channelBindings: checksum.subarray(4, 20), flags, delegation };
}
