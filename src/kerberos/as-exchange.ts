import { randomInt } from 'node:crypto';
import type { AuthenticationCode } from '../errors.js';
import { decrypt, type EncryptionKey, KeyUsage, keyLengthOk } from './enctypes.js';
import { decodeEncKdcRepPart, decodeKdcRep, type KdcRep, KdcRepType } from './kdc-rep.js';
import { encodeAsReq, encTimestamp, type KdcReqBody } from './kdc-req.js';
import type { KdcTransport } from './kdc-transport.js';
import { principalText, samePrincipal } from './keytab.js';
import {
  decodeKrbError,
  type EtypeInfo2Entry,
  etypeInfo2Of,
  isKrbError,
  KdcError,
  KdcErrorCode,
  PaDataType,
} from './krb-error.js';
import { NameType, type PrincipalName } from './principal.js';
import { refuse } from './refuse.js';
import { isPasswordEnctype, iterationsOf, stringToKey } from './string-to-key.js';

/**
 * The AS exchange (RFC 4120 3.1) with a password, as kinit and pam_krb5 make it: a first AS-REQ
 * without preauthentication, whose PREAUTH_REQUIRED answer says how this user's key is made
 * (ETYPE-INFO2: enctype, salt, iterations); then the AS-REQ with PA-ENC-TIMESTAMP under that key.
 * The first costs the account nothing at the domain; only the second checks the password, so a
 * wrong password is one step of the lockout counter, as one NTLM logon is. Nothing is retried.
 */

/** A TGT and what goes with it, for the TGS exchange. */
export interface Tgt {
  /** The Ticket as the KDC encoded it. */
  readonly bytes: Buffer;
  readonly sessionKey: EncryptionKey;
  readonly cname: PrincipalName;
  readonly crealm: string;
}

export interface PasswordClient {
  readonly cname: PrincipalName;
  /** Our realm: the one asked. */
  readonly realm: string;
  /** An enterprise name (a UPN): the KDC canonicalises it to the account's principal. */
  readonly canonicalize: boolean;
}

/** Enctypes asked for, preferred first: AES only (RC4 is refused, SECURITY.md). */
export const REQUESTED_ETYPES = [18, 17] as const;
/** What the tickets asked for may live: long enough for the exchange, never reused after it. */
export const TICKET_LIFETIME_MS = 10 * 60_000;

export async function requestTgt(
  kdc: KdcTransport,
  client: PasswordClient,
  password: string,
  signal: AbortSignal,
  now: () => Date = () => new Date(),
): Promise<Tgt> {
  const probe = asBody(client, now());
  const first = await kdc.exchange(encodeAsReq([], probe), signal);
  if (!isKrbError(first)) {
    // An account marked "does not require Kerberos preauthentication": the reply itself, sealed
    // with the user's key, is the proof; a wrong password fails to open it.
    const rep = decodeKdcRep(first, KdcRepType.AS_REP);
    const key = await passwordKey(password, etypeInfo2Of(rep.padata), rep.encPart.etype, client, rep);
    return openAsRep(rep, key, probe.nonce, client, 'ERR_NTLM_LOGON_FAILED');
  }
  const error = decodeKrbError(first);
  if (error.errorCode !== KdcErrorCode.PREAUTH_REQUIRED) throw KdcError.from(error, 'AS');
  const info = etypeInfo2Of(error.methodData);
  const key = await passwordKey(password, info, info?.find((e) => isPasswordEnctype(e.etype))?.etype, client);
  const body = asBody(client, now());
  const padata = [{ type: PaDataType.ENC_TIMESTAMP, value: encTimestamp(key, now()) }];
  const answer = await kdc.exchange(encodeAsReq(padata, body), signal);
  if (isKrbError(answer)) throw KdcError.from(decodeKrbError(answer), 'AS');
  // The KDC took our timestamp, so it holds this key: a reply that does not open is not its own.
  return openAsRep(
    decodeKdcRep(answer, KdcRepType.AS_REP),
    key,
    body.nonce,
    client,
    'ERR_KRB_KDC_NOT_VERIFIED',
  );
}

function asBody(client: PasswordClient, now: Date): KdcReqBody {
  return {
    cname: client.cname,
    realm: client.realm,
    sname: { nameType: NameType.SRV_INST, components: ['krbtgt', client.realm] },
    till: new Date(now.getTime() + TICKET_LIFETIME_MS),
    nonce: newNonce(),
    etypes: REQUESTED_ETYPES,
    canonicalize: client.canonicalize,
  };
}

/** A random nonce within Int32: Windows reads it signed. */
export function newNonce(): number {
  return randomInt(1, 0x7fffffff);
}

/**
 * The user's key for `etype`, from the KDC's ETYPE-INFO2 entry for it; without one the default
 * salt, realm then name components (RFC 4120 4), which AD gives every user principal.
 */
async function passwordKey(
  password: string,
  info: readonly EtypeInfo2Entry[] | undefined,
  etype: number | undefined,
  client: PasswordClient,
  rep?: KdcRep,
): Promise<EncryptionKey> {
  if (etype === undefined || !isPasswordEnctype(etype)) {
    refuse(
      'ERR_KRB_ENCTYPE_REFUSED',
      `the KDC offers no AES key for this account (${info?.map((e) => e.etype).join(', ') ?? `etype ${etype}`}): RC4 is refused`,
    );
  }
  const entry = info?.find((e) => e.etype === etype);
  const name = rep ? { cname: rep.cname, realm: rep.crealm } : { cname: client.cname, realm: client.realm };
  const salt = entry?.salt ?? `${name.realm}${name.cname.components.join('')}`;
  let iterations: number;
  try {
    iterations = iterationsOf(entry?.s2kparams);
  } catch (error) {
    refuse('ERR_KRB_KDC_NOT_VERIFIED', `ETYPE-INFO2: ${(error as Error).message}`, undefined, error);
  }
  return stringToKey(etype, password, salt, iterations);
}

/** Opens the AS-REP's enc-part with the user's key (usage 3) and checks that it answers our request. */
function openAsRep(
  rep: KdcRep,
  key: EncryptionKey,
  nonce: number,
  client: PasswordClient,
  cannotOpen: AuthenticationCode,
): Tgt {
  const claimed = principalText(rep.cname.components, rep.crealm);
  if (rep.encPart.etype !== key.etype) {
    refuse(cannotOpen, `AS-REP sealed with enctype ${rep.encPart.etype}, not ${key.etype}`, claimed);
  }
  const plain = decrypt(key, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher);
  if (!plain) refuse(cannotOpen, 'AS-REP enc-part does not open with the key from the password', claimed);
  const part = decodeEncKdcRepPart(plain);
  const krbtgt = { components: ['krbtgt', client.realm], realm: client.realm };
  if (
    part.nonce !== nonce ||
    !samePrincipal({ components: part.sname.components, realm: part.srealm }, krbtgt)
  ) {
    refuse('ERR_KRB_KDC_NOT_VERIFIED', 'AS-REP does not answer our AS-REQ (nonce or server name)', claimed);
  }
  if (!isPasswordEnctype(part.key.etype) || !keyLengthOk(part.key)) {
    refuse('ERR_KRB_ENCTYPE_REFUSED', `TGT session key of enctype ${part.key.etype} refused`, claimed);
  }
  return { bytes: rep.ticketBytes, sessionKey: part.key, cname: rep.cname, crealm: rep.crealm };
}
