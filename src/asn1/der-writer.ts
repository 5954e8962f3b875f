import { Tag, TagClass } from './tags.js';

/** Octets of a DER length: one below 0x80, else 0x8n and n big-endian octets. */
function lengthOctets(length: number): number {
  if (length < 0x80) return 1;
  let count = 1;
  for (let n = length; n > 0; n = Math.floor(n / 256)) count++;
  return count;
}

/** 2^(8n-1): an INTEGER of n octets holds -HALF_RANGE[n] .. HALF_RANGE[n]-1. */
const HALF_RANGE = [0, 0x80, 0x8000, 0x800000, 0x80000000];

/**
 * A DER writer (X.690) that builds a whole message in one buffer, in the order its ASN.1 reads:
 * `start` an element, write what it holds, `end` it, and its length is put in front of it then.
 *
 * Why, next to der.ts's `der.*` functions (built on it): each of those returns a Buffer of its
 * own, so a message made of them is an allocation per element and every byte copied once per
 * level it is nested in.
 * A Kerberos logon's answer (the AP-REP, its GSS frame and SPNEGO's NegTokenResp) was ~35 such
 * elements, a typed array made for each and its bytes copied again at every level: a third of
 * the acceptor's work (bench/analysis.md, session 18). Here it is one buffer per message, and a
 * length of 128 bytes or more moves its element's contents once, by the 1–4 bytes it grows.
 */
export class DerWriter {
  #buf: Buffer;
  #pos = 0;
  /** Elements started and not yet ended: each holds an unwritten length octet until it ends. */
  #open = 0;

  /** `capacity`: the bytes expected; the buffer grows past it when needed. */
  constructor(capacity = 256) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  /** Starts a constructed element with the given first octet; `end` takes what this returns. */
  start(first: number): number {
    this.#reserve(2);
    this.#buf[this.#pos] = first;
    // One length octet for now: `end` makes room for more when the contents need them.
    this.#pos += 2;
    this.#open++;
    return this.#pos;
  }

  sequence(): number {
    return this.start(0x20 | Tag.SEQUENCE);
  }

  /** `[n] EXPLICIT` */
  context(n: number): number {
    return this.start((TagClass.CONTEXT << 6) | 0x20 | n);
  }

  application(n: number): number {
    return this.start((TagClass.APPLICATION << 6) | 0x20 | n);
  }

  /** `[n] EXPLICIT INTEGER`: the commonest field of RFC 4120's messages. */
  contextInteger(n: number, value: number): void {
    const field = this.context(n);
    this.integer(value);
    this.end(field);
  }

  /** `[n] EXPLICIT OCTET STRING` */
  contextOctetString(n: number, bytes: Uint8Array): void {
    const field = this.context(n);
    this.octetString(bytes);
    this.end(field);
  }

  /** Ends the element `start` returned `contents` for: writes its length, in DER's shortest form. */
  end(contents: number): void {
    this.#open--;
    const length = this.#pos - contents;
    // Past one octet of length, the contents move by the octets it needs more.
    const more = lengthOctets(length) - 1;
    if (more > 0) {
      this.#reserve(more);
      this.#buf.copyWithin(contents + more, contents, this.#pos);
      this.#pos += more;
    }
    this.#putLength(contents - 1, length);
  }

  /** An element's first octet and length, when the length is known before its contents (which follow). */
  header(first: number, length: number): void {
    this.#reserve(1 + lengthOctets(length));
    this.#buf[this.#pos] = first;
    this.#pos = this.#putLength(this.#pos + 1, length);
  }

  /** A primitive element: first octet, length, `body`. */
  primitive(first: number, body: Uint8Array): void {
    this.header(first, body.length);
    this.bytes(body);
  }

  /** Bytes as they are, not an element (a GSS token's TOK_ID, a message already encoded). */
  bytes(body: Uint8Array): void {
    this.#reserve(body.length);
    this.#buf.set(body, this.#pos);
    this.#pos += body.length;
  }

  /** One octet as it is. */
  byte(value: number): void {
    this.#reserve(1);
    this.#buf[this.#pos++] = value;
  }

  /** INTEGER within -2^31 .. 2^32-1 (RFC 4120's Int32 and UInt32), in its fewest octets. */
  integer(value: number): void {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new RangeError(`INTEGER ${value} out of range`);
    }
    let length = 1;
    while (length < 5 && (value < -HALF_RANGE[length]! || value >= HALF_RANGE[length]!)) length++;
    this.header(Tag.INTEGER, length);
    this.#reserve(length);
    // Two's complement, big-endian, low octet last.
    for (let i = length - 1, n = value; i >= 0; i--, n = Math.floor(n / 256))
      this.#buf[this.#pos + i] = n & 0xff;
    this.#pos += length;
  }

  enumerated(value: number): void {
    this.header(Tag.ENUMERATED, 1);
    this.byte(value);
  }

  octetString(bytes: Uint8Array): void {
    this.primitive(Tag.OCTET_STRING, bytes);
  }

  /** KerberosTime (RFC 4120 5.2.3): GeneralizedTime "YYYYMMDDHHMMSSZ", written digit by digit. */
  kerberosTime(date: Date): void {
    const year = date.getUTCFullYear();
    if (!(year >= 0 && year <= 9999)) throw new RangeError(`KerberosTime: year ${year} out of range`);
    this.header(Tag.GENERALIZED_TIME, 15);
    this.#reserve(15);
    this.#digits(year, 4);
    this.#digits(date.getUTCMonth() + 1, 2);
    this.#digits(date.getUTCDate(), 2);
    this.#digits(date.getUTCHours(), 2);
    this.#digits(date.getUTCMinutes(), 2);
    this.#digits(date.getUTCSeconds(), 2);
    this.#buf[this.#pos++] = 0x5a; // Z
  }

  /**
   * What was written: a view of this writer's buffer (no copy), for the one message it holds.
   * Throws while an element is open: its length octet would be whatever the buffer held before
   * (allocUnsafe's memory, from Node's pool).
   */
  result(): Buffer {
    if (this.#open !== 0) throw new Error(`DerWriter: ${this.#open} element(s) started and not ended`);
    return this.#buf.subarray(0, this.#pos);
  }

  /** Writes `length` at `at` in DER's shortest form (the caller made room); returns where it ends. */
  #putLength(at: number, length: number): number {
    const octets = lengthOctets(length);
    if (octets === 1) {
      this.#buf[at] = length;
      return at + 1;
    }
    this.#buf[at] = 0x80 | (octets - 1);
    for (let i = octets - 1, n = length; i >= 1; i--, n = Math.floor(n / 256)) this.#buf[at + i] = n & 0xff;
    return at + octets;
  }

  #digits(value: number, width: number): void {
    for (let i = width - 1; i >= 0; i--, value = Math.floor(value / 10))
      this.#buf[this.#pos + i] = 0x30 + (value % 10);
    this.#pos += width;
  }

  #reserve(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
  }
}
