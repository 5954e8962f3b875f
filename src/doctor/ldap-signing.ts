import type tls from 'node:tls';
import { LdapConnection } from '../dc/ldap-connection.js';
import { describeResult, probeSigning, SIGNING_REQUIRED_FIX } from '../dc/signing-probe.js';
import { type CheckResult, describeError, fail, pass } from './check.js';

const CHECK = 'LDAP signing';

/**
 * Binds as the relay would for a client that does not sign (see probeSigning, which readiness
 * uses too): a DC that requires signing answers strongerAuthRequired, as it would to every curl
 * or browser logon.
 */
export async function checkLdapSigning(
  url: string,
  options: { connectTimeoutMs: number; operationTimeoutMs: number; tls?: tls.ConnectionOptions },
): Promise<CheckResult> {
  let connection: LdapConnection | undefined;
  try {
    connection = await LdapConnection.connect({ url, ...options });
    const answer = await probeSigning(connection);
    if (answer.verdict === 'required')
      return fail(
        CHECK,
        'this DC requires LDAP signing',
        `${SIGNING_REQUIRED_FIX}; the DC answered ${describeResult(answer.result)}`,
      );
    if (answer.verdict === 'not-required')
      return pass(
        CHECK,
        `not required: an unsigned relayed bind gets a verdict (${describeResult(answer.result)})`,
      );
    return answer.step === 'NEGOTIATE'
      ? fail(
          CHECK,
          `the DC answered our NEGOTIATE with ${describeResult(answer.result)}`,
          'the relay needs SASL GSS-SPNEGO with NTLM: use an Active Directory or Samba AD DC',
        )
      : fail(
          CHECK,
          `the DC answered the relayed AUTHENTICATE with ${describeResult(answer.result)}`,
          'look up that result in the DC’s LDAP policy (LDAP channel binding, LDAP signing) before relying on the relay',
        );
  } catch (error) {
    return fail(
      CHECK,
      `the test bind broke off: ${describeError(error)}`,
      'check that the DC answers LDAP here',
    );
  } finally {
    connection?.close();
  }
}
