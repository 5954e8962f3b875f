// The front door of the domain-controller layer: what a verifier needs to relay logons to AD
// DCs and learn who logged on. Below it: the LDAP codec and connection, DC selection, the
// lookup account's pool, the directory cache. Every failure that leaves here is typed (401 or a
// 503 with an ERR_NTLM_DC_* / ERR_NTLM_LOOKUP_UNAVAILABLE code).
export { DirectoryCache } from './directory-cache.js';
export { type Described, DirectoryIdentity, typedDomainMatches } from './identity.js';
export { parseLdapUrl } from './ldap-connection.js';
export { LdapRelay, type OpenRelay } from './relay.js';
export { ServiceAccountDirectory } from './service-account.js';
export { GUEST_RID, relativeId } from './sid.js';
