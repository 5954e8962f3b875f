import { encodeEncryptedData, encodeEncryptionKey } from './asn1-types.js';
import { der } from './der.js';
import { type EncryptionKey, encrypt, KeyUsage } from './enctypes.js';

/**
 * KRB_AP_REP (RFC 4120 5.5.2) for mutual authentication: EncAPRepPart echoes the client's ctime
 * and cusec (proof that we could read its authenticator), sealed with the ticket session key
 * (usage 12). As MIT's krb5_mk_rep does without an acceptor subkey, it carries the
 * authenticator's subkey back and our own sequence number.
 */
export function encodeApRep(
  sessionKey: EncryptionKey,
  part: { ctime: Date; cusec: number; subkey: EncryptionKey | undefined; seqNumber: number },
): Buffer {
  const encApRepPart = der.application(
    27,
    der.sequence(
      der.context(0, der.kerberosTime(part.ctime)),
      der.context(1, der.integer(part.cusec)),
      ...(part.subkey ? [der.context(2, encodeEncryptionKey(part.subkey))] : []),
      der.context(3, der.integer(part.seqNumber >>> 0)),
    ),
  );
  const cipher = encrypt(sessionKey, KeyUsage.AP_REP_ENC_PART, encApRepPart);
  return der.application(
    15,
    der.sequence(
      der.context(0, der.integer(5)),
      der.context(1, der.integer(15)),
      der.context(2, encodeEncryptedData({ etype: sessionKey.etype, kvno: undefined, cipher })),
    ),
  );
}
