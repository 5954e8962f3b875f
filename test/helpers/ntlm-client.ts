// A small NTLMv2 client built on our own wire layer, for tests that need control over every byte
// (wrong passwords, replays, tampered MICs, thousands of logons). Real clients (curl, Python,
// Chromium) are exercised separately in test/acceptance.
import { randomBytes } from 'node:crypto';
import { encodeAuthenticate, writeMic } from '../../src/ntlm/authenticate.js';
import { AvFlags, AvId, type AvPair, decodeAvPairs, encodeAvPairs } from '../../src/ntlm/av-pairs.js';
import { decodeChallenge } from '../../src/ntlm/challenge.js';
import {
  computeLmv2Response,
  computeMic,
  computeNtProofStr,
  ntowfv1,
  ntowfv2,
  rc4,
  sessionBaseKeyV2,
} from '../../src/ntlm/crypto.js';
import { NegotiateFlags as F } from '../../src/ntlm/flags.js';
import { encodeNegotiate } from '../../src/ntlm/negotiate.js';
import { encodeClientChallengeBlob, filetimeFromDate } from '../../src/ntlm/ntlmv2-response.js';

export const CLIENT_FLAGS =
  F.NEGOTIATE_UNICODE |
  F.REQUEST_TARGET |
  F.NEGOTIATE_NTLM |
  F.NEGOTIATE_ALWAYS_SIGN |
  F.NEGOTIATE_EXTENDED_SESSIONSECURITY |
  F.NEGOTIATE_TARGET_INFO |
  F.NEGOTIATE_VERSION |
  F.NEGOTIATE_128 |
  F.NEGOTIATE_KEY_EXCH |
  F.NEGOTIATE_56;

export interface ClientCredentials {
  user: string;
  domain: string;
  password: string;
  workstation?: string;
}

export interface ClientOptions {
  flags?: number;
  /** Send a MIC (and MsvAvFlags MIC_PRESENT). @default true */
  mic?: boolean;
  /** Override the timestamp in the client blob (ms since epoch). */
  timestampMs?: number;
  /** MsvAvChannelBindings to sign (16 bytes: the MD5 of the GSS channel bindings), as an EPA client does. */
  channelBindings?: Buffer;
  /** MsvAvTargetName to sign, e.g. `HTTP/localhost`. */
  targetName?: string;
  /** Receives the ExportedSessionKey (for a SPNEGO mechListMIC). */
  onExportedKey?: (key: Buffer) => void;
  /**
   * Changes the message before it is encoded and its proofs (NTProofStr, MIC) are computed over
   * what was changed: the fuzzer's structure-aware edits that still reach the verifier.
   */
  edit?: (draft: Type3Draft) => void;
}

/** The fields of a Type 3 the `edit` option may change. */
export interface Type3Draft {
  user: string;
  domain: string;
  workstation: string;
  flags: number;
  /** The AV pairs of the NTLMv2 blob (EOL added when encoded). */
  pairs: AvPair[];
  /** Instead of `pairs`: the blob's AV pair bytes exactly as given (no EOL added). */
  rawPairs: Buffer | undefined;
  timestamp: bigint;
  clientChallenge: Buffer;
  /** Instead of the LMv2 response (or zeros with a MIC). */
  lmChallengeResponse: Buffer | undefined;
  version: Buffer;
}

export function type1(flags = CLIENT_FLAGS): Buffer {
  return encodeNegotiate({ flags, version: Buffer.from('0a00614a0000000f', 'hex') });
}

/** Answers a CHALLENGE the way a modern Windows client does: NTLMv2, KEY_EXCH, MIC. */
export async function type3(
  negotiateToken: Buffer,
  challengeToken: Buffer,
  credentials: ClientCredentials,
  options: ClientOptions = {},
): Promise<Buffer> {
  const challenge = decodeChallenge(challengeToken);
  const serverPairs = decodeAvPairs(challenge.targetInfo);
  const withMic = options.mic !== false;
  const serverTime = serverPairs.find((p) => p.id === AvId.MsvAvTimestamp)?.value;
  const timestamp =
    options.timestampMs !== undefined
      ? filetimeFromDate(options.timestampMs)
      : serverTime
        ? serverTime.readBigUInt64LE(0)
        : filetimeFromDate(Date.now());
  const pairs = serverPairs.filter((p) => p.id !== AvId.MsvAvFlags);
  if (options.channelBindings) pairs.push({ id: AvId.MsvAvChannelBindings, value: options.channelBindings });
  if (options.targetName)
    pairs.push({ id: AvId.MsvAvTargetName, value: Buffer.from(options.targetName, 'utf16le') });
  if (withMic) {
    const micFlag = Buffer.alloc(4);
    micFlag.writeUInt32LE(AvFlags.MIC_PRESENT);
    pairs.push({ id: AvId.MsvAvFlags, value: micFlag });
  }
  const draft: Type3Draft = {
    user: credentials.user,
    domain: credentials.domain,
    workstation: credentials.workstation ?? 'TESTBOX',
    flags: (options.flags ?? CLIENT_FLAGS) & challenge.flags,
    pairs,
    rawPairs: undefined,
    timestamp,
    clientChallenge: randomBytes(8),
    lmChallengeResponse: undefined,
    version: Buffer.from('0a00614a0000000f', 'hex'),
  };
  options.edit?.(draft);
  const { flags, clientChallenge } = draft;
  const responseKey = ntowfv2(await ntowfv1(credentials.password), draft.user, draft.domain);
  const blob = encodeClientChallengeBlob(
    draft.timestamp,
    clientChallenge,
    draft.rawPairs ?? encodeAvPairs(draft.pairs),
  );
  const ntProofStr = computeNtProofStr(responseKey, challenge.serverChallenge, blob);
  const sessionBaseKey = sessionBaseKeyV2(responseKey, ntProofStr);
  const randomSessionKey = randomBytes(16);
  const keyExchange = (flags & F.NEGOTIATE_KEY_EXCH) !== 0;
  const exportedKey = keyExchange ? randomSessionKey : sessionBaseKey;
  options.onExportedKey?.(exportedKey);
  const token = encodeAuthenticate({
    flags,
    lmChallengeResponse:
      draft.lmChallengeResponse ??
      (withMic
        ? Buffer.alloc(24)
        : computeLmv2Response(responseKey, challenge.serverChallenge, clientChallenge)),
    ntChallengeResponse: Buffer.concat([ntProofStr, blob]),
    domain: draft.domain,
    user: draft.user,
    workstation: draft.workstation,
    encryptedRandomSessionKey: keyExchange ? rc4(sessionBaseKey, randomSessionKey) : Buffer.alloc(0),
    version: draft.version,
  });
  if (withMic) writeMic(token, computeMic(exportedKey, negotiateToken, challengeToken, token));
  return token;
}
