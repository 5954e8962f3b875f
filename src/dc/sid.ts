/** Security identifiers (MS-DTYP 2.4.2): binary ↔ `S-1-5-21-...` text. */

export const ANONYMOUS_SID = 'S-1-5-7';
export const GUEST_RID = 501;

export function sidToString(bytes: Buffer): string {
  if (bytes.length < 8 || bytes.length !== 8 + bytes[1]! * 4)
    throw new Error(`malformed SID of ${bytes.length} bytes`);
  const authority = bytes.readUIntBE(2, 6);
  const parts = [`S-${bytes[0]}-${authority}`];
  for (let i = 0; i < bytes[1]!; i++) parts.push(String(bytes.readUInt32LE(8 + i * 4)));
  return parts.join('-');
}

export function sidToBuffer(sid: string): Buffer {
  const match = /^S-(\d+)-(\d+)((?:-\d+)*)$/.exec(sid);
  if (!match) throw new Error(`malformed SID ${sid}`);
  const subs = match[3] ? match[3].slice(1).split('-').map(Number) : [];
  const bytes = Buffer.alloc(8 + subs.length * 4);
  bytes[0] = Number(match[1]);
  bytes[1] = subs.length;
  bytes.writeUIntBE(Number(match[2]), 2, 6);
  for (const [i, sub] of subs.entries()) bytes.writeUInt32LE(sub, 8 + i * 4);
  return bytes;
}

/** The last sub-authority: 500 Administrator, 501 Guest, 513 Domain Users... */
export function relativeId(sid: string): number {
  return Number(sid.slice(sid.lastIndexOf('-') + 1));
}
