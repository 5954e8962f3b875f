import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for confounders and AP-REP sequence numbers, cut from a 4 KiB block filled by one
 * call to the CSPRNG: one system call per ~200 logons instead of two per logon. A block is never
 * refilled in place (a new one replaces it), so bytes once handed out never change.
 */
const BLOCK_BYTES = 4096;
let block = randomFillSync(Buffer.allocUnsafeSlow(BLOCK_BYTES));
let used = 0;

export function pooledRandomBytes(length: number): Buffer {
  if (length > BLOCK_BYTES) return randomFillSync(Buffer.allocUnsafe(length));
  if (used + length > BLOCK_BYTES) {
    block = randomFillSync(Buffer.allocUnsafeSlow(BLOCK_BYTES));
    used = 0;
  }
  const bytes = block.subarray(used, used + length);
  used += length;
  return bytes;
}
