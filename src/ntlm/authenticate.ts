import { InvalidTokenError } from '../errors.js';
import {
  decodeName,
  encodeName,
  lowestPayloadOffset,
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

/** AUTHENTICATE_MESSAGE (Type 3), MS-NLMP 2.2.1.3. Every name in it is what the client typed. */
export interface AuthenticateMessage {
  readonly flags: number;
  readonly lmChallengeResponse: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  readonly encryptedRandomSessionKey: Buffer;
  readonly version: Buffer | undefined;
  /**
   * The 16 bytes where a MIC sits when the client sends one (MS-NLMP 2.2.1.3), or undefined when
   * the payload starts too early for it. Whether it *is* a MIC, MsvAvFlags in the NTLMv2 response says.
   */
  readonly mic: Buffer | undefined;
}

const LM_FIELD = 12;
const NT_FIELD = 20;
const DOMAIN_FIELD = 28;
const USER_FIELD = 36;
const WORKSTATION_FIELD = 44;
const SESSION_KEY_FIELD = 52;
const FLAGS_OFFSET = 60;
const FIXED_LENGTH = 64;
export const VERSION_OFFSET = 64;
export const MIC_OFFSET = 72;
const MIC_END = 88;

const ALL_FIELDS = [LM_FIELD, NT_FIELD, DOMAIN_FIELD, USER_FIELD, WORKSTATION_FIELD, SESSION_KEY_FIELD];

export function decodeAuthenticate(token: Buffer): AuthenticateMessage {
  if (readMessageType(token) !== MessageType.AUTHENTICATE) {
    throw new InvalidTokenError(
      'expected an NTLM AUTHENTICATE message (Type 3)',
      'ERR_NTLM_UNEXPECTED_MESSAGE',
    );
  }
  requireLength(token, FIXED_LENGTH, 'AUTHENTICATE message');
  const flags = token.readUInt32LE(FLAGS_OFFSET);
  const unicode = hasFlag(flags, NegotiateFlags.NEGOTIATE_UNICODE);
  const field = (descriptor: number, name: string, maxBytes: number) =>
    readPayloadField(token, descriptor, name, { maxBytes, payloadStart: FIXED_LENGTH });
  const name = (descriptor: number, what: string) =>
    decodeName(field(descriptor, what, MAX_NAME_BYTES), unicode, what);

  const lmChallengeResponse = field(LM_FIELD, 'LmChallengeResponse', 24);
  const ntChallengeResponse = field(NT_FIELD, 'NtChallengeResponse', MAX_TOKEN_BYTES);
  const encryptedRandomSessionKey = field(SESSION_KEY_FIELD, 'EncryptedRandomSessionKey', 16);
  const domain = name(DOMAIN_FIELD, 'domain name');
  const user = name(USER_FIELD, 'user name');
  const workstation = name(WORKSTATION_FIELD, 'workstation name');

  const payloadStart = lowestPayloadOffset(token, ALL_FIELDS);
  const version =
    hasFlag(flags, NegotiateFlags.NEGOTIATE_VERSION) && payloadStart >= MIC_OFFSET
      ? token.subarray(VERSION_OFFSET, MIC_OFFSET)
      : undefined;
  const mic = payloadStart >= MIC_END ? token.subarray(MIC_OFFSET, MIC_END) : undefined;
  return {
    flags,
    lmChallengeResponse,
    ntChallengeResponse,
    domain,
    user,
    workstation,
    encryptedRandomSessionKey,
    version,
    mic,
  };
}

/** Builds a Type 3 with room for Version and MIC (zeros, to be filled by `writeMic`). */
export function encodeAuthenticate(message: {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey?: Buffer;
  version?: Buffer;
}): Buffer {
  const unicode = hasFlag(message.flags, NegotiateFlags.NEGOTIATE_UNICODE);
  const header = newMessageHeader(MIC_END, MessageType.AUTHENTICATE);
  header.writeUInt32LE(message.flags >>> 0, FLAGS_OFFSET);
  (message.version ?? Buffer.alloc(8)).copy(header, VERSION_OFFSET);
  return writePayload(header, [
    [DOMAIN_FIELD, encodeName(message.domain, unicode)],
    [USER_FIELD, encodeName(message.user, unicode)],
    [WORKSTATION_FIELD, encodeName(message.workstation, unicode)],
    [LM_FIELD, message.lmChallengeResponse],
    [NT_FIELD, message.ntChallengeResponse],
    [SESSION_KEY_FIELD, message.encryptedRandomSessionKey ?? Buffer.alloc(0)],
  ]);
}

/** A copy of the token with its MIC bytes zeroed: what the MIC is computed over (MS-NLMP 3.1.5.1.2). */
export function withZeroedMic(token: Buffer): Buffer {
  const copy = Buffer.from(token);
  copy.fill(0, MIC_OFFSET, MIC_END);
  return copy;
}

export function writeMic(token: Buffer, mic: Buffer): void {
  mic.copy(token, MIC_OFFSET);
}
