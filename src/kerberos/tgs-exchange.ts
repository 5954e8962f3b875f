import type { Ticket } from './ap-req.js';
import { newNonce, REQUESTED_ETYPES, type Tgt, TICKET_LIFETIME_MS } from './as-exchange.js';
import { decrypt, type EncryptionKey, KeyUsage } from './enctypes.js';
import { decodeEncKdcRepPart, decodeKdcRep, KdcRepType } from './kdc-rep.js';
import { encodeKdcReqBody, encodeTgsReq, tgsApReq } from './kdc-req.js';
import type { KdcTransport } from './kdc-transport.js';
import { principalText, samePrincipal } from './keytab.js';
import { decodeKrbError, isKrbError, KdcError, PaDataType } from './krb-error.js';
import { NameType } from './principal.js';
import { refuse } from './refuse.js';

/**
 * The TGS exchange (RFC 4120 3.3) for our own service principal, with the TGT the password got:
 * the ticket that comes back is sealed with our key, which only the real KDC knows, so opening
 * it with the keytab (the caller's next step) is what proves that the KDC was the domain's.
 */

export interface ServicePrincipal {
  readonly components: readonly string[];
  readonly realm: string;
}

/** The ticket, and the session key the KDC told us is inside it. */
export interface ServiceTicket {
  readonly ticket: Ticket;
  readonly sessionKey: EncryptionKey;
}

export async function requestServiceTicket(
  kdc: KdcTransport,
  tgt: Tgt,
  service: ServicePrincipal,
  signal: AbortSignal,
  now: () => Date = () => new Date(),
): Promise<ServiceTicket> {
  const nonce = newNonce();
  const body = encodeKdcReqBody({
    realm: service.realm,
    sname: { nameType: NameType.SRV_INST, components: service.components },
    till: new Date(now().getTime() + TICKET_LIFETIME_MS),
    nonce,
    etypes: REQUESTED_ETYPES,
    canonicalize: false,
  });
  const padata = [{ type: PaDataType.TGS_REQ, value: tgsApReq(tgt, tgt, body, now()) }];
  const answer = await kdc.exchange(encodeTgsReq(padata, body), signal);
  if (isKrbError(answer)) throw KdcError.from(decodeKrbError(answer), 'TGS');
  const rep = decodeKdcRep(answer, KdcRepType.TGS_REP);
  const client = principalText(tgt.cname.components, tgt.crealm);
  const plain = decrypt(tgt.sessionKey, KeyUsage.TGS_REP_ENC_PART, rep.encPart.cipher);
  if (!plain)
    refuse('ERR_KRB_KDC_NOT_VERIFIED', 'TGS-REP enc-part does not open with the TGT session key', client);
  const part = decodeEncKdcRepPart(plain);
  const named = { components: part.sname.components, realm: part.srealm };
  const ticketFor = { components: rep.ticket.sname.components, realm: rep.ticket.realm };
  if (part.nonce !== nonce || !samePrincipal(named, service) || !samePrincipal(ticketFor, service)) {
    refuse('ERR_KRB_KDC_NOT_VERIFIED', 'TGS-REP does not answer our TGS-REQ (nonce or server name)', client);
  }
  return { ticket: rep.ticket, sessionKey: part.key };
}
