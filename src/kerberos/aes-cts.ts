import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * AES in CBC mode with ciphertext stealing, IV zero (RFC 3962 5, the RFC 2040 CTS variant with
 * the last two blocks swapped). Node has CBC and ECB; stealing is done here. Inputs shorter than
 * one block never occur: every Kerberos message carries a 16-byte confounder.
 */

const BLOCK = 16;

function cipherName(key: Buffer, mode: 'cbc' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 32) throw new RangeError(`AES key of ${key.length} bytes`);
  return `aes-${key.length * 8}-${mode}`;
}

function cbc(encrypt: boolean, key: Buffer, data: Buffer): Buffer {
  const iv = Buffer.alloc(BLOCK);
  const c = encrypt
    ? createCipheriv(cipherName(key, 'cbc'), key, iv)
    : createDecipheriv(cipherName(key, 'cbc'), key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/** One AES block, no chaining (the E of RFC 3961's DR function). */
export function aesEncryptBlock(key: Buffer, block: Buffer): Buffer {
  const c = createCipheriv(cipherName(key, 'ecb'), key, null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(block), c.final()]);
}

function aesDecryptBlock(key: Buffer, block: Buffer): Buffer {
  const d = createDecipheriv(cipherName(key, 'ecb'), key, null);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(block), d.final()]);
}

export function aesCtsEncrypt(key: Buffer, plain: Buffer): Buffer {
  if (plain.length < BLOCK) throw new RangeError('AES-CTS input shorter than one block');
  if (plain.length === BLOCK) return cbc(true, key, plain);
  const padded = Buffer.alloc(Math.ceil(plain.length / BLOCK) * BLOCK);
  plain.copy(padded);
  const c = cbc(true, key, padded);
  const n = c.length / BLOCK;
  const lastLength = plain.length - (n - 1) * BLOCK;
  // Output: C1 .. C(n-2), Cn, then C(n-1) cut to the length of the last plaintext block.
  return Buffer.concat([
    c.subarray(0, (n - 2) * BLOCK),
    c.subarray((n - 1) * BLOCK),
    c.subarray((n - 2) * BLOCK, (n - 2) * BLOCK + lastLength),
  ]);
}

export function aesCtsDecrypt(key: Buffer, cipher: Buffer): Buffer {
  if (cipher.length < BLOCK) throw new RangeError('AES-CTS input shorter than one block');
  if (cipher.length === BLOCK) return cbc(false, key, cipher);
  const n = Math.ceil(cipher.length / BLOCK);
  const lastLength = cipher.length - (n - 1) * BLOCK;
  const head = cipher.subarray(0, (n - 2) * BLOCK);
  const swapped = cipher.subarray((n - 2) * BLOCK, (n - 1) * BLOCK); // Cn, whole
  const stolen = cipher.subarray((n - 1) * BLOCK); // C(n-1), cut
  // Decrypting Cn gives (Pn ‖ 0…) XOR C(n-1): the tail of C(n-1) that was stolen, and Pn.
  const d = aesDecryptBlock(key, swapped);
  const previous = Buffer.concat([stolen, d.subarray(lastLength)]);
  const last = Buffer.alloc(lastLength);
  for (let i = 0; i < lastLength; i++) last[i] = d[i]! ^ stolen[i]!;
  return Buffer.concat([cbc(false, key, Buffer.concat([head, previous])), last]);
}
