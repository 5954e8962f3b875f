import { InvalidTokenError } from '../errors.js';

/**
 * Strict readers for the pieces every NTLM message is made of. Each check that fails throws
 * InvalidTokenError: no RangeError, no silently empty field, no read past the buffer.
 *
 * Why we do not use the `ntlm-parser` package: it reads lengths and offsets as signed ints,
 * accepts offsets past the buffer as empty fields, lets AV pairs run past the end, throws bare
 * RangeErrors on truncated input, cannot build a CHALLENGE, and is unmaintained. A parser that
 * decides who a user is must do none of these, so the project parses by itself (MS-NLMP 2.2).
 */

export const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** Larger than any real token: the Authorization header itself is limited to a few KiB. */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Longest user, domain or workstation name we accept, in bytes (256 UTF-16 characters). */
export const MAX_NAME_BYTES = 512;

export const MessageType = {
  NEGOTIATE: 1,
  CHALLENGE: 2,
  AUTHENTICATE: 3,
} as const;

export type MessageTypeNumber = (typeof MessageType)[keyof typeof MessageType];

/** The MessageType field of anything that starts like an NTLMSSP message, else undefined. */
export function peekMessageType(token: Buffer): number | undefined {
  return token.length >= 12 && token.subarray(0, 8).equals(SIGNATURE) ? token.readUInt32LE(8) : undefined;
}

/** Checks the signature and size every message shares, and returns its MessageType field. */
export function readMessageType(token: Buffer): number {
  if (token.length > MAX_TOKEN_BYTES) {
    throw new InvalidTokenError(
      `NTLM token of ${token.length} bytes exceeds ${MAX_TOKEN_BYTES}`,
      'ERR_NTLM_TOKEN_TOO_LARGE',
    );
  }
  const type = peekMessageType(token);
  if (type === undefined) throw new InvalidTokenError('not an NTLMSSP message (bad signature)');
  return type;
}

export function requireLength(token: Buffer, minimum: number, what: string): void {
  if (token.length < minimum) {
    throw new InvalidTokenError(`${what} is ${token.length} bytes, shorter than its fixed part (${minimum})`);
  }
}

/**
 * Reads a payload field through its 8-byte descriptor (Len, MaxLen, BufferOffset; MS-NLMP 2.2.1).
 * MaxLen is ignored as the spec allows. An empty field's offset is not checked: clients put
 * anything there. A non-empty field must lie wholly inside the token and after `payloadStart`.
 */
export function readPayloadField(
  token: Buffer,
  descriptorOffset: number,
  name: string,
  limits: { maxBytes: number; payloadStart: number },
): Buffer {
  const length = token.readUInt16LE(descriptorOffset);
  if (length === 0) return Buffer.alloc(0);
  const offset = token.readUInt32LE(descriptorOffset + 4);
  if (length > limits.maxBytes) {
    throw new InvalidTokenError(`${name} is ${length} bytes, more than the ${limits.maxBytes} allowed`);
  }
  if (offset < limits.payloadStart || offset + length > token.length) {
    throw new InvalidTokenError(
      `${name} (offset ${offset}, length ${length}) lies outside the ${token.length}-byte token`,
    );
  }
  return token.subarray(offset, offset + length);
}

/** The lowest offset of the non-empty payload fields: where the fixed part really ends. */
export function lowestPayloadOffset(token: Buffer, descriptorOffsets: readonly number[]): number {
  let lowest = token.length;
  for (const descriptor of descriptorOffsets) {
    if (token.readUInt16LE(descriptor) > 0) lowest = Math.min(lowest, token.readUInt32LE(descriptor + 4));
  }
  return lowest;
}

/**
 * Decodes a name field. Unicode (UTF-16LE) when NEGOTIATE_UNICODE was agreed, else the OEM code
 * page, for which latin1 is the safe reading. Control characters are refused: no client sends
 * them, and they would reach log lines and HTTP headers; so is text that is not UTF-16.
 */
export function decodeName(bytes: Buffer, unicode: boolean, name: string): string {
  if (unicode && bytes.length % 2 !== 0) {
    throw new InvalidTokenError(`${name} has an odd byte length in a Unicode message`);
  }
  const text = bytes.toString(unicode ? 'utf16le' : 'latin1');
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new InvalidTokenError(`${name} contains control characters`);
  }
  // A lone surrogate is not UTF-16: a DC cannot convert it (Samba faults the whole Netlogon call
  // with 0x6F7, issue 18), and no client sends one. Refused here, before any verifier asks a DC.
  if (hasLoneSurrogate(text)) {
    throw new InvalidTokenError(`${name} is not valid UTF-16 (a lone surrogate)`);
  }
  return text;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` is not valid UTF-16 (holds a lone surrogate). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export function encodeName(text: string, unicode: boolean): Buffer {
  return Buffer.from(text, unicode ? 'utf16le' : 'latin1');
}

/** A zeroed fixed part of `length` bytes that starts with the signature and the message type. */
export function newMessageHeader(length: number, type: MessageTypeNumber): Buffer {
  const header = Buffer.alloc(length);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(type, 8);
  return header;
}

/**
 * Lays out payload fields after a fixed header and writes their descriptors.
 * `fields` pairs each descriptor offset with its bytes, in payload order.
 */
export function writePayload(header: Buffer, fields: ReadonlyArray<readonly [number, Buffer]>): Buffer {
  let offset = header.length;
  for (const [descriptor, bytes] of fields) {
    header.writeUInt16LE(bytes.length, descriptor);
    header.writeUInt16LE(bytes.length, descriptor + 2);
    header.writeUInt32LE(offset, descriptor + 4);
    offset += bytes.length;
  }
  return Buffer.concat([header, ...fields.map(([, bytes]) => bytes)]);
}
