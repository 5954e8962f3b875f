import { pbkdf2 } from 'node:crypto';
import { promisify } from 'node:util';
import { deriveKey } from './aes-sha1.js';
import { type EncryptionKey, EncType } from './enctypes.js';

/**
 * The user's long-term key from a password (RFC 3962 4): PBKDF2-HMAC-SHA1 over the password with
 * the KDC's salt, then DK(tkey, "kerberos"). The iteration count is the KDC's s2kparams (4096
 * when it sends none). PBKDF2 runs on libuv's thread pool: 4096 rounds are a few ms of CPU that
 * should not stall every other request on the event loop.
 */

const pbkdf2Async = promisify(pbkdf2);

export const DEFAULT_ITERATIONS = 4096;
/**
 * More than any KDC configures (AD always uses 4096): a bound on the CPU that one answer, from a
 * KDC or someone posing as one, can make us spend.
 */
export const MAX_ITERATIONS = 1_000_000;

const KEY_BYTES: Readonly<Record<number, 16 | 32>> = {
  [EncType.AES128_CTS_HMAC_SHA1_96]: 16,
  [EncType.AES256_CTS_HMAC_SHA1_96]: 32,
};

/** The AES enctypes a password is turned into (RC4 is never offered: SECURITY.md). */
export function isPasswordEnctype(etype: number): boolean {
  return KEY_BYTES[etype] !== undefined;
}

/** s2kparams for AES: the iteration count, a 4-byte big-endian integer (RFC 3962 4). */
export function iterationsOf(s2kparams: Buffer | undefined): number {
  if (s2kparams === undefined) return DEFAULT_ITERATIONS;
  if (s2kparams.length !== 4) throw new RangeError(`s2kparams of ${s2kparams.length} bytes, not 4`);
  const iterations = s2kparams.readUInt32BE(0);
  if (iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`s2kparams asks for ${iterations} iterations (at most ${MAX_ITERATIONS})`);
  }
  return iterations;
}

export async function stringToKey(
  etype: number,
  password: string,
  salt: string | Buffer,
  iterations: number = DEFAULT_ITERATIONS,
): Promise<EncryptionKey> {
  const keyBytes = KEY_BYTES[etype];
  if (keyBytes === undefined) throw new RangeError(`no string-to-key for enctype ${etype}`);
  const tkey = await pbkdf2Async(
    Buffer.from(password, 'utf8'),
    typeof salt === 'string' ? Buffer.from(salt, 'utf8') : salt,
    iterations,
    keyBytes,
    'sha1',
  );
  return { etype, value: deriveKey(tkey, Buffer.from('kerberos', 'latin1')) };
}
