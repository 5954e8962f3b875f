/**
 * MD4 (RFC 1320), for the NT hash alone. OpenSSL 3 keeps MD4 in its legacy provider, which Node
 * does not load, and a 2 MB WebAssembly package for one hash of a password is not worth it. MD4 is
 * broken as a general hash; NTLM needs it anyway (MS-NLMP 3.3.1, NTOWFv1), so it lives here and
 * nowhere else. Checked against RFC 1320's test suite (test/unit/md4.test.ts).
 */

const BLOCK_BYTES = 64;

/** Round 2 and 3 constants (RFC 1320 3.4): floor(2^30 * sqrt(2)) and floor(2^30 * sqrt(3)). */
const ROUND2 = 0x5a827999;
const ROUND3 = 0x6ed9eba1;

/** Per-round word orders and shifts, RFC 1320 3.4. */
const ROUND2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ROUND3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const SHIFTS = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
] as const;

const rotl = (x: number, s: number): number => (x << s) | (x >>> (32 - s));
const f = (x: number, y: number, z: number): number => (x & y) | (~x & z);
const g = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
const h = (x: number, y: number, z: number): number => x ^ y ^ z;

/** Appends the padding and the 64-bit little-endian bit length (RFC 1320 3.1, 3.2). */
function pad(message: Uint8Array): Buffer {
  const length = Math.ceil((message.length + 9) / BLOCK_BYTES) * BLOCK_BYTES;
  const padded = Buffer.alloc(length);
  padded.set(message);
  padded[message.length] = 0x80;
  const bits = message.length * 8;
  padded.writeUInt32LE(bits >>> 0, length - 8);
  padded.writeUInt32LE(Math.floor(bits / 0x1_0000_0000), length - 4);
  return padded;
}

/** The 16-byte MD4 digest of `message`. */
export function md4(message: Uint8Array): Buffer {
  const padded = pad(message);
  const state = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  const x = new Array<number>(16);
  for (let block = 0; block < padded.length; block += BLOCK_BYTES) {
    for (let i = 0; i < 16; i++) x[i] = padded.readInt32LE(block + i * 4);
    let [a, b, c, d] = state as [number, number, number, number];
    // Each step updates one of a, d, c, b in turn, then the roles rotate.
    const step = (fn: (x: number, y: number, z: number) => number, k: number, add: number, s: number) => {
      const next = rotl((a + fn(b, c, d) + x[k]! + add) | 0, s);
      [a, b, c, d] = [d, next, b, c];
    };
    for (let i = 0; i < 16; i++) step(f, i, 0, SHIFTS[0][i % 4]!);
    for (let i = 0; i < 16; i++) step(g, ROUND2_ORDER[i]!, ROUND2, SHIFTS[1][i % 4]!);
    for (let i = 0; i < 16; i++) step(h, ROUND3_ORDER[i]!, ROUND3, SHIFTS[2][i % 4]!);
    state[0] = (state[0]! + a) | 0;
    state[1] = (state[1]! + b) | 0;
    state[2] = (state[2]! + c) | 0;
    state[3] = (state[3]! + d) | 0;
  }
  const digest = Buffer.alloc(16);
  for (const [i, word] of state.entries()) digest.writeInt32LE(word, i * 4);
  return digest;
}
