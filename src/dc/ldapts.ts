import { lazyRequire } from '../lazy-require.js';

/**
 * ldapts, loaded when a DC verifier first talks LDAP. We use its BER codec and filters for our
 * own relay client, and its Client for ordinary searches as the lookup account; see
 * ldap-connection.ts for why its Client cannot carry the relayed NTLM tokens.
 */
export const ldapts = lazyRequire<typeof import('ldapts')>('ldapts');
