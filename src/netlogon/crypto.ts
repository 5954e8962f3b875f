import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The AES secure-channel crypto of MS-NRPC, on node:crypto (AES-128-CFB8 and HMAC-SHA256).
 * Only the AES variant exists here: a DC with today's defaults refuses the RC4/MD5 one
 * (STATUS_DOWNGRADE_DETECTED, CVE-2022-38023), and so do we.
 */

const ZERO_IV = Buffer.alloc(16);

export function aesCfb8Encrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-cfb8', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

export function aesCfb8Decrypt(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const decipher = createDecipheriv('aes-128-cfb8', key, iv);
  return Buffer.concat([decipher.update(data), decipher.final()]);
}

/** MS-NRPC 3.1.4.3.1: SessionKey = HMAC-SHA256(NT hash, ClientChallenge ‖ ServerChallenge), first 16 bytes. */
export function computeSessionKeyAes(
  ntHash: Buffer,
  clientChallenge: Buffer,
  serverChallenge: Buffer,
): Buffer {
  return createHmac('sha256', ntHash)
    .update(clientChallenge)
    .update(serverChallenge)
    .digest()
    .subarray(0, 16);
}

/** MS-NRPC 3.1.4.4.1: a Netlogon credential is AES-128-CFB8 of the 8-byte input, IV all zero. */
export function computeNetlogonCredentialAes(input: Buffer, sessionKey: Buffer): Buffer {
  return aesCfb8Encrypt(sessionKey, ZERO_IV, input);
}

/** NL_AUTH_SHA2_SIGNATURE header for a sealed message: SignatureAlgorithm 0x13 (HMAC-SHA256), SealAlgorithm 0x1A (AES-128), Pad 0xFFFF, Flags 0. */
export const SEALED_HEADER = Buffer.from([0x13, 0x00, 0x1a, 0x00, 0xff, 0xff, 0x00, 0x00]);

/**
 * The AES verifier on the wire is 56 bytes, and not laid out as MS-NRPC 2.2.1.3.3 draws it:
 * `header(8) | encrypted SequenceNumber(8) | Checksum(8) | encrypted Confounder(8) | 24 zero bytes`.
 * Windows and Samba put the confounder at offset 24 (the RC4 layout's offset; Samba's
 * schannel_sign.c: "windows has a bug here and uses the old values"); the spec's offset 48 gets
 * DCERPC fault 0x721 from the DC.
 */
export const AES_VERIFIER_LENGTH = 56;
const SEQUENCE_OFFSET = 8;
const CHECKSUM_OFFSET = 16;
const CONFOUNDER_OFFSET = 24;

/**
 * The plain SequenceNumber (MS-NRPC 3.3.4.2.1): the 64-bit counter as two big-endian words, low
 * word first, with 0x80000000 set on the high word when the client sends.
 */
export function sequenceBytes(counter: bigint, fromClient: boolean): Buffer {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32BE(Number(counter & 0xffffffffn), 0);
  bytes.writeUInt32BE((Number(counter >> 32n) | (fromClient ? 0x80000000 : 0)) >>> 0, 4);
  return bytes;
}

function sealingKey(sessionKey: Buffer): Buffer {
  return Buffer.from(sessionKey.map((byte) => byte ^ 0xf0));
}

function checksum(sessionKey: Buffer, confounder: Buffer, data: Buffer): Buffer {
  return createHmac('sha256', sessionKey)
    .update(SEALED_HEADER)
    .update(confounder)
    .update(data)
    .digest()
    .subarray(0, 8);
}

/**
 * Seals one PDU's stub (padding included) as MS-NRPC 3.3.4.2.1 describes for AES: checksum over
 * header, plain confounder and plain data; then confounder and data encrypted in one CFB8 stream
 * under SessionKey XOR 0xF0 with IV = sequence ×2; then the sequence encrypted under SessionKey
 * with IV = checksum ×2.
 */
export function sealAes(
  sessionKey: Buffer,
  counter: bigint,
  data: Buffer,
  confounder: Buffer = randomBytes(8),
): { sealed: Buffer; verifier: Buffer } {
  const sequence = sequenceBytes(counter, true);
  const sum = checksum(sessionKey, confounder, data);
  const encrypted = aesCfb8Encrypt(
    sealingKey(sessionKey),
    Buffer.concat([sequence, sequence]),
    Buffer.concat([confounder, data]),
  );
  const verifier = Buffer.alloc(AES_VERIFIER_LENGTH);
  SEALED_HEADER.copy(verifier, 0);
  aesCfb8Encrypt(sessionKey, Buffer.concat([sum, sum]), sequence).copy(verifier, SEQUENCE_OFFSET);
  sum.copy(verifier, CHECKSUM_OFFSET);
  encrypted.subarray(0, 8).copy(verifier, CONFOUNDER_OFFSET);
  return { sealed: encrypted.subarray(8), verifier };
}

/**
 * Unseals a stub from the server and checks its verifier: the header, the sequence number we
 * expect next (server direction), and the checksum. Returns undefined when any of them is wrong,
 * so that the caller drops the connection.
 */
export function unsealAes(
  sessionKey: Buffer,
  counter: bigint,
  sealed: Buffer,
  verifier: Buffer,
): Buffer | undefined {
  if (verifier.length < AES_VERIFIER_LENGTH || !verifier.subarray(0, 8).equals(SEALED_HEADER))
    return undefined;
  const sequence = sequenceBytes(counter, false);
  const decrypted = aesCfb8Decrypt(
    sealingKey(sessionKey),
    Buffer.concat([sequence, sequence]),
    Buffer.concat([verifier.subarray(CONFOUNDER_OFFSET, CONFOUNDER_OFFSET + 8), sealed]),
  );
  const data = decrypted.subarray(8);
  const expected = checksum(sessionKey, decrypted.subarray(0, 8), data);
  const received = verifier.subarray(CHECKSUM_OFFSET, CHECKSUM_OFFSET + 8);
  if (!timingSafeEqual(expected, received)) return undefined;
  const expectedSequence = aesCfb8Encrypt(sessionKey, Buffer.concat([expected, expected]), sequence);
  if (!expectedSequence.equals(verifier.subarray(SEQUENCE_OFFSET, SEQUENCE_OFFSET + 8))) return undefined;
  return data;
}
