/** NEGOTIATE flags, MS-NLMP 2.2.2.5. Names follow the spec, without the NTLMSSP_ prefix. */
export const NegotiateFlags = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_SIGN: 0x00000010,
  NEGOTIATE_SEAL: 0x00000020,
  NEGOTIATE_DATAGRAM: 0x00000040,
  NEGOTIATE_LM_KEY: 0x00000080,
  NEGOTIATE_NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  NEGOTIATE_OEM_DOMAIN_SUPPLIED: 0x00001000,
  NEGOTIATE_OEM_WORKSTATION_SUPPLIED: 0x00002000,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  NEGOTIATE_KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

export type NegotiateFlagName = keyof typeof NegotiateFlags;

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) >>> 0 === flag;
}

/** Flag names for log lines at debug level, e.g. "NEGOTIATE_UNICODE|NEGOTIATE_NTLM". */
export function describeFlags(flags: number): string {
  const names = (Object.keys(NegotiateFlags) as NegotiateFlagName[]).filter((name) =>
    hasFlag(flags, NegotiateFlags[name]),
  );
  return `0x${(flags >>> 0).toString(16).padStart(8, '0')} ${names.join('|')}`;
}
