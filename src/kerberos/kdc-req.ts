import { der } from '../asn1/der.js';
import { encodeEncryptedData } from './asn1-types.js';
import { type EncryptionKey, encrypt, KeyUsage, makeChecksum } from './enctypes.js';
import type { PaData } from './krb-error.js';
import { encodePrincipalName, type PrincipalName } from './principal.js';

/** KRB_AS_REQ and KRB_TGS_REQ (RFC 4120 5.4.1), as a client sends them, and their PA-DATA. */

const PVNO = 5;
const MSG_TYPE = { AS_REQ: 10, TGS_REQ: 12, AP_REQ: 14 } as const;

/**
 * KDCOptions bit 15, canonicalize (RFC 6806 3): lets the KDC answer an enterprise name
 * (`alice@example.test`, the UPN) with the account's own principal.
 */
const KDC_OPTION_CANONICALIZE = Buffer.from([0x00, 0x01, 0x00, 0x00]);
const NO_KDC_OPTIONS = Buffer.alloc(4);

export interface KdcReqBody {
  /** The client (AS-REQ only). */
  readonly cname?: PrincipalName;
  readonly realm: string;
  readonly sname: PrincipalName;
  readonly till: Date;
  readonly nonce: number;
  /** The enctypes we accept for the reply and session key, preferred first. */
  readonly etypes: readonly number[];
  readonly canonicalize: boolean;
}

/** KDC-REQ-BODY, DER: the TGS-REQ's authenticator checksums exactly these bytes. */
export function encodeKdcReqBody(body: KdcReqBody): Buffer {
  return der.sequence(
    der.context(0, der.bitString(body.canonicalize ? KDC_OPTION_CANONICALIZE : NO_KDC_OPTIONS)),
    ...(body.cname ? [der.context(1, encodePrincipalName(body.cname))] : []),
    der.context(2, der.kerberosString(body.realm)),
    der.context(3, encodePrincipalName(body.sname)),
    der.context(5, der.kerberosTime(body.till)),
    der.context(7, der.integer(body.nonce)),
    der.context(8, der.sequence(...body.etypes.map((etype) => der.integer(etype)))),
  );
}

function encodeKdcReq(msgType: number, padata: readonly PaData[], body: Buffer): Buffer {
  return der.application(
    msgType,
    der.sequence(
      der.context(1, der.integer(PVNO)),
      der.context(2, der.integer(msgType)),
      ...(padata.length
        ? [
            der.context(
              3,
              der.sequence(
                ...padata.map((pa) =>
                  der.sequence(
                    der.context(1, der.integer(pa.type)),
                    der.context(2, der.octetString(pa.value)),
                  ),
                ),
              ),
            ),
          ]
        : []),
      der.context(4, body),
    ),
  );
}

export function encodeAsReq(padata: readonly PaData[], body: KdcReqBody): Buffer {
  return encodeKdcReq(MSG_TYPE.AS_REQ, padata, encodeKdcReqBody(body));
}

export function encodeTgsReq(padata: readonly PaData[], body: Buffer): Buffer {
  return encodeKdcReq(MSG_TYPE.TGS_REQ, padata, body);
}

/** PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2): the time now, sealed with the key from the password (usage 1). */
export function encTimestamp(key: EncryptionKey, now: Date): Buffer {
  const seconds = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const usec = (now.getTime() % 1000) * 1000;
  const plain = der.sequence(der.context(0, der.kerberosTime(seconds)), der.context(1, der.integer(usec)));
  return encodeEncryptedData({
    etype: key.etype,
    kvno: undefined,
    cipher: encrypt(key, KeyUsage.PA_ENC_TIMESTAMP, plain),
  });
}

/**
 * PA-TGS-REQ (RFC 4120 5.5.1, 3.3.1): an AP-REQ with the TGT and an authenticator under its
 * session key (usage 7) whose checksum covers the req-body (usage 6), binding the request to
 * the holder of the TGT.
 */
export function tgsApReq(
  tgt: { readonly bytes: Buffer; readonly sessionKey: EncryptionKey },
  client: { readonly cname: PrincipalName; readonly crealm: string },
  reqBody: Buffer,
  now: Date,
): Buffer {
  const cksum = makeChecksum(tgt.sessionKey, KeyUsage.TGS_REQ_AUTH_CHECKSUM, reqBody);
  const authenticator = der.application(
    2,
    der.sequence(
      der.context(0, der.integer(PVNO)),
      der.context(1, der.kerberosString(client.crealm)),
      der.context(2, encodePrincipalName(client.cname)),
      der.context(
        3,
        der.sequence(
          der.context(0, der.integer(cksum.cksumtype)),
          der.context(1, der.octetString(cksum.checksum)),
        ),
      ),
      der.context(4, der.integer((now.getTime() % 1000) * 1000)),
      der.context(5, der.kerberosTime(new Date(Math.floor(now.getTime() / 1000) * 1000))),
    ),
  );
  return der.application(
    MSG_TYPE.AP_REQ,
    der.sequence(
      der.context(0, der.integer(PVNO)),
      der.context(1, der.integer(MSG_TYPE.AP_REQ)),
      der.context(2, der.bitString(NO_KDC_OPTIONS)),
      der.context(3, tgt.bytes),
      der.context(
        4,
        encodeEncryptedData({
          etype: tgt.sessionKey.etype,
          kvno: undefined,
          cipher: encrypt(tgt.sessionKey, KeyUsage.TGS_REQ_AUTHENTICATOR, authenticator),
        }),
      ),
    ),
  );
}
