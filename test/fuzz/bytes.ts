// Mutations that know nothing of the format: what finds the off-by-ones of any length-prefixed
// parser (bit flips, boundary values written over lengths and offsets, cuts and splices).
import type { Random } from './random.js';

/** Values at the edges of the integer types lengths and offsets are read as. */
export const BOUNDARIES = [
  0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
  0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
];

export function boundary(random: Random, near?: number): number {
  if (near !== undefined && random.chance(0.3)) return Math.max(0, near + random.range(-2, 2));
  return random.pick(BOUNDARIES);
}

export type ByteMutation =
  | 'flip'
  | 'byte'
  | 'u16le'
  | 'u32le'
  | 'u32be'
  | 'truncate'
  | 'append'
  | 'insert'
  | 'delete'
  | 'duplicate';

const MUTATIONS: readonly ByteMutation[] = [
  'flip',
  'byte',
  'u16le',
  'u32le',
  'u32be',
  'truncate',
  'append',
  'insert',
  'delete',
  'duplicate',
];

/** One to `max` blind edits of `input` (a copy). */
export function mutateBytes(random: Random, input: Buffer, max = 4): Buffer {
  let out: Buffer = Buffer.from(input);
  const edits = random.range(1, max);
  for (let e = 0; e < edits; e++) out = mutateOnce(random, out, random.pick(MUTATIONS));
  return out;
}

function mutateOnce(random: Random, out: Buffer, kind: ByteMutation): Buffer {
  const at = random.int(out.length);
  switch (kind) {
    case 'flip':
      if (out.length) out[at]! ^= 1 << random.int(8);
      return out;
    case 'byte':
      if (out.length) out[at] = boundary(random) & 0xff;
      return out;
    case 'u16le':
      if (out.length >= 2) out.writeUInt16LE(boundary(random) & 0xffff, Math.min(at, out.length - 2));
      return out;
    case 'u32le':
      if (out.length >= 4) out.writeUInt32LE(boundary(random) >>> 0, Math.min(at, out.length - 4));
      return out;
    case 'u32be':
      if (out.length >= 4) out.writeUInt32BE(boundary(random) >>> 0, Math.min(at, out.length - 4));
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'append':
      return Buffer.concat([out, random.bytes(random.range(1, 64))]);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), random.bytes(random.range(1, 16)), out.subarray(at)]);
    case 'delete':
      return Buffer.concat([out.subarray(0, at), out.subarray(at + random.range(1, 16))]);
    case 'duplicate': {
      const end = Math.min(out.length, at + random.range(1, 32));
      return Buffer.concat([out.subarray(0, end), out.subarray(at, end), out.subarray(end)]);
    }
  }
}
