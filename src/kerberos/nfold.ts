/**
 * n-fold (RFC 3961 5.1): stretches or folds a constant to the cipher's block size. The input is
 * repeated, each copy rotated 13 bits more to the right, up to lcm(input, output) bits; those
 * bits are cut into output-sized pieces added together in ones'-complement arithmetic.
 */
export function nfold(input: Buffer, outBytes: number): Buffer {
  const inBytes = input.length;
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);
  const big = Buffer.alloc(lcm);
  for (let copy = 0; copy < lcm / inBytes; copy++) {
    rotateRight(input, 13 * copy).copy(big, copy * inBytes);
  }
  // Ones'-complement sum of the outBytes-sized slices, big-endian, carries wrapped around.
  const sum = new Array<number>(outBytes).fill(0);
  for (let slice = 0; slice < lcm; slice += outBytes) {
    for (let i = 0; i < outBytes; i++) sum[i]! += big[slice + i]!;
    propagate(sum);
  }
  return Buffer.from(sum);
}

function propagate(sum: number[]): void {
  for (;;) {
    let carried = false;
    for (let i = sum.length - 1; i >= 0; i--) {
      if (sum[i]! > 0xff) {
        const carry = sum[i]! >> 8;
        sum[i]! &= 0xff;
        // The byte before the first is the last: end-around carry.
        sum[(i - 1 + sum.length) % sum.length]! += carry;
        carried = true;
      }
    }
    if (!carried) return;
  }
}

function rotateRight(data: Buffer, bits: number): Buffer {
  const n = data.length;
  const byteShift = Math.floor(bits / 8) % n;
  const bitShift = bits % 8;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    const a = data[(i - byteShift + n) % n]!;
    const b = data[(i - byteShift - 1 + 2 * n) % n]!;
    out[i] = ((a >> bitShift) | (b << (8 - bitShift))) & 0xff;
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
