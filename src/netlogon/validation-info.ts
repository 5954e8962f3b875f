import { sidToString } from '../dc/sid.js';
import type { NdrReader, NdrWriter } from '../rpc/ndr.js';

/**
 * The fields NETLOGON_VALIDATION_SAM_INFO2/4 (MS-NRPC 2.2.1.4.12-13) share with
 * KERB_VALIDATION_INFO (MS-PAC 2.5): the same NDR layout from LogonTime through ExtraSids
 * (SAM_INFO's LMKey[8] is the PAC's Reserved1[2], Reserved4[1] is Reserved3).
 *
 * Reuse (e.g. the PAC's LOGON_INFO buffer): inside the construct that holds the structure, call
 * `readSamInfoPrefix(r)`, then read the structure's own extra fields (the PAC's
 * ResourceGroupDomainSid, ResourceGroupCount, ResourceGroupIds); when the construct has ended
 * (its deferred referents read), call the function it returned:
 * ```ts
 * const r = new NdrReader(pacLogonInfo.subarray(16), (m) => new InvalidTokenError(m)); // after the type-serialization headers
 * const finish = r.construct(() => {
 *   r.u32(); // the top-level unique pointer's referent id
 *   const prefix = readSamInfoPrefix(r);
 *   const resourceDomain = r.pointer(() => r.sid());
 *   ...
 *   return () => ({ ...prefix(), resourceGroupDomainSid: resourceDomain.value });
 * });
 * const info = finish();
 * ```
 */
export interface SamInfo {
  readonly logonTime: bigint;
  readonly logoffTime: bigint;
  readonly kickOffTime: bigint;
  readonly passwordLastSet: bigint;
  readonly passwordCanChange: bigint;
  readonly passwordMustChange: bigint;
  readonly effectiveName: string;
  readonly fullName: string;
  readonly logonScript: string;
  readonly profilePath: string;
  readonly homeDirectory: string;
  readonly homeDirectoryDrive: string;
  readonly logonCount: number;
  readonly badPasswordCount: number;
  readonly userId: number;
  readonly primaryGroupId: number;
  readonly groupIds: readonly GroupMembership[];
  /** LOGON_GUEST 0x1, LOGON_NOENCRYPTION 0x2, LOGON_EXTRA_SIDS 0x20, LOGON_RESOURCE_GROUPS 0x200... (MS-PAC 2.5). */
  readonly userFlags: number;
  /** 16 bytes; all zero in a PAC. */
  readonly userSessionKey: Buffer;
  readonly logonServer: string;
  readonly logonDomainName: string;
  /** The domain SID as text, S-1-5-21-..., or null when the DC sent none. */
  readonly logonDomainId: string | null;
  readonly userAccountControl: number;
  readonly subAuthStatus: number;
  readonly lastSuccessfulILogon: bigint;
  readonly lastFailedILogon: bigint;
  readonly failedILogonCount: number;
  readonly extraSids: readonly SidAndAttributes[];
}

/** GROUP_MEMBERSHIP (MS-NRPC 2.2.1.4.10). */
export interface GroupMembership {
  readonly relativeId: number;
  readonly attributes: number;
}

/** NETLOGON_SID_AND_ATTRIBUTES / KERB_SID_AND_ATTRIBUTES. */
export interface SidAndAttributes {
  readonly sid: string;
  readonly attributes: number;
}

export const UserFlags = { LOGON_GUEST: 0x1, LOGON_EXTRA_SIDS: 0x20 } as const;

/** Reads GroupCount then the GroupIds pointer; the referent must hold exactly GroupCount entries. */
function readGroupIds(r: NdrReader) {
  const count = r.u32();
  return r.pointer(() =>
    r.conformantArray(() => ({ relativeId: r.u32(), attributes: r.u32() }), 8, 'GroupIds', count),
  );
}

/** Reads the shared prefix (inline part); returns what resolves it once the construct has ended. */
export function readSamInfoPrefix(r: NdrReader): () => SamInfo {
  const logonTime = r.filetime();
  const logoffTime = r.filetime();
  const kickOffTime = r.filetime();
  const passwordLastSet = r.filetime();
  const passwordCanChange = r.filetime();
  const passwordMustChange = r.filetime();
  const effectiveName = r.unicodeString('EffectiveName');
  const fullName = r.unicodeString('FullName');
  const logonScript = r.unicodeString('LogonScript');
  const profilePath = r.unicodeString('ProfilePath');
  const homeDirectory = r.unicodeString('HomeDirectory');
  const homeDirectoryDrive = r.unicodeString('HomeDirectoryDrive');
  const logonCount = r.u16();
  const badPasswordCount = r.u16();
  const userId = r.u32();
  const primaryGroupId = r.u32();
  const groupIds = readGroupIds(r);
  const userFlags = r.u32();
  const userSessionKey = r.bytes(16, 'UserSessionKey');
  const logonServer = r.unicodeString('LogonServer');
  const logonDomainName = r.unicodeString('LogonDomainName');
  const logonDomainId = r.pointer(() => r.sid('LogonDomainId'));
  r.bytes(8, 'LMKey'); // LMKey / Reserved1: not used by NTLMv2 or Kerberos
  const userAccountControl = r.u32();
  const subAuthStatus = r.u32();
  const lastSuccessfulILogon = r.filetime();
  const lastFailedILogon = r.filetime();
  const failedILogonCount = r.u32();
  r.u32(); // Reserved4[1] / Reserved3
  const sidCount = r.u32();
  const extraSids = r.pointer(() =>
    r.conformantArray(
      () => {
        const sid = r.pointer(() => r.sid('ExtraSids[].Sid'));
        return { sid, attributes: r.u32() };
      },
      8,
      'ExtraSids',
      sidCount,
    ),
  );
  return () => {
    const domainSid = logonDomainId.value;
    return {
      logonTime,
      logoffTime,
      kickOffTime,
      passwordLastSet,
      passwordCanChange,
      passwordMustChange,
      effectiveName: effectiveName.value ?? '',
      fullName: fullName.value ?? '',
      logonScript: logonScript.value ?? '',
      profilePath: profilePath.value ?? '',
      homeDirectory: homeDirectory.value ?? '',
      homeDirectoryDrive: homeDirectoryDrive.value ?? '',
      logonCount,
      badPasswordCount,
      userId,
      primaryGroupId,
      groupIds: groupIds.value ?? [],
      userFlags,
      userSessionKey,
      logonServer: logonServer.value ?? '',
      logonDomainName: logonDomainName.value ?? '',
      logonDomainId: domainSid ? sidToString(domainSid) : null,
      userAccountControl,
      subAuthStatus,
      lastSuccessfulILogon,
      lastFailedILogon,
      failedILogonCount,
      extraSids: (extraSids.value ?? []).map(({ sid, attributes }) => {
        const bytes = sid.value;
        if (!bytes) throw r.error('ExtraSids entry with a NULL Sid');
        return { sid: sidToString(bytes), attributes };
      }),
    };
  };
}

/** NETLOGON_VALIDATION_SAM_INFO4 (MS-NRPC 2.2.1.4.13): the prefix, then DNS names and UPN. */
export interface SamInfo4 extends SamInfo {
  readonly dnsLogonDomainName: string;
  readonly upn: string;
}

/** Reads a SAM_INFO4 structure; call inside the construct holding it and resolve after it ends. */
export function readSamInfo4(r: NdrReader): () => SamInfo4 {
  const prefix = readSamInfoPrefix(r);
  const dnsLogonDomainName = r.unicodeString('DnsLogonDomainName');
  const upn = r.unicodeString('Upn');
  for (let i = 1; i <= 10; i++) r.unicodeString(`ExpansionString${i}`);
  return () => ({
    ...prefix(),
    dnsLogonDomainName: dnsLogonDomainName.value ?? '',
    upn: upn.value ?? '',
  });
}

/** The user's SID and group SIDs the way Windows builds the token: domain SID + RIDs, then ExtraSids. */
export function samInfoSids(info: SamInfo): { sid: string; groupSids: string[] } {
  if (!info.logonDomainId) throw new Error('validation info without LogonDomainId');
  const domain = info.logonDomainId;
  const groupSids = info.groupIds.map((group) => `${domain}-${group.relativeId}`);
  for (const extra of info.extraSids) if (!groupSids.includes(extra.sid)) groupSids.push(extra.sid);
  return { sid: `${domain}-${info.userId}`, groupSids };
}

/**
 * Writes a SAM_INFO4 (for tests and fixtures: a DC's answer built by hand). `sidBytes` turns SID
 * text into its binary form (sidToBuffer).
 */
export function writeSamInfo4(w: NdrWriter, info: SamInfo4, sidBytes: (sid: string) => Buffer): void {
  for (const time of [
    info.logonTime,
    info.logoffTime,
    info.kickOffTime,
    info.passwordLastSet,
    info.passwordCanChange,
    info.passwordMustChange,
  ])
    w.filetime(time);
  for (const text of [
    info.effectiveName,
    info.fullName,
    info.logonScript,
    info.profilePath,
    info.homeDirectory,
    info.homeDirectoryDrive,
  ])
    w.unicodeString(text);
  w.u16(info.logonCount);
  w.u16(info.badPasswordCount);
  w.u32(info.userId);
  w.u32(info.primaryGroupId);
  w.u32(info.groupIds.length);
  w.pointer(() => {
    w.u32(info.groupIds.length);
    for (const group of info.groupIds) {
      w.u32(group.relativeId);
      w.u32(group.attributes);
    }
  });
  w.u32(info.userFlags);
  w.bytes(info.userSessionKey);
  w.unicodeString(info.logonServer);
  w.unicodeString(info.logonDomainName);
  const domainSid = info.logonDomainId;
  w.pointer(domainSid ? () => w.sid(sidBytes(domainSid)) : null);
  w.bytes(Buffer.alloc(8));
  w.u32(info.userAccountControl);
  w.u32(info.subAuthStatus);
  w.filetime(info.lastSuccessfulILogon);
  w.filetime(info.lastFailedILogon);
  w.u32(info.failedILogonCount);
  w.u32(0);
  w.u32(info.extraSids.length);
  w.pointer(
    info.extraSids.length === 0
      ? null
      : () => {
          w.u32(info.extraSids.length);
          for (const extra of info.extraSids) {
            w.pointer(() => w.sid(sidBytes(extra.sid)));
            w.u32(extra.attributes);
          }
        },
  );
  w.unicodeString(info.dnsLogonDomainName);
  w.unicodeString(info.upn);
  for (let i = 0; i < 10; i++) w.unicodeString(null);
}
