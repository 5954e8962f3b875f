import type tls from 'node:tls';
import {
  type AccountEntry,
  groupNames,
  readAccountByName,
  readAccountBySid,
  readNamingContext,
  whoIsBound,
} from '../dc/account-lookup.js';
import { bindFailure, ResultCode } from '../dc/dc-errors.js';
import { DcSelector } from '../dc/dc-selector.js';
import { DirectoryCache, type DirectoryCacheOptions, sidSetDigest } from '../dc/directory-cache.js';
import { LdapConnection, LdapTransportError, parseLdapUrl } from '../dc/ldap-connection.js';
import { OperationLimiter } from '../dc/operation-limiter.js';
import { ServiceAccountDirectory, type ServiceAccountOptions } from '../dc/service-account.js';
import { ANONYMOUS_SID, GUEST_RID, relativeId } from '../dc/sid.js';
import { AuthenticationError, ConfigurationError, ServiceUnavailableError } from '../errors.js';
import { AvId, findAvPair } from '../ntlm/av-pairs.js';
import { challengeAvPairs, decodeChallenge } from '../ntlm/challenge.js';
import { NegotiateFlags } from '../ntlm/flags.js';
import { MemoryStore } from '../session/store.js';
import type { HandshakeFinish, HandshakeStart, NtlmIdentity, PendingHandshake, Verifier } from '../types.js';

export interface DomainControllerOptions {
  /**
   * NetBIOS domain name → its domain controllers, tried in order:
   * `{ EXAMPLE: ['ldap://dc1.example.test', 'ldap://dc2.example.test'] }`.
   */
  domains: Record<string, string | string[]>;
  /** Domain used when the client names none in its NEGOTIATE. @default the first of `domains` */
  defaultDomain?: string;
  /** Domain used when the client names one that is not configured (trusts do the rest). @default none: refused */
  fallbackDomain?: string;
  /** TCP (and TLS) connect timeout per DC (ms). @default 2000 */
  connectTimeoutMs?: number;
  /** Wait for each LDAP answer (ms). @default 3000 */
  operationTimeoutMs?: number;
  /** How long a DC that failed is skipped (ms). @default 30000 */
  downtimeMs?: number;
  /**
   * LDAP operations in flight at once per DC; more wait in line (up to 10 s, then 503) instead
   * of flooding it. @default 16
   */
  maxConcurrentOperations?: number;
  /** TLS options for ldaps:// DCs: `ca`, `servername`... `rejectUnauthorized` stays true unless you set it. */
  tls?: tls.ConnectionOptions;
  /**
   * A read-only service account, used only to read the attributes of clients that negotiated
   * LDAP signing (their relayed connection cannot be used after the bind). Off by default.
   */
  lookup?: ServiceAccountOptions;
  /**
   * Reuse what the directory said about a user (attributes, group names) for `ttlSeconds`, so
   * repeated logons skip those searches; the DC still decides every logon, and group SIDs come
   * fresh from each logon. Pass the middleware's RedisStore to share it; `false` turns it off.
   * @default { ttlSeconds: 300 } in an in-process store
   */
  cache?: DirectoryCacheOptions | false;
}

/** Longest wait for a turn at a busy DC before answering 503. */
const QUEUE_WAIT_MS = 10_000;

const SIGNING = NegotiateFlags.NEGOTIATE_SIGN | NegotiateFlags.NEGOTIATE_SEAL;

/**
 * Decides logons with an Active Directory (or Samba AD) domain controller: the client's NTLM
 * tokens are relayed in an LDAP SASL bind (GSS-SPNEGO, empty DN) and the DC answers. Who the
 * user is comes from the DC (the SIDs of the bound connection), never from the AUTHENTICATE.
 */
export class DomainControllerVerifier implements Verifier {
  readonly name: string;
  readonly #selector: DcSelector;
  readonly #domains: ReadonlyMap<string, readonly string[]>;
  readonly #defaultDomain: string;
  readonly #fallbackDomain: string | undefined;
  readonly #timeouts: { connectTimeoutMs: number; operationTimeoutMs: number };
  readonly #tls: tls.ConnectionOptions | undefined;
  readonly #lookup: ServiceAccountDirectory | undefined;
  readonly #limiters = new Map<string, OperationLimiter>();
  readonly #maxConcurrent: number;
  #namingContext: Promise<string> | undefined;
  readonly #cache: DirectoryCache | undefined;

  constructor(options: DomainControllerOptions) {
    const entries = Object.entries(options?.domains ?? {}).map(
      ([domain, urls]) => [domain.toUpperCase(), typeof urls === 'string' ? [urls] : [...urls]] as const,
    );
    if (entries.length === 0 || entries.some(([, urls]) => urls.length === 0)) {
      throw new ConfigurationError(
        'domainController: domains must map each domain to at least one ldap:// or ldaps:// URL',
      );
    }
    for (const [, urls] of entries) {
      for (const url of urls) {
        try {
          parseLdapUrl(url);
        } catch (error) {
          throw new ConfigurationError(`domainController: ${(error as Error).message}`);
        }
      }
    }
    this.#domains = new Map(entries);
    this.#defaultDomain = (options.defaultDomain ?? entries[0]![0]).toUpperCase();
    this.#fallbackDomain = options.fallbackDomain?.toUpperCase();
    for (const domain of [this.#defaultDomain, this.#fallbackDomain]) {
      if (domain !== undefined && !this.#domains.has(domain)) {
        throw new ConfigurationError(
          `domainController: ${domain} is used as a default or fallback but has no DCs in domains`,
        );
      }
    }
    this.#timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      operationTimeoutMs: options.operationTimeoutMs ?? 3000,
    };
    this.#tls = options.tls;
    this.#selector = new DcSelector(this.#domains, options.downtimeMs ?? 30_000);
    this.#maxConcurrent = options.maxConcurrentOperations ?? 16;
    this.#lookup = options.lookup ? new ServiceAccountDirectory(options.lookup, this.#timeouts) : undefined;
    this.#cache = directoryCache(options.cache);
    this.name = `domain-controller(${entries.map(([d, urls]) => `${d}=${urls.join(',')}`).join(' ')})`;
  }

  #domainFor(requested: string): string {
    const domain = requested.toUpperCase();
    if (domain === '') return this.#defaultDomain;
    if (this.#domains.has(domain)) return domain;
    if (this.#fallbackDomain) return this.#fallbackDomain;
    throw new AuthenticationError(
      'ERR_NTLM_UNKNOWN_DOMAIN',
      `domain ${requested} is not configured and there is no fallbackDomain`,
    );
  }

  /** Runs `operation` in the DC's line of at most `maxConcurrentOperations`. */
  #limited<T>(url: string, operation: () => Promise<T>): Promise<T> {
    let limiter = this.#limiters.get(url);
    if (!limiter) {
      limiter = new OperationLimiter(this.#maxConcurrent, QUEUE_WAIT_MS);
      this.#limiters.set(url, limiter);
    }
    return limiter.run(operation, () => {
      return new ServiceUnavailableError(
        'ERR_NTLM_DC_UNAVAILABLE',
        `${url} is busy: too many logons waiting for it`,
        {
          retryAfterSeconds: 1,
        },
      );
    });
  }

  /** Connects to the first DC of the domain that answers, and sends it the client's NEGOTIATE. */
  async #openRelay(
    domain: string,
    negotiateToken: Buffer,
  ): Promise<{ connection: LdapConnection; challenge: Buffer }> {
    const candidates = this.#selector.candidates(domain);
    if (candidates.length === 0) {
      const retryAfterSeconds = this.#selector.retryAfterSeconds(domain);
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_UNAVAILABLE',
        `no domain controller of ${domain} is reachable (all failed recently; next try in ${retryAfterSeconds} s)`,
        { retryAfterSeconds },
      );
    }
    const failures: string[] = [];
    for (const url of candidates) {
      let connection: LdapConnection | undefined;
      try {
        return await this.#limited(url, async () => {
          connection = await LdapConnection.connect({ url, ...this.#timeouts, tls: this.#tls });
          const { result, serverSaslCreds } = await connection.saslBind('GSS-SPNEGO', negotiateToken);
          if (result.resultCode !== ResultCode.saslBindInProgress || !serverSaslCreds) {
            throw bindFailure(result, url, '');
          }
          this.#selector.markUp(url);
          return { connection, challenge: serverSaslCreds };
        });
      } catch (error) {
        connection?.close();
        if (!(error instanceof LdapTransportError)) throw error;
        if (error.reason !== 'protocol') this.#selector.markDown(url);
        failures.push(error.message);
      }
    }
    throw new ServiceUnavailableError(
      'ERR_NTLM_DC_UNAVAILABLE',
      `no domain controller of ${domain} answered: ${failures.join('; ')}`,
      {
        retryAfterSeconds: this.#selector.retryAfterSeconds(domain),
      },
    );
  }

  async startHandshake(start: HandshakeStart): Promise<PendingHandshake> {
    const domain = this.#domainFor(start.negotiate.domain);
    const { connection, challenge } = await this.#openRelay(domain, start.negotiateToken);
    const onAbort = () => connection.close();
    start.signal.addEventListener('abort', onAbort, { once: true });
    let netbiosDomain: string;
    try {
      const decoded = decodeChallenge(challenge);
      // The DC names its domain in the CHALLENGE; a client that asked for no target info gets
      // none, and then the domain we chose this DC for is the answer.
      netbiosDomain =
        findAvPair(challengeAvPairs(decoded), AvId.MsvAvNbDomainName)?.toString('utf16le') ||
        decoded.targetName ||
        domain;
    } catch (error) {
      connection.close();
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_ERROR',
        `${connection.url} sent a CHALLENGE we cannot read: ${(error as Error).message}`,
      );
    }
    return {
      challengeToken: challenge,
      abort: () => connection.close(),
      complete: async (finish) => {
        try {
          return await this.#limited(connection.url, () => this.#complete(connection, netbiosDomain, finish));
        } catch (error) {
          if (error instanceof LdapTransportError) {
            if (error.reason !== 'protocol') this.#selector.markDown(connection.url);
            throw new ServiceUnavailableError(
              'ERR_NTLM_DC_UNAVAILABLE',
              `domain controller failed during the logon: ${error.message}`,
              {
                cause: error,
              },
            );
          }
          throw error;
        } finally {
          start.signal.removeEventListener('abort', onAbort);
          connection.close();
        }
      },
    };
  }

  async #complete(
    connection: LdapConnection,
    netbiosDomain: string,
    finish: HandshakeFinish,
  ): Promise<NtlmIdentity> {
    const { authenticate } = finish;
    const claimedUser = authenticate.user;
    const { result } = await connection.saslBind('GSS-SPNEGO', finish.authenticateToken);
    if (result.resultCode !== ResultCode.success) throw bindFailure(result, connection.url, claimedUser);

    // With SIGN or SEAL agreed, the DC expects every later message on this connection to be
    // signed with a key only the client and the DC know: ask the lookup account instead.
    const signed = (authenticate.flags & SIGNING) !== 0;
    const { account, groupSids, groups } = signed
      ? await this.#cached(`name:${netbiosDomain}:${claimedUser.toLowerCase()}`, () =>
          this.#describeByName(claimedUser),
        )
      : await this.#describeBoundUser(connection, netbiosDomain, claimedUser);
    if (relativeId(account.sid) === GUEST_RID) {
      throw new AuthenticationError('ERR_NTLM_GUEST_REFUSED', 'the DC logged the user on as Guest', {
        claimedUser,
      });
    }
    return {
      username: account.username,
      domain: netbiosDomain,
      workstation: authenticate.workstation,
      displayName: account.displayName,
      mail: account.mail,
      userPrincipalName: account.userPrincipalName,
      sid: account.sid,
      groups,
      groupSids,
    };
  }

  #cached(key: string, read: () => Promise<Described>): Promise<Described> {
    return this.#cache ? this.#cache.remember(key, read) : read();
  }

  /**
   * The unsigned case: the relay connection itself says who it is bound as (always asked: this
   * is the identity); the account's attributes and group names may come from the cache.
   */
  async #describeBoundUser(
    connection: LdapConnection,
    netbiosDomain: string,
    claimedUser: string,
  ): Promise<Described> {
    const { sids, namingContext } = await whoIsBound(connection);
    const [userSid] = sids;
    if (!userSid || sids.includes(ANONYMOUS_SID)) {
      throw new AuthenticationError('ERR_NTLM_ANONYMOUS_REFUSED', 'the DC authenticated an anonymous logon', {
        claimedUser,
      });
    }
    const groupSids = sids.slice(1);
    // Keyed by the logon's group SIDs too: a change of membership is seen at the next logon.
    const key = `sid:${netbiosDomain}:${userSid}:${sidSetDigest(groupSids)}`;
    return this.#cached(key, async () => ({
      account: summary(await readAccountBySid(connection, userSid)),
      groupSids,
      groups: await groupNames(connection, groupSids, namingContext),
    }));
  }

  /** The signed-bind case: the DC said yes to this name, the lookup account says who it is. */
  async #describeByName(claimedUser: string): Promise<Described> {
    const lookup = this.#lookup;
    if (!lookup) {
      throw new ServiceUnavailableError(
        'ERR_NTLM_LOOKUP_UNAVAILABLE',
        'the client negotiated LDAP signing, so its relayed connection cannot be asked who logged on; ' +
          'configure domainController({ lookup: { url, bindDN, password } }) with a read-only service account',
      );
    }
    this.#namingContext ??= readNamingContext(lookup);
    const namingContext = await this.#namingContext.catch((error) => {
      this.#namingContext = undefined;
      throw error;
    });
    const account = await readAccountByName(lookup, claimedUser, namingContext);
    if (!account || account.disabled) {
      throw new AuthenticationError(
        'ERR_NTLM_LOGON_FAILED',
        `the DC accepted ${claimedUser}, but no single enabled account has that name`,
        {
          claimedUser,
        },
      );
    }
    const groupSids = account.groupSids.filter((sid) => sid !== account.sid);
    return {
      account: summary(account),
      groupSids,
      groups: await groupNames(lookup, groupSids, namingContext),
    };
  }

  async close(): Promise<void> {
    await this.#lookup?.close();
  }
}

/** What one logon learns about its user: cached as JSON, so plain data only. */
interface Described {
  readonly account: Pick<AccountEntry, 'username' | 'sid' | 'displayName' | 'mail' | 'userPrincipalName'>;
  readonly groupSids: string[];
  readonly groups: string[];
}

function summary(account: AccountEntry): Described['account'] {
  const { username, sid, displayName, mail, userPrincipalName } = account;
  return { username, sid, displayName, mail, userPrincipalName };
}

function directoryCache(options: DirectoryCacheOptions | false | undefined): DirectoryCache | undefined {
  if (options === false) return undefined;
  const ttlSeconds = options?.ttlSeconds ?? 300;
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
    throw new ConfigurationError(`domainController: cache.ttlSeconds must be positive, got ${ttlSeconds}`);
  return new DirectoryCache(options?.store ?? new MemoryStore({ maxEntries: 10_000 }), ttlSeconds);
}

export function domainController(options: DomainControllerOptions): DomainControllerVerifier {
  return new DomainControllerVerifier(options);
}
