import {
  readFields,
  readInteger,
  readKerberosString,
  readKerberosTime,
  readOne,
  TagClass,
} from '../asn1/der.js';
import { type Checksum, readChecksum, readEncryptionKey } from './asn1-types.js';
import type { EncryptionKey } from './enctypes.js';
import { type PrincipalName, readPrincipalName } from './principal.js';

/** Authenticator (RFC 4120 5.5.1), decrypted with the ticket's session key (usage 11). */
export interface Authenticator {
  readonly crealm: string;
  readonly cname: PrincipalName;
  readonly cksum: Checksum | undefined;
  readonly cusec: number;
  readonly ctime: Date;
  readonly subkey: EncryptionKey | undefined;
  /** As an unsigned 32-bit number (Windows may encode it as a negative Int32). */
  readonly seqNumber: number | undefined;
}

export function decodeAuthenticator(bytes: Buffer): Authenticator {
  const { reader: outer } = readOne(bytes, 'Authenticator', TagClass.APPLICATION, 2);
  const sequence = outer.next('Authenticator');
  outer.end('Authenticator');
  const f = readFields(outer, sequence, 'Authenticator', [0, 1, 2, 3, 4, 5, 6, 7, 8], [0, 1, 2, 4, 5]);
  if (readInteger(f.get(0)!, 'Authenticator vno') !== 5) throw outer.fail('Authenticator: vno is not 5');
  const cusec = readInteger(f.get(4)!, 'Authenticator cusec');
  if (cusec < 0 || cusec > 999_999) throw outer.fail('Authenticator: cusec out of range');
  const cksum = f.get(3);
  const subkey = f.get(6);
  const seq = f.get(7);
  return {
    crealm: readKerberosString(f.get(1)!, 'Authenticator crealm'),
    cname: readPrincipalName(outer, f.get(2)!, 'Authenticator cname'),
    cksum: cksum ? readChecksum(outer, cksum, 'Authenticator cksum') : undefined,
    cusec,
    ctime: readKerberosTime(f.get(5)!, 'Authenticator ctime'),
    subkey: subkey ? readEncryptionKey(outer, subkey, 'Authenticator subkey') : undefined,
    seqNumber: seq ? readInteger(seq, 'Authenticator seq-number') >>> 0 : undefined,
  };
}
