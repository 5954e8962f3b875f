import {
  type DerNode,
  type DerReader,
  readFields,
  readInteger,
  readOctetString,
  readSequenceOf,
} from '../asn1/der.js';
import { DerWriter } from '../asn1/der-writer.js';
import type { EncryptionKey } from './enctypes.js';

/** The small RFC 4120 5.2 types every message is built from. */

export interface EncryptedData {
  readonly etype: number;
  readonly kvno: number | undefined;
  readonly cipher: Buffer;
}

export interface Checksum {
  readonly cksumtype: number;
  readonly checksum: Buffer;
}

export interface AuthorizationDataEntry {
  readonly adType: number;
  readonly adData: Buffer;
}

/** Larger than any ticket a KDC issues (a PAC with a thousand groups is ~30 KiB). */
const MAX_AUTHORIZATION_ENTRIES = 64;

export function readEncryptedData(reader: DerReader, node: DerNode, what: string): EncryptedData {
  const fields = readFields(reader, node, what, [0, 1, 2], [0, 2]);
  const kvno = fields.get(1);
  return {
    etype: readInteger(fields.get(0)!, `${what} etype`),
    kvno: kvno ? readInteger(kvno, `${what} kvno`) >>> 0 : undefined,
    cipher: readOctetString(fields.get(2)!, `${what} cipher`),
  };
}

export function encodeEncryptedData(data: EncryptedData): Buffer {
  const writer = new DerWriter(data.cipher.length + 32);
  writeEncryptedData(writer, data);
  return writer.result();
}

export function writeEncryptedData(writer: DerWriter, data: EncryptedData): void {
  const sequence = writer.sequence();
  writer.contextInteger(0, data.etype);
  if (data.kvno !== undefined) writer.contextInteger(1, data.kvno);
  writer.contextOctetString(2, data.cipher);
  writer.end(sequence);
}

export function readEncryptionKey(reader: DerReader, node: DerNode, what: string): EncryptionKey {
  const fields = readFields(reader, node, what, [0, 1], [0, 1]);
  return {
    etype: readInteger(fields.get(0)!, `${what} keytype`),
    value: Buffer.from(readOctetString(fields.get(1)!, `${what} keyvalue`)),
  };
}

export function encodeEncryptionKey(key: EncryptionKey): Buffer {
  const writer = new DerWriter(key.value.length + 16);
  writeEncryptionKey(writer, key);
  return writer.result();
}

export function writeEncryptionKey(writer: DerWriter, key: EncryptionKey): void {
  const sequence = writer.sequence();
  writer.contextInteger(0, key.etype);
  writer.contextOctetString(1, key.value);
  writer.end(sequence);
}

export function readChecksum(reader: DerReader, node: DerNode, what: string): Checksum {
  const fields = readFields(reader, node, what, [0, 1], [0, 1]);
  return {
    cksumtype: readInteger(fields.get(0)!, `${what} cksumtype`),
    checksum: readOctetString(fields.get(1)!, `${what} checksum`),
  };
}

export function readAuthorizationData(
  reader: DerReader,
  node: DerNode,
  what: string,
): AuthorizationDataEntry[] {
  return readSequenceOf(reader, node, what, MAX_AUTHORIZATION_ENTRIES, (element) => {
    const fields = readFields(reader, element, what, [0, 1], [0, 1]);
    return {
      adType: readInteger(fields.get(0)!, `${what} ad-type`),
      adData: readOctetString(fields.get(1)!, `${what} ad-data`),
    };
  });
}
