import { hash } from 'node:crypto';

const BLOCK = 64; // SHA-1's block size
const DIGEST = 20;

/**
 * HMAC-SHA1 (RFC 2104) under one key whose padded forms are made once: per message two one-shot
 * `hash()` calls over (K ⊕ ipad ‖ data) and (K ⊕ opad ‖ inner). The results are node:crypto's
 * `createHmac` results (test/unit/kerberos-crypto.test.ts compares them); the cost is not: an
 * Hmac object per message (a stream, a native context, a digest lookup) was the largest single
 * item of a Kerberos logon's profile (bench/analysis.md), and each logon MACs twice under keys
 * that repeat (a service's, a cached ticket's session key).
 */
export class HmacSha1 {
  readonly #inner: Buffer;
  /** K ⊕ opad, then room for the inner digest, written there by each `mac`. */
  readonly #outer: Buffer;

  constructor(key: Buffer) {
    const block = Buffer.alloc(BLOCK);
    (key.length > BLOCK ? hash('sha1', key, 'buffer') : key).copy(block);
    // Kept for the key's life: memory of their own, not views into Node's shared 8 KB pool slabs.
    this.#inner = Buffer.alloc(BLOCK);
    this.#outer = Buffer.alloc(BLOCK + DIGEST);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = block[i]! ^ 0x36;
      this.#outer[i] = block[i]! ^ 0x5c;
    }
  }

  mac(data: Buffer): Buffer {
    // The digests come as one-byte strings ('binary' is latin1), not Buffers: hash()'s 'buffer' output (its encoding
    // looked up the slow way, a native allocation per digest) cost as much as the hashing; this
    // way an HMAC costs ~1.1 µs against ~2.0 in a loop (bench/analysis.md, session 18).
    const inner = hash('sha1', Buffer.concat([this.#inner, data]), 'binary');
    this.#outer.write(inner, BLOCK, 'latin1');
    return Buffer.from(hash('sha1', this.#outer, 'binary'), 'latin1');
  }
}
