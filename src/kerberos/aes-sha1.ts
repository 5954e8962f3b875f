import { type Cipher, type Decipher, timingSafeEqual } from 'node:crypto';
import { AesCtsEncryptor, aesCtsDecryptWith, ecbDecryptor, ecbEncryptor } from './aes-cts.js';
import { HmacSha1 } from './hmac-sha1.js';
import { nfold } from './nfold.js';
import { pooledRandomBytes } from './random-pool.js';

/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18): RFC 3962 on the simplified
 * profile of RFC 3961 5.3. Returns undefined from decrypt on an integrity failure, so that the
 * caller picks the error code (a wrong key and a modified message look the same here).
 */

const BLOCK = 16;
const MAC_BYTES = 12;

/** DR (RFC 3961 5.1): AES-encrypt the n-folded constant, then each output again, to key length. */
function deriveRandom(key: Buffer, folded: Buffer): Buffer {
  return deriveKeys(key, ecbEncryptor(key), [folded])[0]!;
}

/** DK(key, constant); random-to-key is the identity for AES. */
export function deriveKey(key: Buffer, constant: Buffer): Buffer {
  return deriveRandom(key, nfold(constant, BLOCK));
}

/**
 * DK of several n-folded constants at once: each DR round is one ECB call over all of them on
 * the key's one encryptor (RFC 3961 5.1 chains each block only with its own constant).
 */
function deriveKeys(key: Buffer, ecb: Cipher, folded: readonly Buffer[]): Buffer[] {
  const first = ecb.update(folded.length === 1 ? folded[0]! : Buffer.concat(folded));
  const second = key.length === BLOCK ? undefined : ecb.update(first);
  return folded.map((_, i) => {
    // Derived keys are kept as long as their key: memory of their own (Buffer.alloc), not a
    // view into the ECB output or into one of Node's shared 8 KB pool slabs.
    const derived = Buffer.alloc(key.length);
    first.copy(derived, 0, i * BLOCK, (i + 1) * BLOCK);
    second?.copy(derived, BLOCK, i * BLOCK, (i + 1) * BLOCK);
    return derived;
  });
}

/** The n-folded constants per usage and kind: the same for every key, so folded once. */
const foldedConstants = new Map<number, Buffer>();

function foldedConstant(usage: number, kind: 0x99 | 0xaa | 0x55): Buffer {
  const id = usage * 256 + kind;
  let folded = foldedConstants.get(id);
  if (!folded) {
    folded = nfold(usageConstant(usage, kind), BLOCK);
    foldedConstants.set(id, folded);
  }
  return folded;
}

/** The 5-byte constants of RFC 3961 5.3: usage (big-endian) then 0x99 (Kc), 0xAA (Ke), 0x55 (Ki). */
export function usageConstant(usage: number, kind: 0x99 | 0xaa | 0x55): Buffer {
  const constant = Buffer.alloc(5);
  constant.writeUInt32BE(usage >>> 0);
  constant[4] = kind;
  return constant;
}

/**
 * One AES key's derived keys, made when first needed: per usage, Ke and Ki together (to encrypt
 * or decrypt) or Kc alone (to checksum), all on the key's one ECB encryptor, each kept as the
 * cipher or MAC object that uses it. Kept with the key (enctypes.ts): a service key's are derived
 * once per acceptor, a session key's once per cached ticket.
 */
export class AesKeySchedule {
  readonly #key: Buffer;
  #ecb: Cipher | undefined;
  readonly #usages = new Map<number, AesUsageKeys>();

  constructor(key: Buffer) {
    this.#key = key;
  }

  usage(usage: number): AesUsageKeys {
    let keys = this.#usages.get(usage);
    if (!keys) {
      keys = new AesUsageKeys(this, usage);
      this.#usages.set(usage, keys);
    }
    return keys;
  }

  derive(folded: readonly Buffer[]): Buffer[] {
    this.#ecb ??= ecbEncryptor(this.#key);
    return deriveKeys(this.#key, this.#ecb, folded);
  }
}

/** Ke's ciphers and Ki's MAC, for one usage. */
interface EncryptionKeys {
  readonly ke: Buffer;
  readonly ki: HmacSha1;
  encryptor?: AesCtsEncryptor;
  decryptor?: Decipher;
}

export class AesUsageKeys {
  #encryption: EncryptionKeys | undefined;
  #kc: HmacSha1 | undefined;

  constructor(
    private readonly schedule: AesKeySchedule,
    private readonly usage: number,
  ) {}

  get #keys(): EncryptionKeys {
    if (!this.#encryption) {
      const [ke, ki] = this.schedule.derive([
        foldedConstant(this.usage, 0xaa),
        foldedConstant(this.usage, 0x55),
      ]) as [Buffer, Buffer];
      this.#encryption = { ke, ki: new HmacSha1(ki) };
    }
    return this.#encryption;
  }

  get ki(): HmacSha1 {
    return this.#keys.ki;
  }

  get encryptor(): AesCtsEncryptor {
    const keys = this.#keys;
    keys.encryptor ??= new AesCtsEncryptor(keys.ke);
    return keys.encryptor;
  }

  get decryptor(): Decipher {
    const keys = this.#keys;
    keys.decryptor ??= ecbDecryptor(keys.ke);
    return keys.decryptor;
  }

  get kc(): HmacSha1 {
    this.#kc ??= new HmacSha1(this.schedule.derive([foldedConstant(this.usage, 0x99)])[0]!);
    return this.#kc;
  }
}

export function aesEncrypt(keys: AesUsageKeys, plain: Buffer, confounder = pooledRandomBytes(BLOCK)): Buffer {
  const data = Buffer.concat([confounder, plain]);
  return Buffer.concat([keys.encryptor.encrypt(data), keys.ki.mac(data).subarray(0, MAC_BYTES)]);
}

export function aesDecrypt(keys: AesUsageKeys, cipher: Buffer): Buffer | undefined {
  if (cipher.length < BLOCK + MAC_BYTES) return undefined;
  const body = cipher.subarray(0, cipher.length - MAC_BYTES);
  const mac = aesCiphertextMac(cipher)!;
  const data = aesCtsDecryptWith(keys.decryptor, body);
  const expected = keys.ki.mac(data).subarray(0, MAC_BYTES);
  if (!timingSafeEqual(expected, mac)) return undefined;
  return data.subarray(BLOCK);
}

/** The integrity check a ciphertext carries: its last 12 bytes, HMAC-SHA1-96 (RFC 3962 3). */
export function aesCiphertextMac(cipher: Buffer): Buffer | undefined {
  return cipher.length < MAC_BYTES ? undefined : cipher.subarray(cipher.length - MAC_BYTES);
}

/** hmac-sha1-96-aes128 (15) / -aes256 (16), RFC 3962 7: HMAC-SHA1 under Kc, cut to 96 bits. */
export function aesChecksum(keys: AesUsageKeys, data: Buffer): Buffer {
  return keys.kc.mac(data).subarray(0, MAC_BYTES);
}
