import {
  type DerReader,
  readBitString,
  readFields,
  readInteger,
  readKerberosString,
  readOne,
  Tag,
  TagClass,
} from '../asn1/der.js';
import { type EncryptedData, readEncryptedData } from './asn1-types.js';
import { type PrincipalName, readPrincipalName } from './principal.js';

/** KRB_AP_REQ (RFC 4120 5.5.1) and the Ticket inside it (5.3), still encrypted. */

export interface Ticket {
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly encPart: EncryptedData;
}

export interface ApReq {
  /** APOptions bits: use-session-key (1), mutual-required (2). */
  readonly useSessionKey: boolean;
  readonly mutualRequired: boolean;
  readonly ticket: Ticket;
  readonly authenticator: EncryptedData;
}

const PVNO = 5;
const MSG_TYPE_AP_REQ = 14;

export function decodeApReq(bytes: Buffer): ApReq {
  const { reader: outer } = readOne(bytes, 'AP-REQ', TagClass.APPLICATION, 14);
  const sequence = outer.next('AP-REQ');
  outer.end('AP-REQ');
  const fields = readFields(outer, sequence, 'AP-REQ', [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]);
  if (readInteger(fields.get(0)!, 'AP-REQ pvno') !== PVNO) throw outer.fail('AP-REQ: pvno is not 5');
  if (readInteger(fields.get(1)!, 'AP-REQ msg-type') !== MSG_TYPE_AP_REQ)
    throw outer.fail('AP-REQ: wrong msg-type');
  const options = readBitString(fields.get(2)!, 'AP-REQ ap-options');
  const first = options[0] ?? 0;
  return {
    useSessionKey: (first & 0x40) !== 0,
    mutualRequired: (first & 0x20) !== 0,
    ticket: readTicket(outer, fields.get(3)!),
    authenticator: readEncryptedData(outer, fields.get(4)!, 'AP-REQ authenticator'),
  };
}

/** A Ticket (RFC 4120 5.3) found by `outer`: in an AP-REQ, or in a KDC-REP. */
export function readTicket(outer: DerReader, node: ReturnType<DerReader['next']>): Ticket {
  if (node.tagClass !== TagClass.APPLICATION || node.tag !== 1 || !node.constructed) {
    throw outer.fail('Ticket: expected [APPLICATION 1]');
  }
  const reader = outer.inside(node, 'Ticket');
  const sequence = reader.expect('Ticket', TagClass.UNIVERSAL, Tag.SEQUENCE, true);
  reader.end('Ticket');
  const fields = readFields(reader, sequence, 'Ticket', [0, 1, 2, 3], [0, 1, 2, 3]);
  if (readInteger(fields.get(0)!, 'Ticket tkt-vno') !== PVNO) throw outer.fail('Ticket: tkt-vno is not 5');
  return {
    realm: readKerberosString(fields.get(1)!, 'Ticket realm'),
    sname: readPrincipalName(reader, fields.get(2)!, 'Ticket sname'),
    encPart: readEncryptedData(reader, fields.get(3)!, 'Ticket enc-part'),
  };
}
