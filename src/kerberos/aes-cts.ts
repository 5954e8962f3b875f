import { type Cipher, createCipheriv, createDecipheriv, type Decipher } from 'node:crypto';

/**
 * AES in CBC mode with ciphertext stealing, IV zero (RFC 3962 5, the RFC 2040 CTS variant with
 * the last two blocks swapped). Node has CBC and ECB; stealing is done here. Inputs shorter than
 * one block never occur: every Kerberos message carries a 16-byte confounder.
 *
 * Cost: decryption runs on one ECB decipher per key, made once and kept with the key's derived
 * keys (a service key's live as long as the acceptor, a session key's as long as its ticket is
 * cached): one native call for all blocks but the stolen one, one for that, and the CBC chaining
 * as a XOR here. OpenSSL's ECB without padding holds nothing back between calls, so the object
 * can be reused. Encryption runs on one kept CBC cipher per key in the same way (AesCtsEncryptor).
 */

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

function cipherName(key: Buffer, mode: 'cbc' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 32) throw new RangeError(`AES key of ${key.length} bytes`);
  return `aes-${key.length * 8}-${mode}`;
}

/** An ECB encryptor for `key`, to keep and reuse (the E of RFC 3961's DR function). */
export function ecbEncryptor(key: Buffer): Cipher {
  return createCipheriv(cipherName(key, 'ecb'), key, null).setAutoPadding(false);
}

/** An ECB decryptor for `key`, to keep and reuse with aesCtsDecryptWith. */
export function ecbDecryptor(key: Buffer): Decipher {
  return createDecipheriv(cipherName(key, 'ecb'), key, null).setAutoPadding(false);
}

export function aesCtsEncrypt(key: Buffer, plain: Buffer): Buffer {
  return new AesCtsEncryptor(key).encrypt(plain);
}

/**
 * AES-CTS encryption under one key on one kept CBC cipher. OpenSSL's CBC carries the last
 * ciphertext block of a call over as the next call's IV; XORing that block into the next
 * message's first block gives each message the zero IV it needs: E(P1 ⊕ C ⊕ C) = E(P1). Without
 * padding and with whole blocks, every call returns all its blocks, so the chain is always known.
 */
export class AesCtsEncryptor {
  readonly #cbc: Cipher;
  /** The IV the kept cipher uses for the next call: the last ciphertext block it returned. */
  readonly #chain = Buffer.alloc(BLOCK);

  constructor(key: Buffer) {
    this.#cbc = createCipheriv(cipherName(key, 'cbc'), key, ZERO_IV).setAutoPadding(false);
  }

  encrypt(plain: Buffer): Buffer {
    if (plain.length < BLOCK) throw new RangeError('AES-CTS input shorter than one block');
    const n = Math.ceil(plain.length / BLOCK);
    const padded = Buffer.alloc(n * BLOCK);
    plain.copy(padded);
    for (let i = 0; i < BLOCK; i++) padded[i] = padded[i]! ^ this.#chain[i]!;
    const c = this.#cbc.update(padded);
    c.copy(this.#chain, 0, c.length - BLOCK);
    return stealCiphertext(c, plain.length);
  }
}

/** CBC output to CTS output (RFC 3962 5): the last two blocks swapped, the last one cut. */
function stealCiphertext(c: Buffer, length: number): Buffer {
  const n = c.length / BLOCK;
  if (n === 1) return c;
  const lastLength = length - (n - 1) * BLOCK;
  // Output: C1 .. C(n-2), Cn, then C(n-1) cut to the length of the last plaintext block.
  const out = Buffer.allocUnsafe(length);
  c.copy(out, 0, 0, (n - 2) * BLOCK);
  c.copy(out, (n - 2) * BLOCK, (n - 1) * BLOCK, n * BLOCK);
  c.copy(out, (n - 1) * BLOCK, (n - 2) * BLOCK, (n - 2) * BLOCK + lastLength);
  return out;
}

export function aesCtsDecrypt(key: Buffer, cipher: Buffer): Buffer {
  return aesCtsDecryptWith(ecbDecryptor(key), cipher);
}

/** Decrypts with the key's kept ECB decryptor. */
export function aesCtsDecryptWith(ecb: Decipher, cipher: Buffer): Buffer {
  const length = cipher.length;
  if (length < BLOCK) throw new RangeError('AES-CTS input shorter than one block');
  if (length === BLOCK) return ecb.update(cipher);
  const n = Math.ceil(length / BLOCK);
  const lastLength = length - (n - 1) * BLOCK;
  const swappedAt = (n - 2) * BLOCK; // Cn, whole, sent before the cut C(n-1)
  const stolenAt = (n - 1) * BLOCK;
  // D(C1) .. D(C(n-2)), then D(Cn), in one call.
  const d = ecb.update(cipher.subarray(0, stolenAt));
  const out = Buffer.allocUnsafe(length);
  // CBC: P(i) = D(C(i)) XOR C(i-1), with C(0) the zero IV.
  for (let i = 0; i < BLOCK && i < swappedAt; i++) out[i] = d[i]!;
  for (let i = BLOCK; i < swappedAt; i++) out[i] = d[i]! ^ cipher[i - BLOCK]!;
  // D(Cn) is (Pn ‖ 0…) XOR C(n-1): Pn, and the tail of C(n-1) that was stolen.
  for (let i = 0; i < lastLength; i++) out[stolenAt + i] = d[swappedAt + i]! ^ cipher[stolenAt + i]!;
  const previous = Buffer.allocUnsafe(BLOCK);
  cipher.copy(previous, 0, stolenAt);
  d.copy(previous, lastLength, swappedAt + lastLength, swappedAt + BLOCK);
  const dPrevious = ecb.update(previous);
  const before = swappedAt - BLOCK; // C(n-2), or the IV when n = 2
  for (let i = 0; i < BLOCK; i++)
    out[swappedAt + i] = dPrevious[i]! ^ (before >= 0 ? cipher[before + i]! : 0);
  return out;
}
