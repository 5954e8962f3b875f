import { AuthenticationError, InvalidTokenError } from '../errors.js';
import { type AuthenticateMessage, withZeroedMic } from './authenticate.js';
import { AvFlags, readAvFlags } from './av-pairs.js';
import {
  computeMic,
  computeNtProofStr,
  exportedSessionKey,
  ntowfv2,
  secretsEqual,
  sessionBaseKeyV2,
} from './crypto.js';
import { filetimeToMilliseconds, type NtlmV2Response } from './ntlmv2-response.js';

export interface NtlmV2Evidence {
  /** The NT hash (NTOWFv1) of the account the user name resolved to. */
  readonly ntHash: Buffer;
  /** The 8 bytes we sent in our CHALLENGE; used once, then forgotten. */
  readonly serverChallenge: Buffer;
  readonly negotiateToken: Buffer;
  readonly challengeToken: Buffer;
  readonly authenticateToken: Buffer;
  readonly authenticate: AuthenticateMessage;
  readonly response: NtlmV2Response;
  readonly now: number;
  readonly maxClockSkewMs: number;
}

/**
 * Server-side NTLMv2 check, MS-NLMP 3.3.2: the proof first (so nothing else can be probed without
 * the password), then the timestamp, then the MIC when the client says it sent one.
 * Returns the ExportedSessionKey.
 */
export function verifyNtlmV2(evidence: NtlmV2Evidence): Buffer {
  const { authenticate, response } = evidence;
  const claimedUser = authenticate.user;
  const responseKeyNT = ntowfv2(evidence.ntHash, authenticate.user, authenticate.domain);
  const expectedProof = computeNtProofStr(
    responseKeyNT,
    evidence.serverChallenge,
    response.clientChallengeBlob,
  );
  if (!secretsEqual(expectedProof, response.ntProofStr)) {
    throw new AuthenticationError('ERR_NTLM_LOGON_FAILED', 'NTLMv2 proof does not match: wrong password', {
      claimedUser,
    });
  }

  checkNtlmV2Timestamp(response, evidence.now, evidence.maxClockSkewMs, claimedUser);
  return checkMic({ ...evidence, sessionBaseKey: sessionBaseKeyV2(responseKeyNT, response.ntProofStr) });
}

/** MS-NLMP 3.3.2: the client's NTLMv2 timestamp must be near our clock (the response is not a replay). */
export function checkNtlmV2Timestamp(
  response: NtlmV2Response,
  now: number,
  maxClockSkewMs: number,
  claimedUser: string,
): void {
  const skew = Math.abs(now - filetimeToMilliseconds(response.timestamp));
  if (skew > maxClockSkewMs) {
    throw new AuthenticationError(
      'ERR_NTLM_CLOCK_SKEW',
      `NTLMv2 timestamp is ${Math.round(skew / 1000)} s away from our clock (limit ${maxClockSkewMs / 1000} s)`,
      { claimedUser },
    );
  }
}

export interface MicEvidence {
  /**
   * SessionBaseKey of NTLMv2 (MS-NLMP 3.3.2), which is also its KeyExchangeKey: computed locally,
   * or the UserSessionKey a domain controller returned.
   */
  readonly sessionBaseKey: Buffer;
  readonly negotiateToken: Buffer;
  readonly challengeToken: Buffer;
  readonly authenticateToken: Buffer;
  readonly authenticate: AuthenticateMessage;
  readonly response: NtlmV2Response;
}

/**
 * Checks the MIC when the client says it sent one (MsvAvFlags bit 0x2, MS-NLMP 3.2.5.1.2), with
 * the ExportedSessionKey derived from the session base key. Returns the ExportedSessionKey.
 */
export function checkMic(evidence: MicEvidence): Buffer {
  const { authenticate, response } = evidence;
  const sessionKey = exportedSessionKey(
    evidence.sessionBaseKey,
    authenticate.encryptedRandomSessionKey,
    authenticate.flags,
  );
  if ((readAvFlags(response.avPairs) & AvFlags.MIC_PRESENT) !== 0) {
    if (authenticate.mic === undefined)
      throw new InvalidTokenError('MsvAvFlags announces a MIC the message has no room for');
    const expectedMic = computeMic(
      sessionKey,
      evidence.negotiateToken,
      evidence.challengeToken,
      withZeroedMic(evidence.authenticateToken),
    );
    if (!secretsEqual(expectedMic, authenticate.mic)) {
      throw new AuthenticationError('ERR_NTLM_BAD_MIC', 'MIC does not match: the messages were altered', {
        claimedUser: authenticate.user,
      });
    }
  }
  return sessionKey;
}
