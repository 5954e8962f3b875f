import { InvalidTokenError } from '../errors.js';
import { type AvPair, checkNamePairs, decodeAvPairs, encodeAvPairs } from './av-pairs.js';

/**
 * NTLMv2_RESPONSE, MS-NLMP 2.2.2.8: NTProofStr followed by the NTLMv2_CLIENT_CHALLENGE
 * ("temp" in 3.3.2), whose AV pairs carry MsvAvFlags (MIC present), the timestamp and bindings.
 */
export interface NtlmV2Response {
  readonly ntProofStr: Buffer;
  /** Everything after NTProofStr, exactly as sent: the bytes NTProofStr is computed over. */
  readonly clientChallengeBlob: Buffer;
  /** FILETIME: 100 ns intervals since 1601-01-01 UTC. */
  readonly timestamp: bigint;
  readonly clientChallenge: Buffer;
  readonly avPairs: AvPair[];
}

const PROOF_LENGTH = 16;
const BLOB_HEADER = 28;
/** NTProofStr, the blob header and at least an MsvAvEOL. */
export const MIN_NTLMV2_RESPONSE = PROOF_LENGTH + BLOB_HEADER + 4;

export function decodeNtlmV2Response(response: Buffer): NtlmV2Response {
  if (response.length < MIN_NTLMV2_RESPONSE) {
    throw new InvalidTokenError(
      `NTLMv2 response is ${response.length} bytes, shorter than ${MIN_NTLMV2_RESPONSE}`,
    );
  }
  const blob = response.subarray(PROOF_LENGTH);
  if (blob[0] !== 1 || blob[1] !== 1) {
    throw new InvalidTokenError(`NTLMv2 client challenge has version ${blob[0]}.${blob[1]}, not 1.1`);
  }
  const avPairs = decodeAvPairs(blob.subarray(BLOB_HEADER));
  // Before any verifier sends the response to a DC: names it cannot read fail the whole logon there.
  checkNamePairs(avPairs);
  return {
    ntProofStr: response.subarray(0, PROOF_LENGTH),
    clientChallengeBlob: blob,
    timestamp: blob.readBigUInt64LE(8),
    clientChallenge: blob.subarray(16, 24),
    avPairs,
  };
}

/** The blob ("temp") a client hashes: header, timestamp, client challenge, AV pairs, 4 zero bytes. */
export function encodeClientChallengeBlob(
  timestamp: bigint,
  clientChallenge: Buffer,
  avPairs: Buffer | AvPair[],
): Buffer {
  const header = Buffer.alloc(BLOB_HEADER);
  header[0] = 1;
  header[1] = 1;
  header.writeBigUInt64LE(timestamp, 8);
  clientChallenge.copy(header, 16);
  const pairs = Buffer.isBuffer(avPairs) ? avPairs : encodeAvPairs(avPairs);
  return Buffer.concat([header, pairs, Buffer.alloc(4)]);
}

const FILETIME_UNIX_EPOCH = 116444736000000000n;

export function filetimeFromDate(milliseconds: number): bigint {
  return BigInt(Math.floor(milliseconds)) * 10000n + FILETIME_UNIX_EPOCH;
}

export function filetimeToMilliseconds(filetime: bigint): number {
  return Number((filetime - FILETIME_UNIX_EPOCH) / 10000n);
}
