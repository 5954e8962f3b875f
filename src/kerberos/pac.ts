import { DerReader } from '../asn1/der.js';
import { InvalidTokenError } from '../errors.js';
import { type AuthorizationDataEntry, readAuthorizationData } from './asn1-types.js';
import { ChecksumType, type EncryptionKey, KeyUsage, verifyChecksum } from './enctypes.js';
import { decodeLogonInfo, type KerbValidationInfo } from './pac-logon-info.js';

/**
 * The Privilege Attribute Certificate (MS-PAC): how a Windows KDC tells the service who the user
 * is (SID, groups) inside the ticket. Only the parts an acceptor needs: the buffer table, the
 * LOGON_INFO, CLIENT_INFO and UPN_DNS_INFO buffers, and the server signature, which proves that
 * the PAC was made by someone holding our service key (the KDC) and not edited since.
 */

export const PacBufferType = {
  LOGON_INFO: 1,
  SERVER_CHECKSUM: 6,
  PRIVSVR_CHECKSUM: 7,
  CLIENT_INFO: 10,
  UPN_DNS_INFO: 12,
} as const;

/** AuthorizationData types (RFC 4120 7.5.4; MS-PAC 2.1 for AD-WIN2K-PAC). */
const AD_IF_RELEVANT = 1;
const AD_WIN2K_PAC = 128;

const MAX_BUFFERS = 64;

export interface PacClientInfo {
  /** FILETIME of the ticket's authtime. */
  readonly clientId: bigint;
  readonly name: string;
}

export interface PacUpnDnsInfo {
  readonly upn: string;
  readonly dnsDomainName: string;
  readonly flags: number;
  /** With the S flag (2): the sAMAccountName and the user's SID (MS-PAC 2.10). */
  readonly samName: string | undefined;
  readonly sid: Buffer | undefined;
}

export interface Pac {
  readonly logonInfo: KerbValidationInfo;
  readonly clientInfo: PacClientInfo;
  readonly upnDnsInfo: PacUpnDnsInfo | undefined;
}

const bad = (message: string) => new InvalidTokenError(`PAC: ${message}`, 'ERR_KRB_INVALID_TOKEN');

/**
 * The AD-WIN2K-PAC inside the ticket's AD-IF-RELEVANT elements; undefined when there is none.
 * More than one PAC is refused: which one would be the truth?
 */
export function findPac(authorizationData: readonly AuthorizationDataEntry[]): Buffer | undefined {
  const found: Buffer[] = [];
  for (const entry of authorizationData) {
    if (entry.adType !== AD_IF_RELEVANT) continue;
    const reader = new DerReader(entry.adData);
    const inner = readAuthorizationData(reader, reader.next('AD-IF-RELEVANT'), 'AD-IF-RELEVANT');
    reader.end('AD-IF-RELEVANT');
    for (const element of inner) if (element.adType === AD_WIN2K_PAC) found.push(element.adData);
  }
  if (found.length > 1) throw bad(`${found.length} PACs in one ticket`);
  return found[0];
}

interface PacBuffer {
  readonly type: number;
  readonly offset: number;
  readonly data: Buffer;
}

/** PACTYPE (MS-PAC 2.3) and its PAC_INFO_BUFFERs (2.4): every buffer inside the PAC, each type once. */
function readBuffers(pac: Buffer): PacBuffer[] {
  if (pac.length < 8) throw bad('shorter than its header');
  const count = pac.readUInt32LE(0);
  if (pac.readUInt32LE(4) !== 0) throw bad('version is not 0');
  if (count > MAX_BUFFERS || 8 + count * 16 > pac.length) throw bad(`${count} buffers do not fit`);
  const buffers: PacBuffer[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const type = pac.readUInt32LE(at);
    const size = pac.readUInt32LE(at + 4);
    const offset = pac.readBigUInt64LE(at + 8);
    if (offset % 8n !== 0n || offset < BigInt(8 + count * 16) || offset + BigInt(size) > BigInt(pac.length)) {
      throw bad(
        `buffer type ${type} (offset ${offset}, size ${size}) lies outside the ${pac.length}-byte PAC`,
      );
    }
    if (buffers.some((b) => b.type === type)) throw bad(`buffer type ${type} appears twice`);
    buffers.push({ type, offset: Number(offset), data: pac.subarray(Number(offset), Number(offset) + size) });
  }
  return buffers;
}

/** PAC_SIGNATURE_DATA (MS-PAC 2.8): SignatureType, then the signature of that type's size. */
function readSignature(buffer: PacBuffer): { type: number; signature: Buffer; at: number } {
  if (buffer.data.length < 4) throw bad('signature buffer too short');
  const type = buffer.data.readInt32LE(0);
  const size =
    type === ChecksumType.HMAC_SHA1_96_AES128 || type === ChecksumType.HMAC_SHA1_96_AES256
      ? 12
      : type === ChecksumType.HMAC_MD5
        ? 16
        : undefined;
  if (size === undefined) throw bad(`signature type ${type} is not supported`);
  if (buffer.data.length < 4 + size) throw bad('signature shorter than its type');
  return { type, signature: buffer.data.subarray(4, 4 + size), at: buffer.offset + 4 };
}

/**
 * Verifies the server signature (MS-PAC 2.8.1): a keyed checksum with the service key, usage 17,
 * over the whole PAC with the server and KDC signature fields zeroed. Returns false when wrong.
 * (The KDC signature needs the krbtgt key, which a service never has; MS-KILE leaves it to the
 * DC, and a service that trusts its own key's signature trusts the KDC that knows that key.)
 */
export function verifyServerSignature(pac: Buffer, serviceKey: EncryptionKey): boolean {
  const buffers = readBuffers(pac);
  const server = buffers.find((b) => b.type === PacBufferType.SERVER_CHECKSUM);
  const kdc = buffers.find((b) => b.type === PacBufferType.PRIVSVR_CHECKSUM);
  if (!server || !kdc) return false;
  const serverSignature = readSignature(server);
  const kdcSignature = readSignature(kdc);
  const zeroed = Buffer.from(pac);
  zeroed.fill(0, serverSignature.at, serverSignature.at + serverSignature.signature.length);
  zeroed.fill(0, kdcSignature.at, kdcSignature.at + kdcSignature.signature.length);
  return verifyChecksum(
    serviceKey,
    serverSignature.type,
    KeyUsage.PAC_CHECKSUM,
    zeroed,
    serverSignature.signature,
  );
}

/** Decodes the buffers the acceptor uses. LOGON_INFO and CLIENT_INFO are required. */
export function decodePac(pac: Buffer): Pac {
  const buffers = readBuffers(pac);
  const get = (type: number) => buffers.find((b) => b.type === type)?.data;
  const logon = get(PacBufferType.LOGON_INFO);
  const client = get(PacBufferType.CLIENT_INFO);
  if (!logon) throw bad('no LOGON_INFO buffer');
  if (!client) throw bad('no CLIENT_INFO buffer');
  const upn = get(PacBufferType.UPN_DNS_INFO);
  return {
    logonInfo: decodeLogonInfo(logon),
    clientInfo: decodeClientInfo(client),
    upnDnsInfo: upn ? decodeUpnDnsInfo(upn) : undefined,
  };
}

/** PAC_CLIENT_INFO (MS-PAC 2.7): ClientId (FILETIME), NameLength, Name (UTF-16LE). */
function decodeClientInfo(data: Buffer): PacClientInfo {
  if (data.length < 10) throw bad('CLIENT_INFO too short');
  const length = data.readUInt16LE(8);
  if (length % 2 !== 0 || 10 + length > data.length) throw bad('CLIENT_INFO name runs past its buffer');
  return { clientId: data.readBigUInt64LE(0), name: data.subarray(10, 10 + length).toString('utf16le') };
}

/** UPN_DNS_INFO (MS-PAC 2.10): (length, offset) pairs relative to the buffer's start. */
function decodeUpnDnsInfo(data: Buffer): PacUpnDnsInfo {
  if (data.length < 12) throw bad('UPN_DNS_INFO too short');
  const field = (at: number, what: string) => {
    const length = data.readUInt16LE(at);
    const offset = data.readUInt16LE(at + 2);
    if (length === 0) return Buffer.alloc(0);
    if (offset + length > data.length) throw bad(`UPN_DNS_INFO ${what} runs past its buffer`);
    return data.subarray(offset, offset + length);
  };
  const flags = data.readUInt32LE(8);
  const extended = (flags & 2) !== 0;
  if (extended && data.length < 20) throw bad('UPN_DNS_INFO extended fields missing');
  return {
    upn: field(0, 'Upn').toString('utf16le'),
    dnsDomainName: field(4, 'DnsDomainName').toString('utf16le'),
    flags,
    samName: extended ? field(12, 'SamName').toString('utf16le') : undefined,
    sid: extended ? Buffer.from(field(16, 'Sid')) : undefined,
  };
}

/** FILETIME (100 ns since 1601) of a Date, for CLIENT_INFO's ClientId. */
export function toFiletime(date: Date): bigint {
  return (BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n;
}
