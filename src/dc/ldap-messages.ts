import type { BerReader, BerWriter, Filter } from 'ldapts';
import { ldapts } from './ldapts.js';

/**
 * The few LDAP messages (RFC 4511) the relay connection needs, encoded with ldapts's BER
 * writer and reader. Why not ldapts's Client for the relay: it writes SASL credentials and
 * reads serverSaslCreds as UTF-8 strings, which corrupts binary NTLMSSP tokens (a 16-byte
 * Type 1 becomes 19 bytes, and the Type 2 is lost). Its Client is still what the service
 * account uses for ordinary searches.
 */

/** ProtocolOp tags, RFC 4511 4.2 onwards. */
export const Op = {
  BindRequest: 0x60,
  BindResponse: 0x61,
  UnbindRequest: 0x42,
  SearchRequest: 0x63,
  SearchResultEntry: 0x64,
  SearchResultDone: 0x65,
  SearchResultReference: 0x73,
  ExtendedResponse: 0x78,
} as const;

const SEQUENCE = 0x30;
const SASL_CREDENTIALS = 0xa3;
const SERVER_SASL_CREDS = 0x87;
const REFERRAL = 0xa3;
const OCTET_STRING = 0x04;

export const Scope = { base: 0, subtree: 2 } as const;

export interface LdapResult {
  readonly resultCode: number;
  readonly matchedDN: string;
  readonly diagnosticMessage: string;
}

export type LdapResponse =
  | {
      readonly op: typeof Op.BindResponse;
      readonly messageId: number;
      readonly result: LdapResult;
      readonly serverSaslCreds: Buffer | undefined;
    }
  | { readonly op: typeof Op.SearchResultEntry; readonly messageId: number; readonly entry: SearchEntry }
  | { readonly op: typeof Op.SearchResultDone; readonly messageId: number; readonly result: LdapResult }
  | { readonly op: typeof Op.SearchResultReference; readonly messageId: number }
  | { readonly op: typeof Op.ExtendedResponse; readonly messageId: number; readonly result: LdapResult };

export interface SearchEntry {
  readonly dn: string;
  /** Attribute values as raw bytes, keyed by lower-case attribute name. */
  readonly attributes: ReadonlyMap<string, Buffer[]>;
}

function envelope(messageId: number, writeOp: (writer: BerWriter) => void): Buffer {
  const writer = new (ldapts().BerWriter)();
  writer.startSequence();
  writer.writeInt(messageId);
  writeOp(writer);
  writer.endSequence();
  return writer.buffer;
}

/** BindRequest with SASL mechanism GSS-SPNEGO, an empty DN and the client's raw token. */
export function encodeSaslBind(messageId: number, mechanism: string, credentials: Buffer): Buffer {
  return envelope(messageId, (writer) => {
    writer.startSequence(Op.BindRequest);
    writer.writeInt(3);
    writer.writeString('');
    writer.startSequence(SASL_CREDENTIALS);
    writer.writeString(mechanism);
    writer.writeBuffer(credentials, OCTET_STRING);
    writer.endSequence();
    writer.endSequence();
  });
}

export function encodeSearch(
  messageId: number,
  search: { base: string; scope: number; filter: Filter; attributes: readonly string[]; sizeLimit?: number },
): Buffer {
  return envelope(messageId, (writer) => {
    writer.startSequence(Op.SearchRequest);
    writer.writeString(search.base);
    writer.writeEnumeration(search.scope);
    writer.writeEnumeration(0); // neverDerefAliases
    writer.writeInt(search.sizeLimit ?? 0);
    writer.writeInt(0);
    writer.writeBoolean(false);
    search.filter.write(writer);
    writer.startSequence();
    writer.writeStringArray([...search.attributes]);
    writer.endSequence();
    writer.endSequence();
  });
}

/** UnbindRequest is [APPLICATION 2] NULL: a tag and a zero length. */
export function encodeUnbindRequest(messageId: number): Buffer {
  return envelope(messageId, (writer) => {
    writer.writeByte(Op.UnbindRequest);
    writer.writeByte(0);
  });
}

/**
 * Splits a byte stream into whole LDAPMessages. Returns the complete messages and the bytes of a
 * message still arriving. Throws on a message larger than `maxBytes` or a malformed length.
 */
export function takeFrames(buffer: Buffer, maxBytes: number): { frames: Buffer[]; rest: Buffer } {
  const frames: Buffer[] = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    if (buffer[offset] !== SEQUENCE)
      throw new Error(`LDAP stream out of step: tag 0x${buffer[offset]!.toString(16)}`);
    const first = buffer[offset + 1]!;
    let headerLength = 2;
    let bodyLength = first;
    if (first & 0x80) {
      const octets = first & 0x7f;
      if (octets === 0 || octets > 4) throw new Error(`LDAP message length of ${octets} octets`);
      if (buffer.length - offset < 2 + octets) break;
      bodyLength = 0;
      for (let i = 0; i < octets; i++) bodyLength = bodyLength * 256 + buffer[offset + 2 + i]!;
      headerLength = 2 + octets;
    }
    if (headerLength + bodyLength > maxBytes) {
      throw new Error(
        `LDAP message of ${headerLength + bodyLength} bytes exceeds the ${maxBytes}-byte limit`,
      );
    }
    if (buffer.length - offset < headerLength + bodyLength) break;
    frames.push(buffer.subarray(offset, offset + headerLength + bodyLength));
    offset += headerLength + bodyLength;
  }
  return { frames, rest: buffer.subarray(offset) };
}

function required<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`LDAP message truncated at ${what}`);
  return value;
}

/** Enters a constructed element and returns the offset where it ends (readSequence returns the tag). */
function enter(reader: BerReader, tag: number | undefined, what: string): number {
  required(reader.readSequence(tag), what);
  return reader.offset + reader.length;
}

function readResult(reader: BerReader): LdapResult {
  return {
    resultCode: required(reader.readEnumeration(), 'resultCode'),
    matchedDN: required(reader.readString(), 'matchedDN'),
    diagnosticMessage: required(reader.readString(), 'diagnosticMessage'),
  };
}

function readEntry(reader: BerReader, end: number): SearchEntry {
  const dn = required(reader.readString(), 'objectName');
  const attributes = new Map<string, Buffer[]>();
  enter(reader, SEQUENCE, 'attributes');
  while (reader.offset < end) {
    enter(reader, SEQUENCE, 'attribute');
    const name = required(reader.readString(), 'attribute type').toLowerCase();
    const setEnd = enter(reader, 0x31, 'attribute values');
    const values: Buffer[] = [];
    while (reader.offset < setEnd)
      values.push(required(reader.readString(OCTET_STRING, true), 'attribute value'));
    attributes.set(name, values);
  }
  return { dn, attributes };
}

/** Decodes one whole LDAPMessage (a frame from `takeFrames`). Unknown operations return undefined. */
export function decodeMessage(frame: Buffer): LdapResponse | undefined {
  const reader = new (ldapts().BerReader)(frame);
  enter(reader, SEQUENCE, 'LDAPMessage');
  const messageId = required(reader.readInt(), 'messageID');
  const op = required(reader.peek(), 'protocolOp');
  const end = enter(reader, op, 'protocolOp');
  switch (op) {
    case Op.BindResponse: {
      const result = readResult(reader);
      let serverSaslCreds: Buffer | undefined;
      while (reader.offset < end) {
        const tag = reader.peek();
        if (tag === SERVER_SASL_CREDS)
          serverSaslCreds = required(reader.readString(SERVER_SASL_CREDS, true), 'serverSaslCreds');
        else if (tag === REFERRAL) reader.offset = enter(reader, REFERRAL, 'referral');
        else break;
      }
      return { op, messageId, result, serverSaslCreds };
    }
    case Op.SearchResultEntry:
      return { op, messageId, entry: readEntry(reader, end) };
    case Op.SearchResultDone:
    case Op.ExtendedResponse:
      return { op, messageId, result: readResult(reader) };
    case Op.SearchResultReference:
      return { op, messageId };
    default:
      return undefined;
  }
}
