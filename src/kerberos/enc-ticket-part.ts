import {
  readBitString,
  readFields,
  readKerberosString,
  readKerberosTime,
  readOne,
  TagClass,
} from '../asn1/der.js';
import { type AuthorizationDataEntry, readAuthorizationData, readEncryptionKey } from './asn1-types.js';
import type { EncryptionKey } from './enctypes.js';
import { type PrincipalName, readPrincipalName } from './principal.js';

/** EncTicketPart (RFC 4120 5.3): what the KDC sealed for us with the service key. */
export interface EncTicketPart {
  readonly flags: Buffer;
  readonly key: EncryptionKey;
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly authtime: Date;
  readonly starttime: Date | undefined;
  readonly endtime: Date;
  readonly renewTill: Date | undefined;
  readonly authorizationData: readonly AuthorizationDataEntry[];
}

export function decodeEncTicketPart(bytes: Buffer): EncTicketPart {
  const { reader: outer } = readOne(bytes, 'EncTicketPart', TagClass.APPLICATION, 3);
  const sequence = outer.next('EncTicketPart');
  outer.end('EncTicketPart');
  const f = readFields(
    outer,
    sequence,
    'EncTicketPart',
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    [0, 1, 2, 3, 4, 5, 7],
  );
  const time = (tag: number, name: string) => {
    const value = f.get(tag);
    return value ? readKerberosTime(value, `EncTicketPart ${name}`) : undefined;
  };
  const ad = f.get(10);
  return {
    flags: readBitString(f.get(0)!, 'EncTicketPart flags'),
    key: readEncryptionKey(outer, f.get(1)!, 'EncTicketPart key'),
    crealm: readKerberosString(f.get(2)!, 'EncTicketPart crealm'),
    cname: readPrincipalName(outer, f.get(3)!, 'EncTicketPart cname'),
    authtime: time(5, 'authtime')!,
    starttime: time(6, 'starttime'),
    endtime: time(7, 'endtime')!,
    renewTill: time(8, 'renew-till'),
    authorizationData: ad ? readAuthorizationData(outer, ad, 'EncTicketPart authorization-data') : [],
  };
}
