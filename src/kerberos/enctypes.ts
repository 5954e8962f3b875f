import { timingSafeEqual } from 'node:crypto';
import {
  AesKeySchedule,
  type AesUsageKeys,
  aesChecksum,
  aesCiphertextMac,
  aesDecrypt,
  aesEncrypt,
} from './aes-sha1.js';
import { hmacMd5Checksum, rc4HmacCiphertextMac, rc4HmacDecrypt, rc4HmacEncrypt } from './rc4-hmac.js';

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
  PA_ENC_TIMESTAMP: 1,
  TICKET: 2,
  AS_REP_ENC_PART: 3,
  TGS_REQ_AUTH_CHECKSUM: 6,
  TGS_REQ_AUTHENTICATOR: 7,
  TGS_REP_ENC_PART: 8,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENC_PART: 12,
  PAC_CHECKSUM: 17,
} as const;

export interface EncryptionKey {
  readonly etype: number;
  readonly value: Buffer;
}

export function isKnownEncType(etype: number): boolean {
  return PROFILES.has(etype);
}

export function keyLengthOk(key: EncryptionKey): boolean {
  return PROFILES.get(key.etype)?.keyBytes === key.value.length;
}

// Each AES key's derived keys, kept with the key: the service key's few usages are derived once;
// session keys come and go with their messages and leave with them (WeakMap).
const schedules = new WeakMap<Buffer, AesKeySchedule>();

function aesKeys(key: Buffer, usage: number): AesUsageKeys {
  let schedule = schedules.get(key);
  if (!schedule) {
    schedule = new AesKeySchedule(key);
    schedules.set(key, schedule);
  }
  return schedule.usage(usage);
}

/**
 * An encryption type's profile (RFC 3961 3): its key size, encryption, and the keyed checksum
 * that goes with it (RFC 3961 4, "required checksum mechanism").
 */
interface EncryptionProfile {
  readonly keyBytes: number;
  readonly checksumType: number;
  encrypt(key: Buffer, usage: number, plain: Buffer): Buffer;
  decrypt(key: Buffer, usage: number, cipher: Buffer): Buffer | undefined;
  checksum(key: Buffer, usage: number, data: Buffer): Buffer;
  /** The bytes of a ciphertext that hold its integrity check (undefined when too short to hold them). */
  ciphertextMac(cipher: Buffer): Buffer | undefined;
}

function aesProfile(keyBytes: number, checksumType: number): EncryptionProfile {
  return {
    keyBytes,
    checksumType,
    encrypt: (key, usage, plain) => aesEncrypt(aesKeys(key, usage), plain),
    decrypt: (key, usage, cipher) => aesDecrypt(aesKeys(key, usage), cipher),
    checksum: (key, usage, data) => aesChecksum(aesKeys(key, usage), data),
    ciphertextMac: aesCiphertextMac,
  };
}

const PROFILES = new Map<number, EncryptionProfile>([
  [EncType.AES128_CTS_HMAC_SHA1_96, aesProfile(16, ChecksumType.HMAC_SHA1_96_AES128)],
  [EncType.AES256_CTS_HMAC_SHA1_96, aesProfile(32, ChecksumType.HMAC_SHA1_96_AES256)],
  [
    EncType.RC4_HMAC,
    {
      keyBytes: 16,
      checksumType: ChecksumType.HMAC_MD5,
      encrypt: (key, usage, plain) => rc4HmacEncrypt(key, usage, plain),
      decrypt: rc4HmacDecrypt,
      checksum: hmacMd5Checksum,
      ciphertextMac: rc4HmacCiphertextMac,
    },
  ],
]);

function profileOf(key: EncryptionKey): EncryptionProfile {
  const profile = PROFILES.get(key.etype);
  if (!profile) throw new RangeError(`encryption type ${key.etype} is not supported`);
  return profile;
}

/**
 * The integrity check inside a ciphertext of `etype` (AES: its last 12 bytes; rc4-hmac: its first
 * 16), as sent: unique to each message, and made by no one without the key. Undefined for an
 * enctype we do not know.
 */
export function ciphertextMac(etype: number, cipher: Buffer): Buffer | undefined {
  return PROFILES.get(etype)?.ciphertextMac(cipher);
}

/** RFC 3961 decrypt: the plaintext, or undefined when the integrity check fails. */
export function decrypt(key: EncryptionKey, usage: number, cipher: Buffer): Buffer | undefined {
  return profileOf(key).decrypt(key.value, usage, cipher);
}

export function encrypt(key: EncryptionKey, usage: number, plain: Buffer): Buffer {
  return profileOf(key).encrypt(key.value, usage, plain);
}

/** The keyed checksum that goes with a key's encryption type (RFC 3961 4, "required checksum"). */
export function checksumTypeFor(etype: number): number | undefined {
  return PROFILES.get(etype)?.checksumType;
}

/** A keyed checksum of the type that goes with the key (a client's: the TGS-REQ body checksum). */
export function makeChecksum(
  key: EncryptionKey,
  usage: number,
  data: Buffer,
): { cksumtype: number; checksum: Buffer } {
  const profile = profileOf(key);
  return { cksumtype: profile.checksumType, checksum: profile.checksum(key.value, usage, data) };
}

/** Verifies a keyed checksum; false for a wrong value and for a type that does not fit the key. */
export function verifyChecksum(
  key: EncryptionKey,
  cksumtype: number,
  usage: number,
  data: Buffer,
  checksum: Buffer,
): boolean {
  const profile = PROFILES.get(key.etype);
  if (profile?.checksumType !== cksumtype) return false;
  const expected = profile.checksum(key.value, usage, data);
  return expected.length === checksum.length && timingSafeEqual(expected, checksum);
}
