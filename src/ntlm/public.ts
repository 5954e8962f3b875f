// `import { wire } from 'ntlm-sso'`: the NTLM messages and the NTLMv2 computations that a
// verifier, a test client or a protocol tool of your own calls, by their MS-NLMP names. Offsets,
// field readers and other internals of the wire layer stay out, so that they can change.

// NEGOTIATE, CHALLENGE, AUTHENTICATE (MS-NLMP 2.2.1): read and write.
export {
  type AuthenticateMessage,
  decodeAuthenticate,
  encodeAuthenticate,
  writeMic,
} from './authenticate.js';
// AV pairs: the CHALLENGE's TargetInfo and the names, timestamp and flags a client echoes (2.2.2.1).
export { AvFlags, AvId, type AvPair, decodeAvPairs, encodeAvPairs, findAvPair } from './av-pairs.js';
export { type ChallengeMessage, challengeAvPairs, decodeChallenge, encodeChallenge } from './challenge.js';
// NTLMv2 (3.3.2): the keys, the proof, the session key and the MIC.
export {
  computeLmv2Response,
  computeMic,
  computeNtProofStr,
  exportedSessionKey,
  ntowfv1,
  ntowfv2,
  sessionBaseKeyV2,
} from './crypto.js';
// Extended Protection: channel bindings (tls-server-end-point) and the check of a logon's.
export {
  channelBindingsHash,
  checkExtendedProtection,
  type ExtendedProtectionCheck,
  type ExtendedProtectionMode,
  tlsServerEndPoint,
} from './extended-protection.js';
export { MessageType, type MessageTypeNumber, peekMessageType } from './fields.js';
export { describeFlags, hasFlag, type NegotiateFlagName, NegotiateFlags } from './flags.js';
export { decodeNegotiate, encodeNegotiate, type NegotiateMessage } from './negotiate.js';
export {
  decodeNtlmV2Response,
  encodeClientChallengeBlob,
  filetimeFromDate,
  filetimeToMilliseconds,
  type NtlmV2Response,
} from './ntlmv2-response.js';
// What ntlm() checks before any verifier: no anonymous, NTLMv1 or LM logon.
export { checkLogonPolicy } from './policy.js';
export { buildServerChallenge, challengeFlags, type ServerNames } from './server-challenge.js';
// A verifier that holds NT hashes: the NTLMv2 proof, the MIC and the timestamp, checked.
export {
  checkMic,
  checkNtlmV2Timestamp,
  type MicEvidence,
  type NtlmV2Evidence,
  verifyNtlmV2,
} from './verify-ntlmv2.js';
