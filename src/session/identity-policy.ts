import { ANONYMOUS_SID, GUEST_RID, relativeId } from '../dc/sid.js';
import { type AuthenticationCode, AuthenticationError } from '../errors.js';
import type { NtlmIdentity } from '../types.js';

/** What the identity policy is given, once, at start-up. */
export interface IdentityPolicyOptions {
  /**
   * The domains this site is configured for: the verifier's (NetBIOS and DNS names) and the
   * keytab's realms. A bare `alice` in allowUsers means alice of one of these.
   */
  readonly ownDomains: readonly string[];
  /** Other domains (NetBIOS or DNS names) whose users may log on too (`trustedDomains`). */
  readonly trustedDomains: readonly string[];
  /** Whether accounts whose name ends in `$` (computers, gMSAs, trust accounts) may log on. */
  readonly allowComputerAccounts: boolean;
}

const lowerCased = (names: readonly string[]) => new Set(names.map((name) => name.toLowerCase()));

/**
 * Who may log on at all, whatever proved it (NTLM through any verifier, Kerberos, or a mechanism
 * yet to come): checked once, on the identity a mechanism hands back, before the connection gets
 * it or a token is issued. Samba's NTLMSSP server refuses what policy forbids in one visible place;
 * this is that place for the identity. Every refusal is a 401 with its own code, never a 403:
 * such a logon is not "a user without access" but one we do not take as a user of this site.
 */
export class IdentityPolicy {
  readonly #own: ReadonlySet<string>;
  readonly #accepted: ReadonlySet<string>;
  readonly #allowComputerAccounts: boolean;

  constructor(options: IdentityPolicyOptions) {
    this.#own = lowerCased(options.ownDomains);
    this.#accepted = lowerCased([...options.ownDomains, ...options.trustedDomains]);
    this.#allowComputerAccounts = options.allowComputerAccounts;
  }

  /** Whether `domain` (NetBIOS or DNS name, any case) is one the site is configured for, not merely trusted. */
  isOwnDomain(domain: string): boolean {
    return this.#own.has(domain.toLowerCase());
  }

  /** Throws AuthenticationError (401) when `identity` must not log on. */
  check(identity: NtlmIdentity): void {
    const claimedUser = identity.username;
    const refuse = (code: AuthenticationCode, message: string): never => {
      throw new AuthenticationError(code, message, { claimedUser });
    };
    const { sid } = identity;
    if (identity.username === '' || sid === ANONYMOUS_SID || identity.groupSids?.includes(ANONYMOUS_SID))
      refuse('ERR_NTLM_ANONYMOUS_REFUSED', 'the logon is anonymous');
    // By RID, for every mechanism: the built-in Guest may be renamed, its RID may not (MS-DTYP 2.4.2.4).
    if (sid?.startsWith('S-1-5-21-') && relativeId(sid) === GUEST_RID)
      refuse('ERR_NTLM_GUEST_REFUSED', 'the logon is the Guest account');
    // A computer's password is the machine's own secret; no person should be one on a web site.
    if (identity.username.endsWith('$') && !this.#allowComputerAccounts)
      refuse(
        'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED',
        `${identity.username} is a computer account (allowComputerAccounts is off)`,
      );
    // The NetBIOS domain (PAC LogonDomainName, Netlogon's validation info) and, for Kerberos,
    // the client's realm: a trust's alice is not ours unless the trust is listed.
    const domains = identity.realm === undefined ? [identity.domain] : [identity.domain, identity.realm];
    const stranger = domains.find((domain) => !this.#accepted.has(domain.toLowerCase()));
    if (stranger !== undefined)
      refuse(
        'ERR_NTLM_UNKNOWN_DOMAIN',
        `${identity.domain}\\${identity.username}: ${stranger} is neither a configured domain nor in trustedDomains`,
      );
  }
}
