import { dcAnswerError, NdrReader, NdrWriter } from '../rpc/ndr.js';
import type { SyntaxId } from '../rpc/pdu.js';
import { readSamInfo4, type SamInfo4 } from './validation-info.js';

/**
 * The three MS-NRPC calls a pass-through logon needs, as NDR stubs (MS-NRPC 3.5.4.4.1,
 * 3.5.4.4.2, 3.5.4.5.1). Marshalling only: the caller owns the connection and the keys.
 */
export const NETLOGON_INTERFACE: SyntaxId = {
  uuid: '12345678-1234-abcd-ef00-01234567cffb',
  major: 1,
  minor: 0,
};

export const Opnum = {
  NetrServerReqChallenge: 4,
  NetrServerAuthenticate3: 26,
  NetrLogonSamLogonEx: 39,
} as const;

/** NETLOGON_SECURE_CHANNEL_TYPE (MS-NRPC 2.2.1.3.13). */
export const SecureChannelType = { workstation: 2 } as const;

/**
 * The NegotiateFlags we ask for (MS-NRPC 3.1.4.2), as the facts measured against Samba 4.17 and
 * Windows clients send them: 0x612fffff, among them AES (0x01000000), strong keys (0x00004000),
 * authenticated RPC / schannel (0x20000000) and SamLogonEx (0x00400000... within 0x002fffff).
 */
export const NEGOTIATE_FLAGS = 0x612fffff;
export const NegotiateFlag = {
  SUPPORTS_AES: 0x01000000,
  AUTHENTICATED_RPC: 0x20000000,
  STRONG_KEYS: 0x00004000,
} as const;

export interface NtStatusAnswer {
  /** NTSTATUS; 0 on success. */
  readonly status: number;
}

export function encodeReqChallenge(computerName: string, clientChallenge: Buffer): Buffer {
  const w = new NdrWriter();
  w.pointer(null); // PrimaryName: NULL, the DC we talk to
  w.wideString(computerName); // [in, string] wchar_t* (a reference pointer: no referent id)
  w.bytes(clientChallenge);
  return w.toBuffer();
}

export function decodeReqChallenge(stub: Buffer): NtStatusAnswer & { serverChallenge: Buffer } {
  const r = new NdrReader(stub);
  const serverChallenge = r.bytes(8, 'ServerChallenge');
  const status = r.u32();
  r.end('NetrServerReqChallenge');
  return { serverChallenge, status };
}

export function encodeAuthenticate3(request: {
  accountName: string;
  computerName: string;
  clientCredential: Buffer;
  negotiateFlags: number;
}): Buffer {
  const w = new NdrWriter();
  w.pointer(null);
  w.wideString(request.accountName);
  w.u16(SecureChannelType.workstation);
  w.wideString(request.computerName);
  w.bytes(request.clientCredential);
  w.u32(request.negotiateFlags);
  return w.toBuffer();
}

export function decodeAuthenticate3(
  stub: Buffer,
): NtStatusAnswer & { serverCredential: Buffer; negotiateFlags: number; accountRid: number } {
  const r = new NdrReader(stub);
  const serverCredential = r.bytes(8, 'ServerCredential');
  const negotiateFlags = r.u32();
  const accountRid = r.u32();
  const status = r.u32();
  r.end('NetrServerAuthenticate3');
  return { serverCredential, negotiateFlags, accountRid, status };
}

/** NETLOGON_LOGON_INFO_CLASS / NETLOGON_VALIDATION_INFO_CLASS values we use. */
const NETWORK_INFORMATION = 2;
const VALIDATION_SAM_INFO4 = 6;

/** ParameterControl (MS-NRPC 2.2.1.4.15): MSV1_0_ALLOW_SERVER_TRUST_ACCOUNT | MSV1_0_ALLOW_WORKSTATION_TRUST_ACCOUNT. */
export const PARAMETER_CONTROL = 0x00000820;

export interface NetworkLogon {
  /** The domain the client named (may be empty, NetBIOS or DNS). */
  readonly logonDomainName: string;
  readonly userName: string;
  readonly workstation: string;
  /** Our 8-byte server challenge from the CHALLENGE message. */
  readonly lmChallenge: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly lmChallengeResponse: Buffer;
}

/** NetrLogonSamLogonEx with NETLOGON_NETWORK_INFO, asking for NETLOGON_VALIDATION_SAM_INFO4. */
export function encodeSamLogonEx(computerName: string, logon: NetworkLogon): Buffer {
  const w = new NdrWriter();
  w.pointer(null); // LogonServer
  w.pointer(() => w.wideString(computerName));
  w.u16(NETWORK_INFORMATION); // LogonLevel
  w.construct(() => {
    // PNETLOGON_LEVEL: a non-encapsulated union; its u16 discriminant is not aligned beyond 2 in
    // NDR20 (Samba reads it at once after LogonLevel), the pointer arm aligns itself.
    w.u16(NETWORK_INFORMATION);
    w.pointer(() => {
      w.unicodeString(logon.logonDomainName);
      w.u32(PARAMETER_CONTROL);
      w.u32(0); // Reserved (OLD_LARGE_INTEGER)
      w.u32(0);
      w.unicodeString(logon.userName);
      w.unicodeString(logon.workstation);
      w.bytes(logon.lmChallenge);
      w.countedBytes(logon.ntChallengeResponse, 1);
      w.countedBytes(logon.lmChallengeResponse, 1);
    });
  });
  w.u16(VALIDATION_SAM_INFO4);
  w.u32(0); // ExtraFlags
  return w.toBuffer();
}

export function decodeSamLogonEx(
  stub: Buffer,
): NtStatusAnswer & { validation: SamInfo4 | null; authoritative: number } {
  const r = new NdrReader(stub, dcAnswerError);
  const resolve = r.construct(() => {
    const level = r.u16();
    const pointer = r.pointer(() => readSamInfo4(r));
    return () => {
      const finish = pointer.value;
      if (finish && level !== VALIDATION_SAM_INFO4) throw r.error(`validation level ${level}, asked for 6`);
      return finish ? finish() : null;
    };
  });
  const validation = resolve();
  const authoritative = r.u8();
  r.u32(); // ExtraFlags
  const status = r.u32();
  r.end('NetrLogonSamLogonEx');
  return { validation, authoritative, status };
}
