// The DC's own rate for the work one relayed logon asks of it, sent straight to LDAP with no HTTP
// server in between: connect, the two SASL binds (NEGOTIATE, then AUTHENTICATE) and the rootDSE
// read of tokenGroups (who the bound connection is), then unbind. That is exactly what the
// domain-controller verifier sends per logon once its directory cache knows the user
// (src/verifiers/domain-controller.ts: #openRelay, #complete, #describeBoundUser).
import { whoIsBound } from '../../src/dc/account-lookup.js';
import { ResultCode } from '../../src/dc/dc-errors.js';
import { LdapConnection } from '../../src/dc/ldap-connection.js';
import { type ClientCredentials, type1, type3 } from '../../test/helpers/ntlm-client.js';
import { type LogonResult, runWorkers } from './ntlm-load.js';

async function ldapLogon(url: string, user: ClientCredentials): Promise<void> {
  const connection = await LdapConnection.connect({ url, connectTimeoutMs: 2000, operationTimeoutMs: 3000 });
  try {
    const negotiate = type1();
    const first = await connection.saslBind('GSS-SPNEGO', negotiate);
    if (first.result.resultCode !== ResultCode.saslBindInProgress || !first.serverSaslCreds)
      throw new Error(`NEGOTIATE bind: result ${first.result.resultCode}`);
    const authenticate = await type3(negotiate, first.serverSaslCreds, user);
    const second = await connection.saslBind('GSS-SPNEGO', authenticate);
    if (second.result.resultCode !== ResultCode.success)
      throw new Error(`AUTHENTICATE bind: result ${second.result.resultCode}`);
    const { sids } = await whoIsBound(connection);
    if (sids.length === 0) throw new Error('the bound connection has no tokenGroups');
  } finally {
    connection.close();
  }
}

export function ldapLogonLoad(options: {
  url: string;
  parallel: number;
  durationMs: number;
  users: readonly ClientCredentials[];
}): Promise<LogonResult> {
  return runWorkers(options, (user) => ldapLogon(options.url, user));
}
