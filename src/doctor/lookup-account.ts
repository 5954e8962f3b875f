import type tls from 'node:tls';
import { readNamingContext } from '../dc/account-lookup.js';
import { ResultCode } from '../dc/dc-errors.js';
import { ServiceAccountDirectory } from '../dc/service-account.js';
import { type CheckResult, describeError, fail, formatMs, neverAnswered, pass } from './check.js';

const CHECK = 'lookup account';

export interface LookupAccountSettings {
  readonly bindDN: string;
  readonly password: string;
  readonly tls?: tls.ConnectionOptions;
}

/**
 * Binds as the service account the relay uses for signing clients (--lookup-user) and reads the
 * naming context through it, exactly as domainController({ lookup }) will: one connection, the
 * same timeouts.
 */
export async function checkLookupAccount(
  url: string,
  account: LookupAccountSettings,
  timeouts: { connectTimeoutMs: number; operationTimeoutMs: number },
): Promise<CheckResult> {
  const directory = new ServiceAccountDirectory(
    { url, bindDN: account.bindDN, password: account.password, tls: account.tls, poolSize: 1 },
    { ...timeouts, queueTimeoutMs: timeouts.operationTimeoutMs },
  );
  const started = performance.now();
  try {
    const namingContext = await readNamingContext(directory);
    return pass(
      CHECK,
      `${account.bindDN} bound and read ${namingContext} in ${formatMs(performance.now() - started)}`,
    );
  } catch (error) {
    // The directory wraps the bind's failure in a typed 503; the LDAP result code is its cause's.
    const cause = (error as { cause?: unknown }).cause ?? error;
    const first = cause instanceof AggregateError ? cause.errors[0] : cause;
    const code = (first as { code?: unknown }).code;
    if (code === ResultCode.invalidCredentials) {
      return fail(
        CHECK,
        `the DC refused the bind of ${account.bindDN} (${describeError(error)})`,
        'check --lookup-user (a DN or user@dns.domain) and --lookup-password, and that the account is enabled and its password not expired',
      );
    }
    if (code === ResultCode.strongerAuthRequired) {
      return fail(
        CHECK,
        `the DC refuses a simple bind over ${url.startsWith('ldaps:') ? 'this connection' : 'plain LDAP'}`,
        'use an ldaps:// --lookup-url (a DC that requires signing accepts simple binds only over TLS)',
      );
    }
    if (neverAnswered(error))
      return fail(
        CHECK,
        `${account.bindDN}: no answer from ${url}: ${describeError(error)}`,
        `check that ${url} answers from this host`,
      );
    return fail(
      CHECK,
      `${account.bindDN}: ${url} answered, but the bind or the read failed: ${describeError(error)}`,
      'an untrusted or misnamed certificate needs --dc-ca or --dc-servername; otherwise look up that answer in the DC’s LDAP policy',
    );
  } finally {
    await directory.close();
  }
}
