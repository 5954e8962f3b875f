import { AuthenticationError, InvalidTokenError, NtlmError, ServiceUnavailableError } from '../errors.js';
import type { KerberosAcceptor } from '../kerberos/acceptor.js';
import { type PasswordClient, requestTgt, type Tgt } from '../kerberos/as-exchange.js';
import type { KdcTransport } from '../kerberos/kdc-transport.js';
import { principalText } from '../kerberos/keytab.js';
import { KdcError, KdcErrorCode } from '../kerberos/krb-error.js';
import { NameType } from '../kerberos/principal.js';
import { requestServiceTicket, type ServiceTicket } from '../kerberos/tgs-exchange.js';
import type { NtlmIdentity } from '../types.js';
import { fromKerberos } from './negotiate.js';
import type { PasswordLogon, PasswordVerifier } from './password-verifier.js';

/**
 * Basic's password check with a keytab, as pam_krb5 and mod_auth_gssapi make it: an AS exchange
 * for the user with the password (a TGT), a TGS exchange for our own service principal with it,
 * and the service ticket opened with our keytab, PAC and all, by the acceptor that opens
 * Negotiate's tickets. The last step is the defence against a spoofed KDC: someone who answers
 * in the KDC's place can hand out a TGT for a password of their choosing, but not a ticket sealed
 * with our service key. The identity is the PAC's, groups included, named as Kerberos logons are.
 */
export class KerberosPasswordVerifier implements PasswordVerifier {
  constructor(
    private readonly acceptor: KerberosAcceptor,
    private readonly kdc: KdcTransport,
    private readonly nameGroups?: (identity: NtlmIdentity) => Promise<NtlmIdentity>,
  ) {}

  async verifyPassword(logon: PasswordLogon): Promise<NtlmIdentity> {
    const service = this.acceptor.servicePrincipal;
    const client = clientName(logon, service.realm);
    let tgt: Tgt;
    let issued: ServiceTicket;
    try {
      tgt = await requestTgt(this.kdc, client, logon.password, logon.signal);
      issued = await requestServiceTicket(this.kdc, tgt, service, logon.signal);
    } catch (error) {
      throw asLogonError(error, logon.username);
    }
    const verified = this.#openTicket(issued, logon.username);
    // The ticket must be for the client the password's TGT named: a TGT of another account
    // (someone's own, passed off as this user's) yields a ticket that opens, but for that account.
    const asked = principalText(tgt.cname.components, tgt.crealm);
    if (verified.clientPrincipal.toLowerCase() !== asked.toLowerCase()) {
      throw new AuthenticationError(
        'ERR_KRB_KDC_NOT_VERIFIED',
        `the service ticket is for ${verified.clientPrincipal}, the TGT for ${asked}`,
        { claimedUser: logon.username },
      );
    }
    const identity = fromKerberos(verified.identity);
    checkTypedDomain(logon, identity);
    return this.nameGroups ? this.nameGroups(identity) : identity;
  }

  /** The acceptor's checks; any refusal means the KDC that answered did not seal it with our key. */
  #openTicket(issued: ServiceTicket, claimedUser: string): ReturnType<KerberosAcceptor['verifyTicket']> {
    try {
      return this.acceptor.verifyTicket(issued.ticket, issued.sessionKey);
    } catch (error) {
      const reason = error instanceof NtlmError ? `${error.code}: ${error.message}` : String(error);
      throw new AuthenticationError(
        'ERR_KRB_KDC_NOT_VERIFIED',
        `the service ticket from the KDC does not open with our keytab (${reason}): a KDC that is not the domain's, or a keytab older than the account's key`,
        { claimedUser, cause: error },
      );
    }
  }
}

/**
 * The client principal from what the user typed: `alice@example.test` is an enterprise name
 * (RFC 6806, the UPN) that the KDC canonicalises; `alice` and `EXAMPLE\alice` are `alice` in our
 * realm (the typed domain is checked against the PAC's afterwards).
 */
function clientName(logon: PasswordLogon, realm: string): PasswordClient {
  const enterprise = logon.username.includes('@');
  return {
    cname: { nameType: enterprise ? NameType.ENTERPRISE : NameType.PRINCIPAL, components: [logon.username] },
    realm,
    canonicalize: enterprise,
  };
}

/** `OTHER\alice` must not log in as our alice: the typed domain is the PAC's (NetBIOS) or the realm. */
function checkTypedDomain(logon: PasswordLogon, identity: NtlmIdentity): void {
  if (!logon.domain) return;
  const typed = logon.domain.toUpperCase();
  if (typed === identity.domain.toUpperCase() || typed === identity.realm?.toUpperCase()) return;
  throw new AuthenticationError(
    'ERR_NTLM_UNKNOWN_DOMAIN',
    `domain ${logon.domain} typed, but the KDC of ${identity.realm} logged on ${identity.domain}\\${identity.username}`,
    { claimedUser: logon.username },
  );
}

/**
 * What a KDC's refusal means for the logon. The user's own failures are all a bare 401 (the
 * body never tells an unknown user from a wrong password); a KDC that cannot be read is a 503.
 */
function asLogonError(error: unknown, claimedUser: string): Error {
  if (error instanceof InvalidTokenError) {
    return new ServiceUnavailableError('ERR_KRB_KDC_ERROR', `malformed KDC answer: ${error.message}`, {
      cause: error,
    });
  }
  if (error instanceof NtlmError) return error;
  if (error instanceof KdcError) {
    const options = { claimedUser, cause: error };
    switch (error.errorCode) {
      case KdcErrorCode.PREAUTH_FAILED:
      case KdcErrorCode.C_PRINCIPAL_UNKNOWN:
        return new AuthenticationError('ERR_NTLM_LOGON_FAILED', error.message, options);
      case KdcErrorCode.CLIENT_REVOKED:
        return new AuthenticationError(
          'ERR_NTLM_ACCOUNT_DISABLED',
          `${error.message}: disabled, locked or expired account`,
          options,
        );
      case KdcErrorCode.KEY_EXPIRED:
        return new AuthenticationError('ERR_NTLM_PASSWORD_EXPIRED', error.message, options);
      case KdcErrorCode.S_PRINCIPAL_UNKNOWN:
      case KdcErrorCode.SKEW:
        // Ours to fix, not the user's: our SPN is unknown to the KDC, or our clock is off.
        return new ServiceUnavailableError('ERR_KRB_KDC_ERROR', error.message, { cause: error });
      default:
        return new AuthenticationError('ERR_KRB_KDC_REFUSED', error.message, options);
    }
  }
  // Anything else on the way (the client went: its signal's reason): not a verdict on the password.
  if (error instanceof Error && error.name === 'AbortError') return error;
  return new ServiceUnavailableError(
    'ERR_KRB_KDC_ERROR',
    `KDC exchange failed: ${(error as Error).message}`,
    {
      cause: error,
    },
  );
}
