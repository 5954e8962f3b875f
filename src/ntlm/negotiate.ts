import { InvalidTokenError } from '../errors.js';
import {
  decodeName,
  encodeName,
  lowestPayloadOffset,
  MAX_NAME_BYTES,
  MessageType,
  newMessageHeader,
  readMessageType,
  readPayloadField,
  requireLength,
  writePayload,
} from './fields.js';
import { hasFlag, NegotiateFlags } from './flags.js';

/** NEGOTIATE_MESSAGE (Type 1), MS-NLMP 2.2.1.1. */
export interface NegotiateMessage {
  readonly flags: number;
  /** OEM domain name the client offers, if NEGOTIATE_OEM_DOMAIN_SUPPLIED. Informational only. */
  readonly domain: string;
  /** OEM workstation name, if NEGOTIATE_OEM_WORKSTATION_SUPPLIED. Informational only. */
  readonly workstation: string;
  readonly version: Buffer | undefined;
}

const DOMAIN_FIELD = 16;
const WORKSTATION_FIELD = 24;
const VERSION_OFFSET = 32;

/** The shortest Type 1 (signature, type, flags): old clients send only that. */
const MIN_LENGTH = 16;
const FULL_HEADER = 32;

export function decodeNegotiate(token: Buffer): NegotiateMessage {
  if (readMessageType(token) !== MessageType.NEGOTIATE) {
    throw new InvalidTokenError('expected an NTLM NEGOTIATE message (Type 1)', 'ERR_NTLM_UNEXPECTED_MESSAGE');
  }
  requireLength(token, MIN_LENGTH, 'NEGOTIATE message');
  const flags = token.readUInt32LE(12);
  if (token.length < FULL_HEADER) return { flags, domain: '', workstation: '', version: undefined };

  const limits = { maxBytes: MAX_NAME_BYTES, payloadStart: FULL_HEADER };
  const domain = hasFlag(flags, NegotiateFlags.NEGOTIATE_OEM_DOMAIN_SUPPLIED)
    ? decodeName(readPayloadField(token, DOMAIN_FIELD, 'Type 1 domain', limits), false, 'Type 1 domain')
    : '';
  const workstation = hasFlag(flags, NegotiateFlags.NEGOTIATE_OEM_WORKSTATION_SUPPLIED)
    ? decodeName(
        readPayloadField(token, WORKSTATION_FIELD, 'Type 1 workstation', limits),
        false,
        'Type 1 workstation',
      )
    : '';
  const hasVersion =
    hasFlag(flags, NegotiateFlags.NEGOTIATE_VERSION) &&
    lowestPayloadOffset(token, [DOMAIN_FIELD, WORKSTATION_FIELD]) >= VERSION_OFFSET + 8 &&
    token.length >= VERSION_OFFSET + 8;
  const version = hasVersion ? token.subarray(VERSION_OFFSET, VERSION_OFFSET + 8) : undefined;
  return { flags, domain, workstation, version };
}

export function encodeNegotiate(message: {
  flags: number;
  domain?: string;
  workstation?: string;
  version?: Buffer;
}): Buffer {
  const header = newMessageHeader(FULL_HEADER + 8, MessageType.NEGOTIATE);
  header.writeUInt32LE(message.flags >>> 0, 12);
  (message.version ?? Buffer.alloc(8)).copy(header, VERSION_OFFSET);
  return writePayload(header, [
    [DOMAIN_FIELD, encodeName(message.domain ?? '', false)],
    [WORKSTATION_FIELD, encodeName(message.workstation ?? '', false)],
  ]);
}
