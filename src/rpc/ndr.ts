import { ServiceUnavailableError } from '../errors.js';

/**
 * NDR20, the transfer syntax of DCE/RPC (C706 chapter 14, MS-RPCE 2.2.5), as far as MS-NRPC,
 * the endpoint mapper and MS-PAC need it: little-endian integers aligned to their size, unique
 * and full pointers whose referents are deferred to the end of the construct that embeds them,
 * conformant and conformant-varying arrays, and the Windows types built from them
 * (RPC_UNICODE_STRING, RPC_SID, FILETIME).
 *
 * Deferral (C706 14.3.12.3): inside a construct (a top-level parameter, or a type-serialized
 * top-level type), an embedded pointer writes only its referent id; its referent follows the
 * construct, in pointer order, each referent complete (with its own deferred referents) before
 * the next. `construct()` opens such a scope; `pointer()` defers inside it. A pointer outside any
 * construct is a top-level pointer: its referent follows at once.
 *
 * The reader is strict: every read is bounds-checked, every count is checked against what is
 * left of the buffer before anything is allocated, and a failure throws the error the caller
 * chose (a DC's answer that does not parse is a DC error, a client's PAC that does not is a bad
 * token).
 */

export type NdrErrorFactory = (message: string) => Error;

/** A malformed answer from a domain controller: we cannot decide the logon. */
export const dcAnswerError: NdrErrorFactory = (message) =>
  new ServiceUnavailableError('ERR_NTLM_DC_ERROR', `malformed NDR from the domain controller: ${message}`);

/** A referent read later, when its construct ends. `value` is null for a NULL pointer. */
export class Deferred<T> {
  #set = false;
  #value: T | null = null;

  get value(): T | null {
    if (!this.#set) throw new Error('NDR referent read before its construct ended');
    return this.#value;
  }

  /** @internal */
  resolve(value: T | null): void {
    this.#set = true;
    this.#value = value;
  }
}

/** Referent ids as Windows numbers them; any non-zero value is valid on the wire. */
const FIRST_REFERENT_ID = 0x00020000;

/** A bound on the element count of any one array, far above what a logon carries (1 MiB of u32). */
export const MAX_ARRAY_ELEMENTS = 256 * 1024;

export class NdrReader {
  #offset = 0;
  #queues: Array<Array<() => void>> = [];
  readonly #fullPointers = new Map<number, Deferred<unknown>>();

  constructor(
    private readonly buffer: Buffer,
    private readonly fail: NdrErrorFactory = dcAnswerError,
  ) {}

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.buffer.length - this.#offset;
  }

  error(message: string): Error {
    return this.fail(message);
  }

  /** Alignment is relative to the start of the NDR stream (the stub data). */
  align(boundary: number): void {
    const pad = (boundary - (this.#offset % boundary)) % boundary;
    this.#need(pad, 'alignment padding');
    this.#offset += pad;
  }

  #need(count: number, what: string): void {
    if (count > this.buffer.length - this.#offset) {
      throw this.fail(`${what} needs ${count} bytes at offset ${this.#offset}, ${this.remaining} left`);
    }
  }

  u8(): number {
    this.#need(1, 'u8');
    return this.buffer[this.#offset++]!;
  }

  u16(): number {
    this.align(2);
    this.#need(2, 'u16');
    const value = this.buffer.readUInt16LE(this.#offset);
    this.#offset += 2;
    return value;
  }

  u32(): number {
    this.align(4);
    this.#need(4, 'u32');
    const value = this.buffer.readUInt32LE(this.#offset);
    this.#offset += 4;
    return value;
  }

  u64(): bigint {
    this.align(8);
    this.#need(8, 'u64');
    const value = this.buffer.readBigUInt64LE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** A fixed-size byte array (no alignment, no count on the wire). Returns a copy. */
  bytes(length: number, what = 'byte array'): Buffer {
    this.#need(length, what);
    const value = Buffer.from(this.buffer.subarray(this.#offset, this.#offset + length));
    this.#offset += length;
    return value;
  }

  /** FILETIME / OLD_LARGE_INTEGER (MS-DTYP 2.3.3): two u32, low part first, 4-aligned. */
  filetime(): bigint {
    const low = this.u32();
    const high = this.u32();
    return (BigInt(high) << 32n) | BigInt(low);
  }

  /** Reads `count` (a u32 already read from the wire) after checking it fits what is left. */
  checkCount(count: number, elementSize: number, what: string): number {
    if (count > MAX_ARRAY_ELEMENTS || count * elementSize > this.remaining) {
      throw this.fail(
        `${what}: ${count} elements of ${elementSize} bytes do not fit the ${this.remaining} left`,
      );
    }
    return count;
  }

  /**
   * Runs `body` as one construct, then reads the referents it deferred, depth first.
   * Constructs nest: a referent read inside another construct's deferral opens its own scope.
   */
  construct<T>(body: () => T): T {
    const queue: Array<() => void> = [];
    this.#queues.push(queue);
    let result: T;
    try {
      result = body();
    } finally {
      this.#queues.pop();
    }
    for (const readReferent of queue) this.construct(readReferent);
    return result;
  }

  /**
   * A unique pointer (C706 14.3.10): a referent id, 0 for NULL. Embedded (inside `construct`),
   * the referent is read when the construct ends; top-level, at once.
   */
  pointer<T>(readReferent: () => T): Deferred<T> {
    const id = this.u32();
    const deferred = new Deferred<T>();
    if (id === 0) {
      deferred.resolve(null);
      return deferred;
    }
    this.#schedule(() => deferred.resolve(readReferent()));
    return deferred;
  }

  /**
   * A full pointer ([ptr], C706 14.3.11.3): like a unique pointer, but a referent id seen before
   * names the referent already read (aliasing), which is not on the wire again.
   */
  fullPointer<T>(readReferent: () => T): Deferred<T> {
    const id = this.u32();
    if (id === 0) {
      const none = new Deferred<T>();
      none.resolve(null);
      return none;
    }
    const seen = this.#fullPointers.get(id);
    if (seen) return seen as Deferred<T>;
    const deferred = new Deferred<T>();
    this.#fullPointers.set(id, deferred as Deferred<unknown>);
    this.#schedule(() => deferred.resolve(readReferent()));
    return deferred;
  }

  #schedule(readReferent: () => void): void {
    const queue = this.#queues.at(-1);
    if (queue) queue.push(readReferent);
    else this.construct(readReferent);
  }

  /**
   * The body of a conformant-varying array (C706 14.3.3.4): MaximumCount, Offset, ActualCount,
   * then ActualCount elements. Offset must be 0 and ActualCount ≤ MaximumCount.
   */
  varyingCounts(elementSize: number, what: string): { maximum: number; actual: number } {
    const maximum = this.u32();
    const offset = this.u32();
    const actual = this.u32();
    if (offset !== 0 || actual > maximum) {
      throw this.fail(`${what}: offset ${offset}, actual count ${actual}, maximum ${maximum}`);
    }
    this.checkCount(actual, elementSize, what);
    return { maximum, actual };
  }

  /** A conformant array of u32-aligned items: MaximumCount, then the items. */
  conformantArray<T>(readItem: () => T, elementSize: number, what: string, expected?: number): T[] {
    const count = this.checkCount(this.u32(), elementSize, what);
    if (expected !== undefined && count !== expected) {
      throw this.fail(`${what}: ${count} elements where the count field says ${expected}`);
    }
    const items: T[] = [];
    for (let i = 0; i < count; i++) items.push(readItem());
    return items;
  }

  /**
   * RPC_UNICODE_STRING (MS-DTYP 2.3.10): Length and MaximumLength in bytes, then a unique pointer
   * to a conformant-varying WCHAR array. The referent is deferred like any embedded pointer.
   */
  unicodeString(what = 'RPC_UNICODE_STRING'): Deferred<string> {
    const length = this.u16();
    const maximumLength = this.u16();
    if (length % 2 !== 0 || length > maximumLength) {
      throw this.fail(`${what}: Length ${length}, MaximumLength ${maximumLength}`);
    }
    return this.pointer(() => {
      const { maximum, actual } = this.varyingCounts(2, what);
      if (actual * 2 !== length || maximum !== Math.floor(maximumLength / 2)) {
        throw this.fail(
          `${what}: ${actual} of ${maximum} characters where the header says ${length}/${maximumLength} bytes`,
        );
      }
      const text = this.bytes(actual * 2, what).toString('utf16le');
      return text;
    });
  }

  /** A [string] wchar_t* referent: conformant-varying, NUL-terminated; returned without the NUL. */
  wideString(what = 'string'): string {
    const { actual } = this.varyingCounts(2, what);
    const text = this.bytes(actual * 2, what).toString('utf16le');
    if (!text.endsWith('\0')) throw this.fail(`${what} is not NUL-terminated`);
    return text.slice(0, -1);
  }

  /**
   * RPC_SID (MS-DTYP 2.4.2.3), a conformant structure: the SubAuthority count is hoisted before
   * the structure as its MaximumCount and must match SubAuthorityCount. Returns the SID bytes
   * in their binary form (MS-DTYP 2.4.2.2), for `sidToString`.
   */
  sid(what = 'RPC_SID'): Buffer {
    const maximum = this.u32();
    const revision = this.u8();
    const count = this.u8();
    if (revision !== 1 || count !== maximum || count > 15) {
      throw this.fail(`${what}: revision ${revision}, ${count} sub-authorities, conformance ${maximum}`);
    }
    const authority = this.bytes(6, what);
    const bytes = Buffer.alloc(8 + count * 4);
    bytes[0] = revision;
    bytes[1] = count;
    authority.copy(bytes, 2);
    for (let i = 0; i < count; i++) bytes.writeUInt32LE(this.u32(), 8 + i * 4);
    return bytes;
  }

  /** The whole stream must have been read: trailing bytes mean we misread the layout. */
  end(what: string): void {
    if (this.remaining !== 0) throw this.fail(`${what}: ${this.remaining} bytes left unread`);
  }
}

export class NdrWriter {
  #chunks: Buffer[] = [];
  #length = 0;
  #nextReferentId = FIRST_REFERENT_ID;
  #queues: Array<Array<() => void>> = [];

  get length(): number {
    return this.#length;
  }

  #push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  align(boundary: number): void {
    const pad = (boundary - (this.#length % boundary)) % boundary;
    if (pad > 0) this.#push(Buffer.alloc(pad));
  }

  u8(value: number): void {
    this.#push(Buffer.from([value & 0xff]));
  }

  u16(value: number): void {
    this.align(2);
    const chunk = Buffer.alloc(2);
    chunk.writeUInt16LE(value);
    this.#push(chunk);
  }

  u32(value: number): void {
    this.align(4);
    const chunk = Buffer.alloc(4);
    chunk.writeUInt32LE(value >>> 0);
    this.#push(chunk);
  }

  u64(value: bigint): void {
    this.align(8);
    const chunk = Buffer.alloc(8);
    chunk.writeBigUInt64LE(value);
    this.#push(chunk);
  }

  bytes(value: Buffer): void {
    this.#push(Buffer.from(value));
  }

  filetime(value: bigint): void {
    this.u32(Number(value & 0xffffffffn));
    this.u32(Number(value >> 32n));
  }

  construct(body: () => void): void {
    const queue: Array<() => void> = [];
    this.#queues.push(queue);
    try {
      body();
    } finally {
      this.#queues.pop();
    }
    for (const writeReferent of queue) this.construct(writeReferent);
  }

  /** A unique pointer: NULL when `writeReferent` is null, else a fresh referent id and the referent (deferred when embedded). */
  pointer(writeReferent: (() => void) | null): void {
    if (writeReferent === null) {
      this.u32(0);
      return;
    }
    this.u32(this.#nextReferentId);
    this.#nextReferentId += 4;
    const queue = this.#queues.at(-1);
    if (queue) queue.push(writeReferent);
    else this.construct(writeReferent);
  }

  /** A full pointer to a referent already written under `referentId` (aliasing). */
  aliasPointer(referentId: number): void {
    this.u32(referentId);
  }

  varyingCounts(maximum: number, actual: number): void {
    this.u32(maximum);
    this.u32(0);
    this.u32(actual);
  }

  /** RPC_UNICODE_STRING; null writes a NULL buffer (Length 0). */
  unicodeString(text: string | null): void {
    if (text === null) {
      this.u16(0);
      this.u16(0);
      this.pointer(null);
      return;
    }
    const bytes = Buffer.from(text, 'utf16le');
    this.u16(bytes.length);
    this.u16(bytes.length);
    this.pointer(() => {
      this.varyingCounts(bytes.length / 2, bytes.length / 2);
      this.bytes(bytes);
    });
  }

  /** The referent of a [string] wchar_t*: conformant-varying, with its NUL. */
  wideString(text: string): void {
    const bytes = Buffer.from(`${text}\0`, 'utf16le');
    this.varyingCounts(bytes.length / 2, bytes.length / 2);
    this.bytes(bytes);
  }

  /** RPC_SID from its binary form (MS-DTYP 2.4.2.2). */
  sid(bytes: Buffer): void {
    const count = bytes[1]!;
    this.u32(count);
    this.u8(bytes[0]!);
    this.u8(count);
    this.bytes(bytes.subarray(2, 8));
    for (let i = 0; i < count; i++) this.u32(bytes.readUInt32LE(8 + i * 4));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}
