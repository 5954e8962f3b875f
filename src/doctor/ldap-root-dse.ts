import type tls from 'node:tls';
import { FilterParser } from 'ldapts';
import { LdapConnection } from '../dc/ldap-connection.js';
import { Scope } from '../dc/ldap-messages.js';
import { type CheckResult, describeError, fail, pass } from './check.js';
import { checkClockSkew } from './clock-skew.js';

const CHECK = 'rootDSE';
const ANY = FilterParser.parseString('(objectClass=*)');

/**
 * Reads the rootDSE anonymously (every AD and Samba DC allows it, signing required or not): the
 * naming context the relay searches under, the DC's DNS name, whether it offers GSS-SPNEGO (the
 * mechanism the relay binds with), and its currentTime for the clock check.
 */
export async function checkRootDse(
  url: string,
  options: { connectTimeoutMs: number; operationTimeoutMs: number; tls?: tls.ConnectionOptions },
): Promise<CheckResult[]> {
  let connection: LdapConnection | undefined;
  try {
    connection = await LdapConnection.connect({ url, ...options });
    const sentAt = Date.now();
    const { result, entries } = await connection.search({
      base: '',
      scope: Scope.base,
      filter: ANY,
      attributes: ['defaultNamingContext', 'dnsHostName', 'currentTime', 'supportedSASLMechanisms'],
    });
    const receivedAt = Date.now();
    const attribute = (name: string) => entries[0]?.attributes.get(name.toLowerCase())?.map(String);
    const namingContext = attribute('defaultNamingContext')?.[0];
    if (result.resultCode !== 0 || !namingContext) {
      return [
        fail(
          CHECK,
          `no defaultNamingContext in the rootDSE (result ${result.resultCode} ${result.diagnosticMessage})`,
          'is this an Active Directory domain controller (not a plain LDAP server or a global catalog port)?',
        ),
      ];
    }
    const mechanisms = attribute('supportedSASLMechanisms') ?? [];
    const seen = `naming context ${namingContext}, DNS name ${attribute('dnsHostName')?.[0] ?? '(none)'}`;
    const rootDse = mechanisms.includes('GSS-SPNEGO')
      ? pass(CHECK, seen)
      : fail(
          CHECK,
          `${seen}, but SASL mechanisms ${mechanisms.join(', ') || '(none)'} lack GSS-SPNEGO`,
          'the relay binds with GSS-SPNEGO: use an Active Directory or Samba AD DC',
        );
    return [rootDse, checkClockSkew(attribute('currentTime')?.[0], sentAt, receivedAt)];
  } catch (error) {
    return [fail(CHECK, `cannot read it: ${describeError(error)}`, 'check that the DC answers LDAP here')];
  } finally {
    connection?.close();
  }
}
