/** VERSION structure, MS-NLMP 2.2.2.10: what we tell clients about ourselves (debugging only). */
export const NTLMSSP_REVISION_W2K3 = 0x0f;

export function encodeVersion(major = 10, minor = 0, build = 20348): Buffer {
  const version = Buffer.alloc(8);
  version.writeUInt8(major, 0);
  version.writeUInt8(minor, 1);
  version.writeUInt16LE(build, 2);
  version.writeUInt8(NTLMSSP_REVISION_W2K3, 7);
  return version;
}
