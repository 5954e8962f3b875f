/**
 * Connection-oriented DCE/RPC PDUs (C706 chapter 12.6, MS-RPCE 2.2.2): the 16-byte common header,
 * bind / alter_context and their acks, request, response and fault, and the auth verifier
 * trailer (sec_trailer + auth_value, MS-RPCE 2.2.2.11) that follows the stub and its padding.
 * Bytes in, typed object out; nothing here knows about sockets or keys.
 */

export const PacketType = {
  request: 0,
  response: 2,
  fault: 3,
  bind: 11,
  bindAck: 12,
  bindNak: 13,
  alterContext: 14,
  alterContextResp: 15,
  shutdown: 17,
} as const;

/** pfc_flags (C706 12.6.3.1). */
export const PfcFlags = { FIRST_FRAG: 0x01, LAST_FRAG: 0x02 } as const;

/** auth_level (MS-RPCE 2.2.1.1.8): only PKT_PRIVACY is accepted for Netlogon. */
export const AuthLevel = { none: 1, packetIntegrity: 5, packetPrivacy: 6 } as const;

/** auth_type (MS-RPCE 2.2.1.1.7). 0x44 is the Netlogon secure channel (schannel). */
export const AuthType = { netlogon: 0x44 } as const;

export const COMMON_HEADER_LENGTH = 16;
export const SEC_TRAILER_LENGTH = 8;
/** MS-RPCE 2.2.2.11: the stub plus auth padding is a multiple of 16 bytes (as Windows and Samba pad it). */
export const AUTH_PAD_ALIGNMENT = 16;
/** Little-endian integers, ASCII characters, IEEE floats (C706 14.1). */
const DATA_REPRESENTATION = Buffer.from([0x10, 0, 0, 0]);

/** What went wrong in a PDU: the connection that carried it is no longer usable. */
export class RpcProtocolError extends Error {
  override readonly name = 'RpcProtocolError';
}

/** A DCE/RPC fault or rejection, with the status the server gave (e.g. 0x1c010003 nca_s_unk_if). */
export class RpcFault extends Error {
  override readonly name = 'RpcFault';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(`${message} (status 0x${status.toString(16).padStart(8, '0')})`);
  }
}

/** An interface or transfer syntax: UUID and version (p_syntax_id_t). */
export interface SyntaxId {
  readonly uuid: string;
  readonly major: number;
  readonly minor: number;
}

/** NDR20, the transfer syntax we speak (C706 appendix I). */
export const NDR20: SyntaxId = { uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', major: 2, minor: 0 };

/** A UUID in its wire form: the first three fields little-endian (C706 appendix A). */
export function encodeUuid(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new TypeError(`not a UUID: ${uuid}`);
  const bytes = Buffer.from(hex, 'hex');
  bytes.subarray(0, 4).reverse();
  bytes.subarray(4, 6).reverse();
  bytes.subarray(6, 8).reverse();
  return bytes;
}

export function decodeUuid(bytes: Buffer): string {
  const b = Buffer.from(bytes.subarray(0, 16));
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function encodeSyntax(syntax: SyntaxId): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt16LE(syntax.major, 0);
  version.writeUInt16LE(syntax.minor, 2);
  return Buffer.concat([encodeUuid(syntax.uuid), version]);
}

/** sec_trailer + auth_value. */
export interface AuthVerifier {
  readonly authType: number;
  readonly authLevel: number;
  readonly authPadLength: number;
  readonly authContextId: number;
  readonly authValue: Buffer;
}

export interface Pdu {
  readonly type: number;
  readonly flags: number;
  readonly callId: number;
  /** The type-specific body, between the common header and the auth verifier (padding included). */
  readonly body: Buffer;
  readonly auth: AuthVerifier | undefined;
  /** The whole PDU as received. */
  readonly raw: Buffer;
}

/** frag_length of a PDU header, for framing a byte stream; undefined before 16 bytes arrived. */
export function peekFragmentLength(bytes: Buffer): number | undefined {
  return bytes.length >= COMMON_HEADER_LENGTH ? bytes.readUInt16LE(8) : undefined;
}

/** Builds one PDU: header, body (with the auth padding already at its end), then the auth verifier. */
export function encodePdu(parts: {
  type: number;
  flags: number;
  callId: number;
  body: Buffer;
  auth?: AuthVerifier;
}): Buffer {
  const { auth } = parts;
  const authLength = auth ? auth.authValue.length : 0;
  const length = COMMON_HEADER_LENGTH + parts.body.length + (auth ? SEC_TRAILER_LENGTH + authLength : 0);
  if (length > 0xffff) throw new RangeError(`PDU of ${length} bytes exceeds 65535`);
  const header = Buffer.alloc(COMMON_HEADER_LENGTH);
  header[0] = 5; // rpc_vers
  header[1] = 0; // rpc_vers_minor
  header[2] = parts.type;
  header[3] = parts.flags;
  DATA_REPRESENTATION.copy(header, 4);
  header.writeUInt16LE(length, 8);
  header.writeUInt16LE(authLength, 10);
  header.writeUInt32LE(parts.callId, 12);
  if (!auth) return Buffer.concat([header, parts.body]);
  const trailer = Buffer.alloc(SEC_TRAILER_LENGTH);
  trailer[0] = auth.authType;
  trailer[1] = auth.authLevel;
  trailer[2] = auth.authPadLength;
  trailer[3] = 0;
  trailer.writeUInt32LE(auth.authContextId, 4);
  return Buffer.concat([header, parts.body, trailer, auth.authValue]);
}

/** Parses one complete PDU (exactly frag_length bytes), strictly. */
export function decodePdu(raw: Buffer): Pdu {
  if (raw.length < COMMON_HEADER_LENGTH) throw new RpcProtocolError(`PDU of ${raw.length} bytes`);
  if (raw[0] !== 5 || raw[1] !== 0)
    throw new RpcProtocolError(`RPC version ${raw[0]}.${raw[1]}, expected 5.0`);
  if (raw[4] !== 0x10)
    throw new RpcProtocolError(`data representation 0x${raw[4]!.toString(16)} is not little-endian ASCII`);
  const fragLength = raw.readUInt16LE(8);
  const authLength = raw.readUInt16LE(10);
  if (fragLength !== raw.length)
    throw new RpcProtocolError(`frag_length ${fragLength}, got ${raw.length} bytes`);
  let bodyEnd = raw.length;
  let auth: AuthVerifier | undefined;
  if (authLength > 0) {
    bodyEnd = raw.length - authLength - SEC_TRAILER_LENGTH;
    if (bodyEnd < COMMON_HEADER_LENGTH)
      throw new RpcProtocolError(`auth_length ${authLength} exceeds the PDU`);
    const authPadLength = raw[bodyEnd + 2]!;
    auth = {
      authType: raw[bodyEnd]!,
      authLevel: raw[bodyEnd + 1]!,
      authPadLength,
      authContextId: raw.readUInt32LE(bodyEnd + 4),
      authValue: raw.subarray(bodyEnd + SEC_TRAILER_LENGTH),
    };
    if (bodyEnd - authPadLength < COMMON_HEADER_LENGTH)
      throw new RpcProtocolError(`auth_pad_length ${authPadLength} exceeds the body`);
  }
  return {
    type: raw[2]!,
    flags: raw[3]!,
    callId: raw.readUInt32LE(12),
    body: raw.subarray(COMMON_HEADER_LENGTH, bodyEnd),
    auth,
    raw,
  };
}

/** bind / alter_context body (C706 12.6.4.3) with one presentation context. */
export function encodeBindBody(options: {
  maxXmitFrag: number;
  maxRecvFrag: number;
  assocGroupId: number;
  contextId: number;
  abstractSyntax: SyntaxId;
  transferSyntax?: SyntaxId;
}): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(options.maxXmitFrag, 0);
  head.writeUInt16LE(options.maxRecvFrag, 2);
  head.writeUInt32LE(options.assocGroupId, 4);
  head[8] = 1; // n_context_elem
  const element = Buffer.alloc(4);
  element.writeUInt16LE(options.contextId, 0);
  element[2] = 1; // n_transfer_syn
  return Buffer.concat([
    head,
    element,
    encodeSyntax(options.abstractSyntax),
    encodeSyntax(options.transferSyntax ?? NDR20),
  ]);
}

export interface BindAck {
  readonly maxXmitFrag: number;
  readonly maxRecvFrag: number;
  readonly assocGroupId: number;
  /** p_cont_def_result_t.result of our one context: 0 acceptance. */
  readonly result: number;
  readonly reason: number;
  readonly transferSyntax: string;
}

/** bind_ack / alter_context_resp body (C706 12.6.4.4). */
export function decodeBindAck(body: Buffer): BindAck {
  if (body.length < 10) throw new RpcProtocolError(`bind_ack body of ${body.length} bytes`);
  const secondaryAddressLength = body.readUInt16LE(8);
  let offset = 10 + secondaryAddressLength;
  offset += (4 - (offset % 4)) % 4; // p_result_list is 4-aligned (the PDU header is 16 bytes)
  if (offset + 4 + 24 > body.length) throw new RpcProtocolError('bind_ack result list exceeds the body');
  const count = body[offset]!;
  if (count < 1) throw new RpcProtocolError('bind_ack without results');
  return {
    maxXmitFrag: body.readUInt16LE(0),
    maxRecvFrag: body.readUInt16LE(2),
    assocGroupId: body.readUInt32LE(4),
    result: body.readUInt16LE(offset + 4),
    reason: body.readUInt16LE(offset + 6),
    transferSyntax: decodeUuid(body.subarray(offset + 8, offset + 24)),
  };
}

/** bind_nak (C706 12.6.4.5): provider_reject_reason. */
export function decodeBindNak(body: Buffer): number {
  return body.length >= 2 ? body.readUInt16LE(0) : -1;
}

export const REQUEST_HEADER_LENGTH = 8;

/** request body header (C706 12.6.4.9): alloc_hint, p_cont_id, opnum; no object UUID. */
export function encodeRequestHeader(allocHint: number, contextId: number, opnum: number): Buffer {
  const header = Buffer.alloc(REQUEST_HEADER_LENGTH);
  header.writeUInt32LE(allocHint, 0);
  header.writeUInt16LE(contextId, 4);
  header.writeUInt16LE(opnum, 6);
  return header;
}

/** response body (C706 12.6.4.10): alloc_hint, p_cont_id, cancel_count, reserved, then the stub. */
export function decodeResponseBody(body: Buffer): { contextId: number; stub: Buffer } {
  if (body.length < 8) throw new RpcProtocolError(`response body of ${body.length} bytes`);
  return { contextId: body.readUInt16LE(4), stub: body.subarray(8) };
}

/** fault body (C706 12.6.4.7): the status is at offset 8. */
export function decodeFaultStatus(body: Buffer): number {
  if (body.length < 12) throw new RpcProtocolError(`fault body of ${body.length} bytes`);
  return body.readUInt32LE(8);
}

/** auth_pad_length for a stub (the bytes after the request/response header) of this length. */
export function authPadLength(stubLength: number): number {
  return (AUTH_PAD_ALIGNMENT - (stubLength % AUTH_PAD_ALIGNMENT)) % AUTH_PAD_ALIGNMENT;
}
