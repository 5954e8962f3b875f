import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { aesCtsDecrypt, aesCtsEncrypt, aesEncryptBlock } from './aes-cts.js';
import { nfold } from './nfold.js';

/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18): RFC 3962 on the simplified
 * profile of RFC 3961 5.3. Returns undefined from decrypt on an integrity failure, so that the
 * caller picks the error code (a wrong key and a modified message look the same here).
 */

const BLOCK = 16;
const MAC_BYTES = 12;

/** DR (RFC 3961 5.1): AES-encrypt the n-folded constant, then each output again, to key length. */
function deriveRandom(key: Buffer, constant: Buffer): Buffer {
  const blocks: Buffer[] = [];
  let input = nfold(constant, BLOCK);
  for (let have = 0; have < key.length; have += BLOCK) {
    input = aesEncryptBlock(key, input);
    blocks.push(input);
  }
  return Buffer.concat(blocks).subarray(0, key.length);
}

/** DK(key, constant); random-to-key is the identity for AES. */
export function deriveKey(key: Buffer, constant: Buffer): Buffer {
  return deriveRandom(key, constant);
}

/** The 5-byte constants of RFC 3961 5.3: usage (big-endian) then 0x99 (Kc), 0xAA (Ke), 0x55 (Ki). */
export function usageConstant(usage: number, kind: 0x99 | 0xaa | 0x55): Buffer {
  const constant = Buffer.alloc(5);
  constant.writeUInt32BE(usage >>> 0);
  constant[4] = kind;
  return constant;
}

/** string-to-key (RFC 3962 4): PBKDF2-HMAC-SHA1, then DK(tkey, "kerberos"). 4096 iterations by default. */
export function aesStringToKey(
  password: string,
  salt: string | Buffer,
  keyBytes: 16 | 32,
  iterations = 4096,
): Buffer {
  const tkey = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, keyBytes, 'sha1');
  return deriveKey(tkey, Buffer.from('kerberos', 'latin1'));
}

function hmacSha1(key: Buffer, data: Buffer): Buffer {
  return createHmac('sha1', key).update(data).digest();
}

/** The derived keys of one (key, usage): derived once per acceptor, not per message. */
export interface AesUsageKeys {
  ke: Buffer;
  ki: Buffer;
  kc: Buffer;
}

export function usageKeys(key: Buffer, usage: number): AesUsageKeys {
  return {
    ke: deriveKey(key, usageConstant(usage, 0xaa)),
    ki: deriveKey(key, usageConstant(usage, 0x55)),
    kc: deriveKey(key, usageConstant(usage, 0x99)),
  };
}

export function aesEncrypt(keys: AesUsageKeys, plain: Buffer, confounder = randomBytes(BLOCK)): Buffer {
  const data = Buffer.concat([confounder, plain]);
  return Buffer.concat([aesCtsEncrypt(keys.ke, data), hmacSha1(keys.ki, data).subarray(0, MAC_BYTES)]);
}

export function aesDecrypt(keys: AesUsageKeys, cipher: Buffer): Buffer | undefined {
  if (cipher.length < BLOCK + MAC_BYTES) return undefined;
  const body = cipher.subarray(0, cipher.length - MAC_BYTES);
  const mac = cipher.subarray(cipher.length - MAC_BYTES);
  const data = aesCtsDecrypt(keys.ke, body);
  const expected = hmacSha1(keys.ki, data).subarray(0, MAC_BYTES);
  if (!timingSafeEqual(expected, mac)) return undefined;
  return data.subarray(BLOCK);
}

/** hmac-sha1-96-aes128 (15) / -aes256 (16), RFC 3962 7: HMAC-SHA1 under Kc, cut to 96 bits. */
export function aesChecksum(keys: AesUsageKeys, data: Buffer): Buffer {
  return hmacSha1(keys.kc, data).subarray(0, MAC_BYTES);
}
