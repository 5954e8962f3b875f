import { ConfigurationError } from '../errors.js';
import type { EncryptionKey } from './enctypes.js';

/**
 * MIT keytab files, format 0x0502 (the one ktutil, ktpass and `samba-tool domain exportkeytab`
 * write; MIT's keytab.txt). Entries are big-endian records:
 *   int32 size (negative: a deleted slot of |size| bytes), uint16 component count,
 *   counted realm, counted components, uint32 name type, uint32 timestamp, uint8 kvno,
 *   uint16 enctype, counted key, then optionally a uint32 kvno that supersedes the 8-bit one.
 * A keytab is configuration: a bad one is a ConfigurationError at start-up.
 */

export interface KeytabEntry {
  /** Name components, e.g. ['HTTP', 'web.example.com']. */
  readonly components: readonly string[];
  readonly realm: string;
  readonly nameType: number;
  readonly timestamp: Date;
  readonly kvno: number;
  readonly key: EncryptionKey;
}

/** More than any real keytab holds; a bound on what a corrupt file can make us allocate. */
const MAX_ENTRIES = 4096;
const MAX_ENTRY_BYTES = 64 * 1024;

export function parseKeytab(file: Buffer): KeytabEntry[] {
  const fail = (message: string) => new ConfigurationError(`keytab: ${message}`);
  if (file.length < 2) throw fail('empty file');
  const version = file.readUInt16BE(0);
  if (version === 0x0501)
    throw fail('format 0x0501 (native byte order, 1990s) is not supported; write a 0x0502 keytab');
  if (version !== 0x0502) throw fail(`not an MIT keytab (version 0x${version.toString(16)})`);
  const entries: KeytabEntry[] = [];
  let pos = 2;
  while (pos < file.length) {
    // A trailing zero size (or a partial size field) ends the file: MIT pads with zeros.
    if (pos + 4 > file.length) break;
    const size = file.readInt32BE(pos);
    pos += 4;
    if (size === 0) break;
    const length = Math.abs(size);
    if (length > MAX_ENTRY_BYTES || pos + length > file.length) {
      throw fail(`entry of ${length} bytes at offset ${pos - 4} runs past the ${file.length}-byte file`);
    }
    const record = file.subarray(pos, pos + length);
    pos += length;
    if (size < 0) continue; // a hole left by a deleted entry
    if (entries.length >= MAX_ENTRIES) throw fail(`more than ${MAX_ENTRIES} entries`);
    entries.push(parseEntry(record, fail));
  }
  return entries;
}

function parseEntry(record: Buffer, fail: (message: string) => ConfigurationError): KeytabEntry {
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > record.length) throw fail('entry truncated');
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return record.readUInt16BE(pos - 2);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return record.readUInt32BE(pos - 4);
  };
  const counted = () => {
    const n = u16();
    need(n);
    pos += n;
    return record.subarray(pos - n, pos);
  };
  const count = u16();
  if (count === 0 || count > 16) throw fail(`principal with ${count} components`);
  const realm = counted().toString('utf8');
  const components: string[] = [];
  for (let i = 0; i < count; i++) components.push(counted().toString('utf8'));
  const nameType = u32();
  const timestamp = new Date(u32() * 1000);
  need(1);
  let kvno = record[pos++]!;
  const etype = u16();
  const value = Buffer.from(counted()); // a copy: the file buffer may be reused by the caller
  // The 32-bit kvno, when present and non-zero, is the real one (kvno > 255 after many rotations).
  if (record.length - pos >= 4) {
    const wide = record.readUInt32BE(pos);
    if (wide !== 0) kvno = wide;
  }
  return { components, realm, nameType, timestamp, kvno, key: { etype, value } };
}

/** `HTTP/web.example.com@EXAMPLE.COM` for log lines and messages. */
export function principalText(components: readonly string[], realm: string): string {
  return `${components.join('/')}@${realm}`;
}

/**
 * AD treats SPNs and realms case-insensitively (the KDC matched `http/WEB` to the account already);
 * comparing the same way here avoids refusing a ticket the KDC issued for our own key.
 */
export function samePrincipal(
  a: { components: readonly string[]; realm: string },
  b: { components: readonly string[]; realm: string },
): boolean {
  return (
    a.realm.toUpperCase() === b.realm.toUpperCase() &&
    a.components.length === b.components.length &&
    a.components.every((part, i) => part.toLowerCase() === b.components[i]!.toLowerCase())
  );
}
