import { createHmac, timingSafeEqual } from 'node:crypto';
import { hasFlag, NegotiateFlags } from './flags.js';
import { md4 } from './md4.js';

/**
 * NTLMv2 cryptography, MS-NLMP 3.3.2 and 3.4. Function names follow the spec so that each one can
 * be checked against it. NTLMv1 and LM are deliberately absent: we never accept them.
 */

/**
 * NTOWFv1: MD4 of the UTF-16LE password, the "NT hash". Node's OpenSSL 3 has no MD4 outside the
 * legacy provider, so it is our own (md4.ts). A promise still, as callers have always awaited it.
 */
export async function ntowfv1(password: string): Promise<Buffer> {
  return md4(Buffer.from(password, 'utf16le'));
}

/**
 * Windows upper-cases a user name one UTF-16 unit at a time (RtlUpcaseUnicodeString) and never
 * changes its length; String#toUpperCase would turn "ß" into "SS" and the hash would not match.
 */
export function windowsUppercase(text: string): string {
  let out = '';
  for (const unit of text) {
    const upper = unit.toUpperCase();
    out += upper.length === unit.length ? upper : unit;
  }
  return out;
}

export function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const hmac = createHmac('md5', key);
  for (const part of data) hmac.update(part);
  return hmac.digest();
}

/** NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) + UserDom)). The domain keeps its case. */
export function ntowfv2(ntHash: Buffer, user: string, domain: string): Buffer {
  return hmacMd5(ntHash, Buffer.from(windowsUppercase(user) + domain, 'utf16le'));
}

/** NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge + temp). */
export function computeNtProofStr(
  responseKeyNT: Buffer,
  serverChallenge: Buffer,
  clientChallengeBlob: Buffer,
): Buffer {
  return hmacMd5(responseKeyNT, serverChallenge, clientChallengeBlob);
}

/** LMv2 response = HMAC_MD5(ResponseKeyLM, ServerChallenge + ClientChallenge) + ClientChallenge. */
export function computeLmv2Response(
  responseKeyLM: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLM, serverChallenge, clientChallenge), clientChallenge]);
}

/** SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr); for NTLMv2 it is also the KeyExchangeKey. */
export function sessionBaseKeyV2(responseKeyNT: Buffer, ntProofStr: Buffer): Buffer {
  return hmacMd5(responseKeyNT, ntProofStr);
}

/**
 * RC4, needed only to unwrap the EncryptedRandomSessionKey (KEY_EXCH) for the MIC check.
 * OpenSSL 3 has dropped it from the default provider, and a package for 15 lines is not worth it.
 */
export function rc4(key: Buffer, data: Buffer): Buffer {
  const state = new Uint8Array(256);
  for (let i = 0; i < 256; i++) state[i] = i;
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + state[i]! + key[i % key.length]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
  }
  const out = Buffer.alloc(data.length);
  for (let n = 0, i = 0, j = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + state[i]!) & 0xff;
    [state[i], state[j]] = [state[j]!, state[i]!];
    out[n] = data[n]! ^ state[(state[i]! + state[j]!) & 0xff]!;
  }
  return out;
}

/**
 * ExportedSessionKey (MS-NLMP 3.2.5.1.2): with KEY_EXCH the client chose a random key and sent it
 * RC4-encrypted under the KeyExchangeKey; without it, the KeyExchangeKey itself.
 */
export function exportedSessionKey(
  keyExchangeKey: Buffer,
  encryptedRandomSessionKey: Buffer,
  flags: number,
): Buffer {
  if (hasFlag(flags, NegotiateFlags.NEGOTIATE_KEY_EXCH) && encryptedRandomSessionKey.length === 16) {
    return rc4(keyExchangeKey, encryptedRandomSessionKey);
  }
  return keyExchangeKey;
}

/** MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE + CHALLENGE + AUTHENTICATE with a zero MIC). */
export function computeMic(
  exportedKey: Buffer,
  negotiate: Buffer,
  challenge: Buffer,
  authenticateZeroMic: Buffer,
): Buffer {
  return hmacMd5(exportedKey, negotiate, challenge, authenticateZeroMic);
}

/** Constant-time equality for secrets of possibly different lengths. */
export function secretsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
