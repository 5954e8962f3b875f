import { InvalidTokenError } from '../errors.js';
import { hasLoneSurrogate } from './fields.js';

/** AvId values, MS-NLMP 2.2.2.1. */
export const AvId = {
  MsvAvEOL: 0x0000,
  MsvAvNbComputerName: 0x0001,
  MsvAvNbDomainName: 0x0002,
  MsvAvDnsComputerName: 0x0003,
  MsvAvDnsDomainName: 0x0004,
  MsvAvDnsTreeName: 0x0005,
  MsvAvFlags: 0x0006,
  MsvAvTimestamp: 0x0007,
  MsvAvSingleHost: 0x0008,
  MsvAvTargetName: 0x0009,
  MsvAvChannelBindings: 0x000a,
} as const;

/** MsvAvFlags bits. */
export const AvFlags = {
  ACCOUNT_AUTHENTICATION_CONSTRAINED: 0x00000001,
  MIC_PRESENT: 0x00000002,
  TARGET_SPN_FROM_UNTRUSTED_SOURCE: 0x00000004,
} as const;

export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

/** A TargetInfo list holds a handful of pairs; far more is an attack or garbage. */
const MAX_AV_PAIRS = 64;

/**
 * Decodes an AV_PAIR list. It must end with MsvAvEOL inside the buffer; bytes after the
 * EOL are ignored (the NTLMv2 client challenge pads with zeros after it).
 */
export function decodeAvPairs(bytes: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const id = bytes.readUInt16LE(offset);
    const length = bytes.readUInt16LE(offset + 2);
    offset += 4;
    if (id === AvId.MsvAvEOL) return pairs;
    if (offset + length > bytes.length) {
      throw new InvalidTokenError(`AV pair ${id} of ${length} bytes runs past the end of the list`);
    }
    if (pairs.length === MAX_AV_PAIRS) throw new InvalidTokenError(`more than ${MAX_AV_PAIRS} AV pairs`);
    pairs.push({ id, value: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  throw new InvalidTokenError('AV pair list has no MsvAvEOL terminator');
}

/** The pairs that carry a name (UTF-16LE, MS-NLMP 2.2.2.1): what a DC converts, and refuses when it cannot. */
const NAME_PAIRS: ReadonlySet<number> = new Set([
  AvId.MsvAvNbComputerName,
  AvId.MsvAvNbDomainName,
  AvId.MsvAvDnsComputerName,
  AvId.MsvAvDnsDomainName,
  AvId.MsvAvDnsTreeName,
  AvId.MsvAvTargetName,
]);

/**
 * Refuses a name pair that is not UTF-16: an odd length or a lone surrogate. A DC converts these
 * names when it checks the NTLMv2 response, and answers STATUS_INVALID_PARAMETER for the whole
 * logon (measured on Samba 4.17, issue 18 fuzz finding 2); no client sends one.
 */
export function checkNamePairs(pairs: readonly AvPair[]): void {
  for (const { id, value } of pairs) {
    if (!NAME_PAIRS.has(id)) continue;
    if (value.length % 2 !== 0) throw new InvalidTokenError(`AV pair ${id} (a name) has an odd byte length`);
    if (hasLoneSurrogate(value.toString('utf16le'))) {
      throw new InvalidTokenError(`AV pair ${id} (a name) is not valid UTF-16 (a lone surrogate)`);
    }
  }
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const { id, value } of pairs) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(id, 0);
    head.writeUInt16LE(value.length, 2);
    parts.push(head, value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

export function findAvPair(pairs: readonly AvPair[], id: number): Buffer | undefined {
  return pairs.find((pair) => pair.id === id)?.value;
}

/** MsvAvFlags as a number, 0 when absent. A flags pair of the wrong size is a broken token. */
export function readAvFlags(pairs: readonly AvPair[]): number {
  const value = findAvPair(pairs, AvId.MsvAvFlags);
  if (value === undefined) return 0;
  if (value.length !== 4) throw new InvalidTokenError(`MsvAvFlags is ${value.length} bytes, not 4`);
  return value.readUInt32LE(0);
}
