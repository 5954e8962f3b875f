import { timingSafeEqual } from 'node:crypto';
import { type AesUsageKeys, aesChecksum, aesDecrypt, aesEncrypt, usageKeys } from './aes-sha1.js';
import { hmacMd5Checksum, rc4HmacDecrypt, rc4HmacEncrypt } from './rc4-hmac.js';

/** Encryption types (RFC 3961 8, RFC 3962, RFC 4757) this acceptor knows. */
export const EncType = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  RC4_HMAC: 23,
} as const;

export const ChecksumType = {
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_MD5: -138,
  /** The GSS-API authenticator checksum (RFC 4121 4.1.1): not a checksum at all, a structure. */
  GSS_KRB5: 0x8003,
} as const;

/** Key usage numbers (RFC 4120 7.5.1, MS-PAC 2.8). */
export const KeyUsage = {
  TICKET: 2,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENC_PART: 12,
  PAC_CHECKSUM: 17,
} as const;

export interface EncryptionKey {
  readonly etype: number;
  readonly value: Buffer;
}

const KEY_BYTES: Record<number, number> = { 17: 16, 18: 32, 23: 16 };

export function isKnownEncType(etype: number): boolean {
  return etype in KEY_BYTES;
}

export function keyLengthOk(key: EncryptionKey): boolean {
  return KEY_BYTES[key.etype] === key.value.length;
}

// Derived keys per (base key, usage): the service key's few usages are derived once; session
// keys come and go with their messages and leave with them (WeakMap).
const derived = new WeakMap<Buffer, Map<number, AesUsageKeys>>();

function aesKeys(key: Buffer, usage: number): AesUsageKeys {
  let byUsage = derived.get(key);
  if (!byUsage) {
    byUsage = new Map();
    derived.set(key, byUsage);
  }
  let keys = byUsage.get(usage);
  if (!keys) {
    keys = usageKeys(key, usage);
    byUsage.set(usage, keys);
  }
  return keys;
}

/** RFC 3961 decrypt: the plaintext, or undefined when the integrity check fails. */
export function decrypt(key: EncryptionKey, usage: number, cipher: Buffer): Buffer | undefined {
  switch (key.etype) {
    case EncType.AES128_CTS_HMAC_SHA1_96:
    case EncType.AES256_CTS_HMAC_SHA1_96:
      return aesDecrypt(aesKeys(key.value, usage), cipher);
    case EncType.RC4_HMAC:
      return rc4HmacDecrypt(key.value, usage, cipher);
    default:
      throw new RangeError(`encryption type ${key.etype} is not supported`);
  }
}

export function encrypt(key: EncryptionKey, usage: number, plain: Buffer): Buffer {
  switch (key.etype) {
    case EncType.AES128_CTS_HMAC_SHA1_96:
    case EncType.AES256_CTS_HMAC_SHA1_96:
      return aesEncrypt(aesKeys(key.value, usage), plain);
    case EncType.RC4_HMAC:
      return rc4HmacEncrypt(key.value, usage, plain);
    default:
      throw new RangeError(`encryption type ${key.etype} is not supported`);
  }
}

/** The keyed checksum that goes with a key's encryption type (RFC 3961 4, "required checksum"). */
export function checksumTypeFor(etype: number): number | undefined {
  return etype === EncType.AES256_CTS_HMAC_SHA1_96
    ? ChecksumType.HMAC_SHA1_96_AES256
    : etype === EncType.AES128_CTS_HMAC_SHA1_96
      ? ChecksumType.HMAC_SHA1_96_AES128
      : etype === EncType.RC4_HMAC
        ? ChecksumType.HMAC_MD5
        : undefined;
}

/** Verifies a keyed checksum; false for a wrong value and for a type that does not fit the key. */
export function verifyChecksum(
  key: EncryptionKey,
  cksumtype: number,
  usage: number,
  data: Buffer,
  checksum: Buffer,
): boolean {
  if (checksumTypeFor(key.etype) !== cksumtype) return false;
  const expected =
    cksumtype === ChecksumType.HMAC_MD5
      ? hmacMd5Checksum(key.value, usage, data)
      : aesChecksum(aesKeys(key.value, usage), data);
  return expected.length === checksum.length && timingSafeEqual(expected, checksum);
}
