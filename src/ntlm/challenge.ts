import { InvalidTokenError } from '../errors.js';
import { type AvPair, decodeAvPairs } from './av-pairs.js';
import {
  decodeName,
  encodeName,
  MAX_NAME_BYTES,
  MAX_TOKEN_BYTES,
  MessageType,
  newMessageHeader,
  readMessageType,
  readPayloadField,
  requireLength,
  writePayload,
} from './fields.js';
import { hasFlag, NegotiateFlags } from './flags.js';

/** CHALLENGE_MESSAGE (Type 2), MS-NLMP 2.2.1.2. */
export interface ChallengeMessage {
  readonly flags: number;
  readonly targetName: string;
  readonly serverChallenge: Buffer;
  /** Raw TargetInfo bytes (an AV_PAIR list), kept as sent: the client hashes them. */
  readonly targetInfo: Buffer;
  readonly version: Buffer | undefined;
}

const TARGET_NAME_FIELD = 12;
const FLAGS_OFFSET = 20;
const CHALLENGE_OFFSET = 24;
const TARGET_INFO_FIELD = 40;
const VERSION_OFFSET = 48;
const HEADER_LENGTH = 56;
/** Some servers omit the Version field: the payload may start right after TargetInfoFields. */
const MIN_LENGTH = 48;

export function encodeChallenge(message: {
  flags: number;
  targetName: string;
  serverChallenge: Buffer;
  targetInfo: Buffer;
  version?: Buffer;
}): Buffer {
  if (message.serverChallenge.length !== 8) throw new RangeError('serverChallenge must be 8 bytes');
  const unicode = hasFlag(message.flags, NegotiateFlags.NEGOTIATE_UNICODE);
  const header = newMessageHeader(HEADER_LENGTH, MessageType.CHALLENGE);
  header.writeUInt32LE(message.flags >>> 0, FLAGS_OFFSET);
  message.serverChallenge.copy(header, CHALLENGE_OFFSET);
  (message.version ?? Buffer.alloc(8)).copy(header, VERSION_OFFSET);
  return writePayload(header, [
    [TARGET_NAME_FIELD, encodeName(message.targetName, unicode)],
    [TARGET_INFO_FIELD, message.targetInfo],
  ]);
}

export function decodeChallenge(token: Buffer): ChallengeMessage {
  if (readMessageType(token) !== MessageType.CHALLENGE) {
    throw new InvalidTokenError('expected an NTLM CHALLENGE message (Type 2)', 'ERR_NTLM_UNEXPECTED_MESSAGE');
  }
  requireLength(token, MIN_LENGTH, 'CHALLENGE message');
  const flags = token.readUInt32LE(FLAGS_OFFSET);
  const unicode = hasFlag(flags, NegotiateFlags.NEGOTIATE_UNICODE);
  const targetName = decodeName(
    readPayloadField(token, TARGET_NAME_FIELD, 'target name', {
      maxBytes: MAX_NAME_BYTES,
      payloadStart: MIN_LENGTH,
    }),
    unicode,
    'target name',
  );
  const targetInfo = readPayloadField(token, TARGET_INFO_FIELD, 'target info', {
    maxBytes: MAX_TOKEN_BYTES,
    payloadStart: MIN_LENGTH,
  });
  if (targetInfo.length > 0) decodeAvPairs(targetInfo); // validate now; callers keep the raw bytes
  const hasVersion = hasFlag(flags, NegotiateFlags.NEGOTIATE_VERSION) && token.length >= HEADER_LENGTH;
  return {
    flags,
    targetName,
    serverChallenge: Buffer.from(token.subarray(CHALLENGE_OFFSET, CHALLENGE_OFFSET + 8)),
    targetInfo: Buffer.from(targetInfo),
    version: hasVersion ? Buffer.from(token.subarray(VERSION_OFFSET, HEADER_LENGTH)) : undefined,
  };
}

export function challengeAvPairs(message: ChallengeMessage): AvPair[] {
  return message.targetInfo.length > 0 ? decodeAvPairs(message.targetInfo) : [];
}
