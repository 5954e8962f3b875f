import { AuthenticationError, isNtlmError, ServiceUnavailableError } from '../errors.js';
import type { NtlmIdentity } from '../types.js';
import {
  type AccountEntry,
  type DirectorySearch,
  groupNames,
  namesBySid,
  readAccountByName,
  readAccountBySid,
  readNamingContext,
  whoIsBound,
} from './account-lookup.js';
import type { DirectoryCache } from './directory-cache.js';
import { sidSetDigest } from './directory-cache.js';
import { LdapTransportError } from './ldap-connection.js';
import { lookupUnavailable, type ServiceAccountDirectory } from './service-account.js';
import { ANONYMOUS_SID } from './sid.js';
import { SidNameResolver } from './sid-name-resolver.js';

/** What one logon learns about its user: cached as JSON, so plain data only. */
export interface Described {
  readonly account: Pick<AccountEntry, 'username' | 'sid' | 'displayName' | 'mail' | 'userPrincipalName'>;
  readonly groupSids: string[];
  readonly groups: string[];
}

/**
 * Whether the domain a client typed in its AUTHENTICATE names the domain whose account we looked
 * up: empty (a bare name, or `user@dns.domain`), or one of that domain's names (NetBIOS or DNS),
 * in any case. Anything else may be a trusted domain the DC vouched for: its `alice` is not ours.
 */
export function typedDomainMatches(typed: string, domainNames: readonly (string | undefined)[]): boolean {
  const domain = typed.trim().toLowerCase();
  return domain === '' || domainNames.some((name) => name !== undefined && name.toLowerCase() === domain);
}

/** `DC=example,DC=test` → `example.test`. */
export function dnsNameOf(namingContext: string): string | undefined {
  const labels = namingContext
    .split(',')
    .map((part) => /^\s*dc=(.+?)\s*$/i.exec(part)?.[1])
    .filter((label): label is string => label !== undefined);
  return labels.length > 0 ? labels.join('.').toLowerCase() : undefined;
}

/**
 * Who a logon the DC accepted belongs to: asked of the relay connection itself (the SIDs it is
 * bound as), or, for a client that negotiated signing, of the lookup account by the name the DC
 * accepted. Attributes and group names may come from the cache; the verdict never does. Every
 * failure is typed: `ERR_NTLM_DC_ERROR` for the relay connection's directory,
 * `ERR_NTLM_LOOKUP_UNAVAILABLE` for the lookup account's.
 */
export class DirectoryIdentity {
  readonly #lookup: ServiceAccountDirectory | undefined;
  readonly #cache: DirectoryCache | undefined;
  #namingContext: Promise<string> | undefined;
  readonly #sidNames: SidNameResolver | undefined;

  constructor(lookup: ServiceAccountDirectory | undefined, cache: DirectoryCache | undefined) {
    this.#lookup = lookup;
    this.#cache = cache;
    this.#sidNames =
      lookup &&
      new SidNameResolver(async (sids) => {
        const namingContext = await this.#readNamingContext(lookup);
        const names = await lookupDirectory(() => namesBySid(lookup, sids, namingContext));
        // The lookup account reads one domain: its groups' names, domain left to the caller.
        return new Map([...names].map(([sid, name]) => [sid, { name, domain: '' }]));
      }, cache);
  }

  /** Whether group SIDs can be named here: only through the lookup account. */
  get namesSids(): boolean {
    return this.#sidNames !== undefined;
  }

  /**
   * A Kerberos logon's identity (SIDs from the PAC) with its group names (cached per SID) and the
   * account's mail (cached per user SID), through the lookup account.
   */
  async nameGroups<T extends NtlmIdentity>(identity: T): Promise<T> {
    if (!this.#sidNames) return identity;
    const [named, mail] = await Promise.all([this.#sidNames.nameGroups(identity), this.mailOf(identity.sid)]);
    return mail === undefined ? named : { ...named, mail };
  }

  /** The mail of the account with this SID, through the lookup account (cached); undefined without one. */
  async mailOf(sid: string | undefined): Promise<string | undefined> {
    const lookup = this.#lookup;
    if (!lookup || !sid) return undefined;
    const described = await this.#cached(`mail:${sid}`, async () => ({
      account: summary(await lookupDirectory(() => readAccountBySid(lookup, sid))),
      groupSids: [],
      groups: [],
    }));
    return described.account.mail;
  }

  /**
   * The unsigned case: the relay connection says who it is bound as (always asked: this is the
   * identity); the account's attributes and group names may come from the cache.
   */
  async boundUser(
    directory: DirectorySearch,
    netbiosDomain: string,
    claimedUser: string,
  ): Promise<Described> {
    const { sids, namingContext } = await dcDirectory(() => whoIsBound(directory));
    const [userSid] = sids;
    if (!userSid || sids.includes(ANONYMOUS_SID)) {
      throw new AuthenticationError('ERR_NTLM_ANONYMOUS_REFUSED', 'the DC authenticated an anonymous logon', {
        claimedUser,
      });
    }
    const groupSids = sids.slice(1);
    // Keyed by the logon's group SIDs too: a change of membership is seen at the next logon.
    const key = `sid:${netbiosDomain}:${userSid}:${sidSetDigest(groupSids)}`;
    return this.#cached(key, () =>
      dcDirectory(async () => ({
        account: summary(await readAccountBySid(directory, userSid)),
        groupSids,
        groups: await groupNames(directory, groupSids, namingContext),
      })),
    );
  }

  /**
   * The signed-bind case: the DC said yes to this name, the lookup account says who it is. The
   * name is looked up in the lookup account's domain only, so a client that typed another
   * domain (a trust) is refused rather than given the same name in ours.
   */
  async byName(
    claimedUser: string,
    typedDomain: string,
    dcDomain: { netbiosDomain: string; dnsDomain: string | undefined },
  ): Promise<Described> {
    const lookup = this.#lookup;
    if (!lookup) {
      throw new ServiceUnavailableError(
        'ERR_NTLM_LOOKUP_UNAVAILABLE',
        'the client negotiated LDAP signing, so its relayed connection cannot be asked who logged on; ' +
          'configure domainController({ lookup: { url, bindDN, password } }) with a read-only service account',
      );
    }
    const namingContext = await this.#readNamingContext(lookup);
    const ours = [dcDomain.netbiosDomain, dcDomain.dnsDomain, dnsNameOf(namingContext)];
    if (!typedDomainMatches(typedDomain, ours)) {
      throw new AuthenticationError(
        'ERR_NTLM_UNKNOWN_DOMAIN',
        `signing client: ${typedDomain}\\${claimedUser} is not an account of ${ours.filter(Boolean).join(' / ')}, the only domain the lookup account can name; refused rather than relabelled`,
        { claimedUser },
      );
    }
    const key = `name:${dcDomain.netbiosDomain}:${claimedUser.toLowerCase()}`;
    return this.#cached(key, async () => {
      const account = await lookupDirectory(() => readAccountByName(lookup, claimedUser, namingContext));
      if (!account || account.disabled) {
        throw new AuthenticationError(
          'ERR_NTLM_LOGON_FAILED',
          `the DC accepted ${claimedUser}, but no single enabled account has that name`,
          { claimedUser },
        );
      }
      const groupSids = account.groupSids.filter((sid) => sid !== account.sid);
      return {
        account: summary(account),
        groupSids,
        groups: await lookupDirectory(() => groupNames(lookup, groupSids, namingContext)),
      };
    });
  }

  async close(): Promise<void> {
    await this.#lookup?.close();
  }

  #readNamingContext(lookup: ServiceAccountDirectory): Promise<string> {
    this.#namingContext ??= lookupDirectory(() => readNamingContext(lookup));
    return this.#namingContext.catch((error) => {
      this.#namingContext = undefined;
      throw error;
    });
  }

  #cached(key: string, read: () => Promise<Described>): Promise<Described> {
    return this.#cache ? this.#cache.remember(key, read) : read();
  }
}

/** Searches on the relay connection: the DC's own failures are ERR_NTLM_DC_ERROR (transport ones stay as they are). */
async function dcDirectory<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (isNtlmError(error) || error instanceof LdapTransportError) throw error;
    throw new ServiceUnavailableError(
      'ERR_NTLM_DC_ERROR',
      `the DC's directory answered in a way we cannot use: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
}

/** Searches as the lookup account: whatever fails is ERR_NTLM_LOOKUP_UNAVAILABLE. */
async function lookupDirectory<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw isNtlmError(error)
      ? error
      : lookupUnavailable('the directory answered in a way we cannot use', error);
  }
}

function summary(account: AccountEntry): Described['account'] {
  const { username, sid, displayName, mail, userPrincipalName } = account;
  return { username, sid, displayName, mail, userPrincipalName };
}
