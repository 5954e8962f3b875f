import { createHash } from 'node:crypto';
import { hmacMd5, rc4, secretsEqual } from './crypto.js';
import { hasFlag, NegotiateFlags } from './flags.js';

/**
 * NTLM message integrity (MS-NLMP 3.4.4.2, 3.4.5), only as far as SPNEGO's mechListMIC needs it:
 * one signature per direction, sequence number 0, with a fresh RC4 handle (MS-SPNG 3.3.5.1: the
 * mechListMIC is the first signed message of the context). Extended session security only: every
 * NTLMv2 client negotiates it, and we accept nothing else.
 */

export type Direction = 'client-to-server' | 'server-to-client';

/** SIGNKEY (MS-NLMP 3.4.5.2). */
export function signKey(exportedSessionKey: Buffer, direction: Direction): Buffer {
  return createHash('md5')
    .update(exportedSessionKey)
    .update(`session key to ${direction} signing key magic constant\0`, 'latin1')
    .digest();
}

/** SEALKEY (MS-NLMP 3.4.5.3) with extended session security: 128, 56 or 40 bits of the key. */
export function sealKey(exportedSessionKey: Buffer, flags: number, direction: Direction): Buffer {
  const bytes = hasFlag(flags, NegotiateFlags.NEGOTIATE_128)
    ? 16
    : hasFlag(flags, NegotiateFlags.NEGOTIATE_56)
      ? 7
      : 5;
  return createHash('md5')
    .update(exportedSessionKey.subarray(0, bytes))
    .update(`session key to ${direction} sealing key magic constant\0`, 'latin1')
    .digest();
}

/** Whether a signature can be computed for these negotiated flags (ESS; else only the legacy MAC). */
export function canSign(flags: number): boolean {
  return hasFlag(flags, NegotiateFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY);
}

/**
 * MAC with extended session security (MS-NLMP 3.4.4.2): Version 1, the first 8 bytes of
 * HMAC_MD5(SigningKey, SeqNum + Message), RC4-sealed when KEY_EXCH was negotiated, and SeqNum.
 */
export function ntlmMac(
  exportedSessionKey: Buffer,
  flags: number,
  direction: Direction,
  message: Buffer,
): Buffer {
  const seqNum = Buffer.alloc(4); // 0: the first message signed in this direction
  let checksum = hmacMd5(signKey(exportedSessionKey, direction), seqNum, message).subarray(0, 8);
  if (hasFlag(flags, NegotiateFlags.NEGOTIATE_KEY_EXCH)) {
    checksum = rc4(sealKey(exportedSessionKey, flags, direction), checksum);
  }
  const version = Buffer.from([1, 0, 0, 0]);
  return Buffer.concat([version, checksum, seqNum]);
}

/** Checks the client's signature of `message` (its mechListMIC), in constant time. */
export function verifyNtlmMac(
  exportedSessionKey: Buffer,
  flags: number,
  message: Buffer,
  mac: Buffer,
): boolean {
  return secretsEqual(ntlmMac(exportedSessionKey, flags, 'client-to-server', message), mac);
}
