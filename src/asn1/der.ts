import { isUtf8 } from 'node:buffer';
import { type InvalidTokenCode, InvalidTokenError } from '../errors.js';
import { DerWriter } from './der-writer.js';
import { Tag, TagClass } from './tags.js';

/**
 * A small strict DER reader and writer (X.690) for the Kerberos (RFC 4120) and SPNEGO (RFC 4178)
 * messages, and nothing more.
 *
 * Why our own rather than asn1js or @peculiar/asn1-schema (both maintained): those accept BER
 * (indefinite lengths, non-minimal lengths and integers) and build generic object trees we would
 * then walk and check again; the acceptor needs a dozen types, every length checked against its
 * parent before anything is read, a depth limit, and our own typed errors with stable codes. That
 * is ~200 lines here and no dependency on the path that decides who a user is.
 */

export { Tag, TagClass };

/** Deeper than any Kerberos or SPNEGO message nests; a bound against stack exhaustion. */
const MAX_DEPTH = 32;

export interface DerNode {
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tag: number;
  /** The contents octets (a view into the input, not a copy). */
  readonly body: Buffer;
  /** The whole element, header included. */
  readonly raw: Buffer;
  readonly depth: number;
  /** The buffer the element was read from: its contents are `input[bodyStart, end)`. */
  readonly input: Buffer;
  readonly bodyStart: number;
  readonly end: number;
}

/**
 * A DerNode that is offsets into the input: its body and whole encoding are cut only when asked
 * for. A constructed element is read through `inside`, on the same input, and a primitive one's
 * value in place: a Buffer view per element was a tenth of a Kerberos logon's DER work, and one
 * per INTEGER, string and time ~18 thousand instructions a logon more (bench/analysis.md,
 * session 19).
 */
class Element implements DerNode {
  readonly tagClass: number;
  readonly constructed: boolean;
  readonly tag: number;

  constructor(
    first: number,
    readonly input: Buffer,
    private readonly start: number,
    readonly bodyStart: number,
    readonly end: number,
    readonly depth: number,
  ) {
    this.tagClass = first >> 6;
    this.constructed = (first & 0x20) !== 0;
    this.tag = first & 0x1f;
  }

  get body(): Buffer {
    return this.input.subarray(this.bodyStart, this.end);
  }

  get raw(): Buffer {
    return this.input.subarray(this.start, this.end);
  }
}

/**
 * A DER decoding error, with the code of the layer that reads (Kerberos or SPNEGO), or another
 * error class where the bytes are not a client's token (our own certificate: a RangeError).
 */
export type DerErrorFactory = (message: string) => Error;

export function derError(code: InvalidTokenCode): DerErrorFactory {
  return (message) => new InvalidTokenError(message, code);
}

const kerberosError = derError('ERR_KRB_INVALID_TOKEN');

/** Reads consecutive elements of one buffer (a message, or the body of a constructed element). */
export class DerReader {
  readonly #buf: Buffer;
  #pos: number;
  /** Where this reader's elements end: the buffer's end, or its constructed element's. */
  readonly #end: number;
  readonly #depth: number;
  readonly #fail: DerErrorFactory;

  constructor(
    buf: Buffer,
    options: { depth?: number; fail?: DerErrorFactory; start?: number; end?: number } = {},
  ) {
    this.#buf = buf;
    this.#pos = options.start ?? 0;
    this.#end = options.end ?? buf.length;
    // Values are read in place, between offsets: a reader may not reach outside its buffer.
    if (this.#pos < 0 || this.#pos > this.#end || this.#end > buf.length) {
      throw new RangeError(
        `DerReader: ${this.#pos}..${this.#end} is outside a buffer of ${buf.length} bytes`,
      );
    }
    this.#depth = options.depth ?? 0;
    this.#fail = options.fail ?? kerberosError;
    if (this.#depth > MAX_DEPTH) throw this.#fail(`DER nesting deeper than ${MAX_DEPTH}`);
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  get fail(): DerErrorFactory {
    return this.#fail;
  }

  /** The next element; throws when the input ends early or uses a form DER forbids. */
  next(what: string): DerNode {
    const element = readElement(this.#buf, this.#pos, this.#end, this.#depth, this.#fail, what);
    this.#pos = element.end;
    return element;
  }

  /**
   * The one element inside an EXPLICIT tag (`[n] EXPLICIT`: a constructed wrapper holding exactly
   * one element), read in place: no reader, and its name for errors made only for an error. The
   * caller has checked the wrapper's class and number (`tag` names it in errors only).
   */
  explicit(wrapper: DerNode, what: string, tag: number): DerNode {
    if (!wrapper.constructed) throw this.#fail(`${what} [${tag}]: expected a constructed element`);
    const depth = wrapper.depth + 1;
    if (depth > MAX_DEPTH) throw this.#fail(`DER nesting deeper than ${MAX_DEPTH}`);
    const value = readElement(wrapper.input, wrapper.bodyStart, wrapper.end, depth, this.#fail, what, tag);
    if (value.end !== wrapper.end) {
      throw this.#fail(`${what} [${tag}]: ${wrapper.end - value.end} unexpected trailing bytes`);
    }
    return value;
  }

  /** Reads the next element and checks its class, tag and form. */
  expect(what: string, tagClass: number, tag: number, constructed: boolean): DerNode {
    const node = this.next(what);
    if (node.tagClass !== tagClass || node.tag !== tag || node.constructed !== constructed) {
      throw this.#fail(
        `${what}: expected tag class ${tagClass} number ${tag}, found class ${node.tagClass} number ${node.tag}`,
      );
    }
    return node;
  }

  /** Nothing may follow the last element (no trailing bytes smuggled past the parser). */
  end(what: string): void {
    if (!this.done) throw this.#fail(`${what}: ${this.#end - this.#pos} unexpected trailing bytes`);
  }

  /** A reader over the body of a constructed element found by this reader. */
  inside(node: DerNode, what: string): DerReader {
    if (!node.constructed) throw this.#fail(`${what}: expected a constructed element`);
    // The same input, between the element's body offsets: no view cut.
    return new DerReader(node.input, {
      start: node.bodyStart,
      end: node.end,
      depth: node.depth + 1,
      fail: this.#fail,
    });
  }
}

/**
 * The element at `start`, within `limit`; `what` (and `tag`, for an EXPLICIT field) name it in
 * errors, put together only then.
 */
function readElement(
  buf: Buffer,
  start: number,
  limit: number,
  depth: number,
  fail: DerErrorFactory,
  what: string,
  tag?: number,
): Element {
  if (start + 2 > limit) throw fail(`${label(what, tag)}: truncated DER header`);
  const first = buf[start]!;
  const number = first & 0x1f;
  // Every tag in RFC 4120 and RFC 4178 is below 31: the multi-byte tag form never appears.
  if (number === 0x1f) throw fail(`${label(what, tag)}: high tag numbers are not used by this protocol`);
  let pos = start + 1;
  const lengthByte = buf[pos++]!;
  let length: number;
  if (lengthByte < 0x80) {
    length = lengthByte;
  } else {
    const count = lengthByte & 0x7f;
    // 0x80 is BER's indefinite length; more than 4 length bytes is larger than any buffer here.
    if (count === 0 || count > 4) throw fail(`${label(what, tag)}: unsupported DER length form`);
    if (pos + count > limit) throw fail(`${label(what, tag)}: truncated DER length`);
    length = buf.readUIntBE(pos, count);
    pos += count;
    // DER: the shortest length encoding, always.
    if (length < 0x80 || buf[pos - count] === 0) throw fail(`${label(what, tag)}: non-minimal DER length`);
  }
  if (length > limit - pos) {
    throw fail(`${label(what, tag)}: element of ${length} bytes runs past its ${limit - pos}-byte container`);
  }
  return new Element(first, buf, start, pos, pos + length, depth);
}

/** An element's name in an error: an EXPLICIT field's with its tag. */
function label(what: string, tag: number | undefined): string {
  return tag === undefined ? what : `${what} [${tag}]`;
}

/** Reads a whole buffer as exactly one element. */
export function readOne(
  buf: Buffer,
  what: string,
  tagClass: number,
  tag: number,
  fail: DerErrorFactory = kerberosError,
): { node: DerNode; reader: DerReader } {
  const reader = new DerReader(buf, { fail });
  const node = reader.expect(what, tagClass, tag, true);
  reader.end(what);
  return { node, reader: reader.inside(node, what) };
}

/**
 * A SEQUENCE's explicit context fields by tag number. An array, not a Map: the tags are small
 * (below 13 in RFC 4120 and 4178), and a Kerberos logon reads ten such SEQUENCEs, where a Map
 * each (made, grown, hashed) cost 3–5 thousand instructions a logon more (bench/analysis.md,
 * session 18).
 */
export class ContextFields {
  readonly #nodes: (DerNode | undefined)[] = [];

  get(tag: number): DerNode | undefined {
    return this.#nodes[tag];
  }

  has(tag: number): boolean {
    return this.#nodes[tag] !== undefined;
  }

  /** For contextFields only: each tag once, in increasing order. */
  add(tag: number, node: DerNode): void {
    this.#nodes[tag] = node;
  }
}

/**
 * The fields of a SEQUENCE whose members are all EXPLICIT context tags (the RFC 4120 and 4178
 * style): tags strictly increasing, each known, each wrapping exactly one element.
 */
export function contextFields(
  parent: DerReader,
  sequence: DerNode,
  what: string,
  known: readonly number[],
): ContextFields {
  const reader = parent.inside(sequence, what);
  const fields = new ContextFields();
  let last = -1;
  while (!reader.done) {
    const wrapper = reader.next(what);
    if (wrapper.tagClass !== TagClass.CONTEXT || !wrapper.constructed) {
      throw reader.fail(`${what}: expected an explicit context tag`);
    }
    if (!known.includes(wrapper.tag)) throw reader.fail(`${what}: unknown field [${wrapper.tag}]`);
    if (wrapper.tag <= last) throw reader.fail(`${what}: field [${wrapper.tag}] out of order or repeated`);
    last = wrapper.tag;
    fields.add(wrapper.tag, reader.explicit(wrapper, what, wrapper.tag));
  }
  return fields;
}

/** Reads a SEQUENCE with explicit context fields and requires the ones named in `required`. */
export function readFields(
  reader: DerReader,
  node: DerNode,
  what: string,
  known: readonly number[],
  required: readonly number[],
): ContextFields {
  if (node.tagClass !== TagClass.UNIVERSAL || node.tag !== Tag.SEQUENCE || !node.constructed) {
    throw reader.fail(`${what}: expected a SEQUENCE`);
  }
  const fields = contextFields(reader, node, what, known);
  for (const tag of required) {
    if (!fields.has(tag)) throw reader.fail(`${what}: missing field [${tag}]`);
  }
  return fields;
}

/** Throws unless `node` is the primitive universal type `tag`. */
function requireUniversal(node: DerNode, tag: number, what: string, fail: DerErrorFactory): void {
  if (node.tagClass !== TagClass.UNIVERSAL || node.tag !== tag || node.constructed) {
    throw fail(`${what}: expected universal tag ${tag}, found class ${node.tagClass} number ${node.tag}`);
  }
}

/**
 * INTEGER as a JavaScript number, within -2^31 .. 2^32-1: Int32 and UInt32 in RFC 4120 (some
 * Windows versions send seq-number as a negative Int32, so the caller decides the range).
 */
export function readInteger(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): number {
  requireUniversal(node, Tag.INTEGER, what, fail);
  const { input, bodyStart: at } = node;
  const length = node.end - at;
  if (length === 0 || length > 5) throw fail(`${what}: INTEGER of ${length} bytes`);
  if (
    length > 1 &&
    ((input[at] === 0 && input[at + 1]! < 0x80) || (input[at] === 0xff && input[at + 1]! >= 0x80))
  ) {
    throw fail(`${what}: non-minimal INTEGER`);
  }
  const value = input.readIntBE(at, length);
  if (value < -0x80000000 || value > 0xffffffff) throw fail(`${what}: INTEGER out of range`);
  return value;
}

export function readEnumerated(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): number {
  requireUniversal(node, Tag.ENUMERATED, what, fail);
  const length = node.end - node.bodyStart;
  if (length !== 1) throw fail(`${what}: ENUMERATED of ${length} bytes`);
  return node.input[node.bodyStart]!;
}

export function readOctetString(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): Buffer {
  requireUniversal(node, Tag.OCTET_STRING, what, fail);
  return node.body;
}

const C1_CONTROL = /[\u0080-\u009f]/;

/** KerberosString (RFC 4120 5.2.1): GeneralString restricted to IA5 characters. */
export function readKerberosString(
  node: DerNode,
  what: string,
  fail: DerErrorFactory = kerberosError,
): string {
  requireUniversal(node, Tag.GENERAL_STRING, what, fail);
  const { input, bodyStart, end } = node;
  // Windows sends UTF-8 names here despite the IA5 rule; reject only control characters: C0 and
  // DEL are single bytes (no byte of a multi-byte character is below 0x80), C1 (U+0080-U+009F,
  // NEL among them, a line break to some log readers) two.
  let ascii = true;
  for (let i = bodyStart; i < end; i++) {
    const byte = input[i]!;
    if (byte < 0x20 || byte === 0x7f) throw fail(`${what}: not a valid KerberosString`);
    if (byte >= 0x80) ascii = false;
  }
  if (ascii) return input.toString('latin1', bodyStart, end);
  if (!isUtf8(node.body)) throw fail(`${what}: not a valid KerberosString`);
  const text = input.toString('utf8', bodyStart, end);
  if (C1_CONTROL.test(text)) throw fail(`${what}: not a valid KerberosString`);
  return text;
}

/** KerberosTime (RFC 4120 5.2.3): GeneralizedTime "YYYYMMDDHHMMSSZ", no fractions. */
export function readKerberosTime(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): Date {
  requireUniversal(node, Tag.GENERALIZED_TIME, what, fail);
  const { input, bodyStart: at } = node;
  // Five of these per logon: read the digits in place rather than through a string and a RegExp.
  if (node.end - at !== 15 || input[at + 14] !== 0x5a) throw fail(`${what}: not a KerberosTime`);
  const digits = (from: number, count: number): number => {
    let value = 0;
    for (let i = at + from; i < at + from + count; i++) {
      const digit = input[i]! - 0x30;
      if (digit < 0 || digit > 9) throw fail(`${what}: not a KerberosTime`);
      value = value * 10 + digit;
    }
    return value;
  };
  const [y, mo, d, h, mi, s] = [
    digits(0, 4),
    digits(4, 2),
    digits(6, 2),
    digits(8, 2),
    digits(10, 2),
    digits(12, 2),
  ];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls 13:60 over to 14:00 and 02-30 to 03-02, and reads year 0050 as 1950: each
  // field must come back as sent.
  if (
    Number.isNaN(date.getTime()) ||
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    throw fail(`${what}: invalid date`);
  }
  return date;
}

/** BIT STRING as its bytes (KerberosFlags, SPNEGO ContextFlags), first bit = MSB of byte 0. */
export function readBitString(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): Buffer {
  requireUniversal(node, Tag.BIT_STRING, what, fail);
  const { input, bodyStart, end } = node;
  const length = end - bodyStart;
  // The first octet counts the unused bits of the last.
  if (length === 0 || input[bodyStart]! > 7 || (length === 1 && input[bodyStart] !== 0)) {
    throw fail(`${what}: malformed BIT STRING`);
  }
  return input.subarray(bodyStart + 1, end);
}

/** OBJECT IDENTIFIER in dotted form. */
export function readOid(node: DerNode, what: string, fail: DerErrorFactory = kerberosError): string {
  requireUniversal(node, Tag.OID, what, fail);
  return oidToString(node.body, what, fail);
}

/** The OIDs every Negotiate logon reads (SPNEGO and its mechanisms): known by their bytes. */
const COMMON_OIDS = [
  '1.3.6.1.5.5.2',
  '1.2.840.113554.1.2.2',
  '1.2.840.48018.1.2.2',
  '1.3.6.1.4.1.311.2.2.10',
].map((dotted) => ({ body: encodeOidBody(dotted), dotted }));

export function oidToString(body: Buffer, what: string, fail: DerErrorFactory = kerberosError): string {
  for (const known of COMMON_OIDS) if (body.equals(known.body)) return known.dotted;
  if (body.length === 0 || body.length > 64 || (body[body.length - 1]! & 0x80) !== 0) {
    throw fail(`${what}: malformed OBJECT IDENTIFIER`);
  }
  const arcs: number[] = [];
  let value = 0;
  let started = false;
  for (const byte of body) {
    if (!started && byte === 0x80) throw fail(`${what}: non-minimal OID arc`);
    started = true;
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw fail(`${what}: OID arc too large`);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      started = false;
    }
  }
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** A SEQUENCE OF: reads every element of a constructed SEQUENCE with `read`, at most `max`. */
export function readSequenceOf<T>(
  reader: DerReader,
  node: DerNode,
  what: string,
  max: number,
  read: (element: DerNode, inner: DerReader) => T,
): T[] {
  if (node.tagClass !== TagClass.UNIVERSAL || node.tag !== Tag.SEQUENCE || !node.constructed) {
    throw reader.fail(`${what}: expected a SEQUENCE OF`);
  }
  const inner = reader.inside(node, what);
  const out: T[] = [];
  while (!inner.done) {
    if (out.length >= max) throw reader.fail(`${what}: more than ${max} elements`);
    out.push(read(inner.next(what), inner));
  }
  return out;
}

// ---- writer -------------------------------------------------------------------------------

/** One element of the given contents: its header, then each part in turn, in one buffer. */
function encode(first: number, parts: readonly Buffer[]): Buffer {
  let length = 0;
  for (const part of parts) length += part.length;
  // The first octet and at most five of length.
  const writer = new DerWriter(6 + length);
  writer.header(first, length);
  for (const part of parts) writer.bytes(part);
  return writer.result();
}

export function element(tagClass: number, constructed: boolean, tag: number, body: Buffer): Buffer {
  return encode((tagClass << 6) | (constructed ? 0x20 : 0) | tag, [body]);
}

export const der = {
  sequence: (...items: Buffer[]): Buffer => encode((TagClass.UNIVERSAL << 6) | 0x20 | Tag.SEQUENCE, items),
  /** `[n] EXPLICIT` */
  context: (n: number, inner: Buffer): Buffer => element(TagClass.CONTEXT, true, n, inner),
  application: (n: number, inner: Buffer): Buffer => element(TagClass.APPLICATION, true, n, inner),
  integer(value: number): Buffer {
    const writer = new DerWriter(7);
    writer.integer(value);
    return writer.result();
  },
  enumerated(value: number): Buffer {
    const writer = new DerWriter(3);
    writer.enumerated(value);
    return writer.result();
  },
  octetString: (bytes: Buffer): Buffer => element(TagClass.UNIVERSAL, false, Tag.OCTET_STRING, bytes),
  kerberosString: (text: string): Buffer =>
    element(TagClass.UNIVERSAL, false, Tag.GENERAL_STRING, Buffer.from(text, 'utf8')),
  kerberosTime(date: Date): Buffer {
    const writer = new DerWriter(17);
    writer.kerberosTime(date);
    return writer.result();
  },
  bitString: (bytes: Buffer): Buffer =>
    element(TagClass.UNIVERSAL, false, Tag.BIT_STRING, Buffer.concat([Buffer.from([0]), bytes])),
  oid: (dotted: string): Buffer => element(TagClass.UNIVERSAL, false, Tag.OID, oidBody(dotted)),
};

/** Encoded OIDs: the few this package sends (SPNEGO, krb5, NTLMSSP) are encoded once, not per message. */
const encodedOids = new Map<string, Buffer>();
const MAX_ENCODED_OIDS = 32;

export function oidBody(dotted: string): Buffer {
  let body = encodedOids.get(dotted);
  if (!body) {
    body = encodeOidBody(dotted);
    if (encodedOids.size < MAX_ENCODED_OIDS) encodedOids.set(dotted, body);
  }
  return body;
}

function encodeOidBody(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes: number[] = [];
  const values = [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)];
  for (const value of values) {
    const chunk = [value & 0x7f];
    for (let n = Math.floor(value / 128); n > 0; n = Math.floor(n / 128)) chunk.unshift(0x80 | (n & 0x7f));
    bytes.push(...chunk);
  }
  return Buffer.from(bytes);
}
