import { AuthenticationError } from '../errors.js';
import { samInfoSids } from '../netlogon/validation-info.js';
import type { EncTicketPart } from './enc-ticket-part.js';
import type { EncryptionKey } from './enctypes.js';
import { decodePac, findPac, type Pac, toFiletime, verifyServerSignature } from './pac.js';
import { LOGON_RESOURCE_GROUPS } from './pac-logon-info.js';
import { refuse } from './refuse.js';

/** Who the user is, from the PAC of a ticket that the acceptor has opened (MS-PAC, MS-KILE 3.4.5.3). */

export interface KerberosIdentity {
  /** sAMAccountName (PAC EffectiveName). */
  username: string;
  /** NetBIOS domain name (PAC LogonDomainName). */
  domain: string;
  /** Kerberos realm of the client, e.g. EXAMPLE.COM. */
  realm: string;
  userPrincipalName: string | undefined;
  sid: string;
  /**
   * Global groups (GroupIds), ExtraSids and resource groups, as SIDs. Frozen, with the identity,
   * when the acceptor returns it: a ticket kept open shares both with every logon.
   */
  readonly groupSids: readonly string[];
  /** PAC FullName. */
  displayName: string;
}

/**
 * The ticket's PAC, once its server signature verifies with our service key (MS-PAC 2.8.1: the
 * KDC made it and nobody edited it) and its CLIENT_INFO names this ticket's client.
 */
export function verifiedPac(part: EncTicketPart, serviceKey: EncryptionKey, client: string): Pac {
  let pac: Pac;
  try {
    const bytes = findPac(part.authorizationData);
    if (!bytes) refuse('ERR_KRB_BAD_PAC', 'ticket carries no PAC', client);
    if (!verifyServerSignature(bytes, serviceKey))
      refuse('ERR_KRB_BAD_PAC', 'PAC server signature is wrong', client);
    pac = decodePac(bytes);
  } catch (error) {
    if (error instanceof AuthenticationError) throw error;
    refuse('ERR_KRB_BAD_PAC', `malformed PAC: ${(error as Error).message}`, client, error);
  }
  checkClientInfo(pac, part, client);
  return pac;
}

/**
 * MS-PAC 2.7: CLIENT_INFO names the ticket's client and its authtime; a PAC cut from another
 * user's ticket fails here.
 */
function checkClientInfo(pac: Pac, part: EncTicketPart, client: string): void {
  const cname = part.cname.components.join('/');
  if (pac.clientInfo.name.toLowerCase() !== cname.toLowerCase()) {
    refuse('ERR_KRB_CLIENT_MISMATCH', `PAC is for ${pac.clientInfo.name}, ticket for ${cname}`, client);
  }
  if (pac.clientInfo.clientId !== toFiletime(part.authtime)) {
    refuse('ERR_KRB_CLIENT_MISMATCH', 'PAC CLIENT_INFO time is not the ticket authtime', client);
  }
}

/** The identity in a verified PAC's LOGON_INFO (KERB_VALIDATION_INFO) and UPN_DNS_INFO. */
export function identityFrom(pac: Pac, realm: string): KerberosIdentity {
  const info = pac.logonInfo;
  let sids: { sid: string; groupSids: string[] };
  try {
    sids = samInfoSids(info);
  } catch (error) {
    refuse('ERR_KRB_BAD_PAC', 'PAC LOGON_INFO has no LogonDomainId', undefined, error);
  }
  const groupSids = sids.groupSids;
  // MS-PAC 2.5: resource groups (domain-local groups of the resource domain) when flagged.
  if (info.userFlags & LOGON_RESOURCE_GROUPS && info.resourceGroupDomainSid) {
    for (const group of info.resourceGroupIds) {
      const sid = `${info.resourceGroupDomainSid}-${group.relativeId}`;
      if (!groupSids.includes(sid)) groupSids.push(sid);
    }
  }
  return {
    username: info.effectiveName,
    domain: info.logonDomainName,
    realm,
    userPrincipalName: pac.upnDnsInfo?.upn || undefined,
    sid: sids.sid,
    groupSids,
    displayName: info.fullName,
  };
}
