import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacMd5, rc4 } from '../ntlm/crypto.js';

/**
 * rc4-hmac (23) and its hmac-md5 checksum (-138), RFC 4757. Kept only for domains that still
 * issue RC4 service tickets; the acceptor refuses it unless `allowRc4` is set.
 */

/** The HMAC-MD5 at the front of every ciphertext. */
const CHECKSUM_BYTES = 16;

/** RFC 4757 3: a few key usages are renumbered for RC4 (3 → 8, 9 → 8, 23 → 13). */
function translateUsage(usage: number): number {
  return usage === 3 || usage === 9 ? 8 : usage === 23 ? 13 : usage;
}

function le32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

export function rc4HmacEncrypt(
  key: Buffer,
  usage: number,
  plain: Buffer,
  confounder = randomBytes(8),
): Buffer {
  const k1 = hmacMd5(key, le32(translateUsage(usage)));
  const data = Buffer.concat([confounder, plain]);
  const checksum = hmacMd5(k1, data);
  const k3 = hmacMd5(k1, checksum);
  return Buffer.concat([checksum, rc4(k3, data)]);
}

/** The integrity check a ciphertext carries: its first 16 bytes, HMAC-MD5 (RFC 4757 3). */
export function rc4HmacCiphertextMac(cipher: Buffer): Buffer | undefined {
  return cipher.length < CHECKSUM_BYTES ? undefined : cipher.subarray(0, CHECKSUM_BYTES);
}

export function rc4HmacDecrypt(key: Buffer, usage: number, cipher: Buffer): Buffer | undefined {
  if (cipher.length < CHECKSUM_BYTES + 8) return undefined;
  const k1 = hmacMd5(key, le32(translateUsage(usage)));
  const checksum = rc4HmacCiphertextMac(cipher)!;
  const data = rc4(hmacMd5(k1, checksum), cipher.subarray(CHECKSUM_BYTES));
  if (!timingSafeEqual(hmacMd5(k1, data), checksum)) return undefined;
  return data.subarray(8);
}

/** KERB_CHECKSUM_HMAC_MD5 (RFC 4757 4; MS-PAC 2.8 for RC4 service keys). */
export function hmacMd5Checksum(key: Buffer, usage: number, data: Buffer): Buffer {
  const ksign = hmacMd5(key, Buffer.from('signaturekey\0', 'latin1'));
  const tmp = createHash('md5').update(le32(usage)).update(data).digest();
  return hmacMd5(ksign, tmp);
}
