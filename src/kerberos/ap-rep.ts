import { readFields, readInteger, readKerberosTime, readOne, TagClass } from '../asn1/der.js';
import { DerWriter } from '../asn1/der-writer.js';
import {
  readEncryptedData,
  readEncryptionKey,
  writeEncryptedData,
  writeEncryptionKey,
} from './asn1-types.js';
import { decrypt, type EncryptionKey, encrypt, KeyUsage } from './enctypes.js';

/**
 * KRB_AP_REP (RFC 4120 5.5.2) for mutual authentication: EncAPRepPart echoes the client's ctime
 * and cusec (proof that we could read its authenticator), sealed with the ticket session key
 * (usage 12). As MIT's krb5_mk_rep does without an acceptor subkey, it carries the
 * authenticator's subkey back and our own sequence number.
 */
export function writeApRep(
  /** Where the AP-REP goes, after what the writer holds already (a GSS token's head). */
  writer: DerWriter,
  sessionKey: EncryptionKey,
  part: { ctime: Date; cusec: number; subkey: EncryptionKey | undefined; seqNumber: number },
): void {
  const cipher = encrypt(sessionKey, KeyUsage.AP_REP_ENC_PART, encApRepPart(part));
  const message = writer.application(15);
  const sequence = writer.sequence();
  writer.contextInteger(0, 5); // pvno
  writer.contextInteger(1, 15); // msg-type KRB_AP_REP
  const field = writer.context(2);
  writeEncryptedData(writer, { etype: sessionKey.etype, kvno: undefined, cipher });
  writer.end(field);
  writer.end(sequence);
  writer.end(message);
}

/** EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime [0], cusec [1], subkey [2] OPTIONAL, seq-number [3] OPTIONAL } */
function encApRepPart(part: {
  ctime: Date;
  cusec: number;
  subkey: EncryptionKey | undefined;
  seqNumber: number;
}): Buffer {
  const writer = new DerWriter(96);
  const message = writer.application(27);
  const sequence = writer.sequence();
  let field = writer.context(0);
  writer.kerberosTime(part.ctime);
  writer.end(field);
  writer.contextInteger(1, part.cusec);
  if (part.subkey) {
    field = writer.context(2);
    writeEncryptionKey(writer, part.subkey);
    writer.end(field);
  }
  writer.contextInteger(3, part.seqNumber >>> 0);
  writer.end(sequence);
  writer.end(message);
  return writer.result();
}

/** Reads an AP-REP and its EncAPRepPart (what a client does; for tests and clients of our own). */
export function decodeApRep(
  bytes: Buffer,
  sessionKey: EncryptionKey,
): { ctime: Date; cusec: number; subkey: EncryptionKey | undefined; seqNumber: number | undefined } {
  const { reader: outer } = readOne(bytes, 'AP-REP', TagClass.APPLICATION, 15);
  const fields = readFields(outer, outer.next('AP-REP'), 'AP-REP', [0, 1, 2], [0, 1, 2]);
  outer.end('AP-REP');
  if (readInteger(fields.get(1)!, 'AP-REP msg-type') !== 15) throw outer.fail('AP-REP: wrong msg-type');
  const encPart = readEncryptedData(outer, fields.get(2)!, 'AP-REP enc-part');
  const plain = decrypt(sessionKey, KeyUsage.AP_REP_ENC_PART, encPart.cipher);
  if (!plain) throw outer.fail('AP-REP: enc-part does not decrypt with the session key');
  const { reader } = readOne(plain, 'EncAPRepPart', TagClass.APPLICATION, 27);
  const f = readFields(reader, reader.next('EncAPRepPart'), 'EncAPRepPart', [0, 1, 2, 3], [0, 1]);
  reader.end('EncAPRepPart');
  const subkey = f.get(2);
  const seq = f.get(3);
  return {
    ctime: readKerberosTime(f.get(0)!, 'EncAPRepPart ctime'),
    cusec: readInteger(f.get(1)!, 'EncAPRepPart cusec'),
    subkey: subkey ? readEncryptionKey(reader, subkey, 'EncAPRepPart subkey') : undefined,
    seqNumber: seq ? readInteger(seq, 'EncAPRepPart seq-number') >>> 0 : undefined,
  };
}
