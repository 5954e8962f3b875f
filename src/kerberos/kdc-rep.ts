import {
  readBitString,
  readFields,
  readInteger,
  readKerberosString,
  readKerberosTime,
  readOne,
  TagClass,
} from '../asn1/der.js';
import { readTicket, type Ticket } from './ap-req.js';
import { type EncryptedData, readEncryptedData, readEncryptionKey } from './asn1-types.js';
import type { EncryptionKey } from './enctypes.js';
import { type PaData, readPaDataList } from './krb-error.js';
import { type PrincipalName, readPrincipalName } from './principal.js';

/** KRB_AS_REP and KRB_TGS_REP (RFC 4120 5.4.2) as a client reads them, and EncKDCRepPart. */

export interface KdcRep {
  readonly padata: readonly PaData[];
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly ticket: Ticket;
  /** The Ticket exactly as the KDC encoded it: sent back as is in the TGS-REQ. */
  readonly ticketBytes: Buffer;
  readonly encPart: EncryptedData;
}

export interface EncKdcRepPart {
  readonly key: EncryptionKey;
  readonly nonce: number;
  readonly flags: Buffer;
  readonly authtime: Date;
  readonly endtime: Date;
  readonly srealm: string;
  readonly sname: PrincipalName;
}

export const KdcRepType = { AS_REP: 11, TGS_REP: 13 } as const;

export function decodeKdcRep(bytes: Buffer, msgType: number): KdcRep {
  const what = msgType === KdcRepType.AS_REP ? 'AS-REP' : 'TGS-REP';
  const { reader } = readOne(bytes, what, TagClass.APPLICATION, msgType);
  const f = readFields(reader, reader.next(what), what, [0, 1, 2, 3, 4, 5, 6], [0, 1, 3, 4, 5, 6]);
  reader.end(what);
  if (readInteger(f.get(0)!, `${what} pvno`) !== 5) throw reader.fail(`${what}: pvno is not 5`);
  if (readInteger(f.get(1)!, `${what} msg-type`) !== msgType) throw reader.fail(`${what}: wrong msg-type`);
  const padata = f.get(2);
  const ticketNode = f.get(5)!;
  return {
    padata: padata ? readPaDataList(reader, padata, `${what} padata`) : [],
    crealm: readKerberosString(f.get(3)!, `${what} crealm`),
    cname: readPrincipalName(reader, f.get(4)!, `${what} cname`),
    ticket: readTicket(reader, ticketNode),
    ticketBytes: Buffer.from(ticketNode.raw),
    encPart: readEncryptedData(reader, f.get(6)!, `${what} enc-part`),
  };
}

/**
 * EncASRepPart [APPLICATION 25] or EncTGSRepPart [APPLICATION 26]: either tag for either reply,
 * as MIT's client accepts (Windows KDCs have sent 26 in AS-REPs).
 */
export function decodeEncKdcRepPart(bytes: Buffer): EncKdcRepPart {
  const tag = bytes[0] === 0x79 ? 25 : 26;
  const { reader } = readOne(bytes, 'EncKDCRepPart', TagClass.APPLICATION, tag);
  const f = readFields(
    reader,
    reader.next('EncKDCRepPart'),
    'EncKDCRepPart',
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    [0, 1, 2, 4, 5, 7, 9, 10],
  );
  reader.end('EncKDCRepPart');
  return {
    key: readEncryptionKey(reader, f.get(0)!, 'EncKDCRepPart key'),
    nonce: readInteger(f.get(2)!, 'EncKDCRepPart nonce') >>> 0,
    flags: readBitString(f.get(4)!, 'EncKDCRepPart flags'),
    authtime: readKerberosTime(f.get(5)!, 'EncKDCRepPart authtime'),
    endtime: readKerberosTime(f.get(7)!, 'EncKDCRepPart endtime'),
    srealm: readKerberosString(f.get(9)!, 'EncKDCRepPart srealm'),
    sname: readPrincipalName(reader, f.get(10)!, 'EncKDCRepPart sname'),
  };
}
