import type tls from 'node:tls';
import type { DcLocator } from '../dc/dc-locator.js';
import {
  type Described,
  DirectoryCache,
  DirectoryIdentity,
  LdapRelay,
  type OpenRelay,
  parseLdapUrl,
  ServiceAccountDirectory,
} from '../dc/index.js';
import { type PasswordBindOptions, withPasswordBind } from '../dc/password-bind.js';
import { DEFAULTS } from '../defaults.js';
import { AuthenticationError, ConfigurationError } from '../errors.js';
import type { PasswordLogon, PasswordVerifier } from '../mechanisms/password-verifier.js';
import type { ObservableVerifier, VerifierObserver } from '../metrics/observer.js';
import type { ProbedVerifier, ReadinessReport } from '../metrics/readiness.js';
import { NegotiateFlags } from '../ntlm/flags.js';
import { OPTION_KEYS } from '../option-keys.js';
import { MemoryStore } from '../store/store.js';
import type {
  DirectoryCacheOptions,
  DomainControllerOptions,
  HandshakeFinish,
  HandshakeStart,
  NtlmIdentity,
  PendingHandshake,
  ServiceAccountOptions,
  Verifier,
} from '../types.js';
import { hideUrlPasswords } from '../url-credentials.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
import { checkDnsDomain, type DcDnsInternals, dcLocator } from './dc-dns.js';

const DC = DEFAULTS.domainController;
const OWNER = 'domainController()';
const SIGNING = NegotiateFlags.NEGOTIATE_SIGN | NegotiateFlags.NEGOTIATE_SEAL;
/** A domain's DCs found in DNS instead of listed. */
const AUTO = 'auto';

/**
 * Decides logons with an Active Directory (or Samba AD) domain controller: the client's NTLM
 * tokens are relayed in an LDAP SASL bind (GSS-SPNEGO, empty DN) and the DC answers. Who the
 * user is comes from the DC (the SIDs of the bound connection), never from the AUTHENTICATE.
 */
export class DomainControllerVerifier
  implements Verifier, PasswordVerifier, ObservableVerifier, ProbedVerifier
{
  readonly name: string;
  readonly domains: readonly string[];
  readonly #relay: LdapRelay;
  readonly #cache: DirectoryCache | undefined;
  readonly #identity: DirectoryIdentity;
  readonly #domains: ReadonlyMap<string, readonly string[]>;
  readonly #defaultDomain: string;
  readonly #fallbackDomain: string | undefined;
  readonly nameGroups: (<T extends NtlmIdentity>(identity: T) => Promise<T>) | undefined;
  /** For Basic's simple binds: the same DCs, timeouts and TLS options as the relay. */
  readonly #bind: Omit<PasswordBindOptions, 'urls'>;

  constructor(options: DomainControllerOptions, internals: DcDnsInternals = {}) {
    knownKeysOnly(options, OPTION_KEYS.domainController, OWNER);
    const domains = checkDomains(options?.domains);
    const locators = autoLocators(options, internals);
    this.#domains = domains;
    this.domains = [...domains.keys()];
    this.#defaultDomain =
      checkDomainName(options.defaultDomain, 'defaultDomain', domains) ?? [...domains.keys()][0]!;
    this.#fallbackDomain = checkDomainName(options.fallbackDomain, 'fallbackDomain', domains);
    const timeouts = {
      connectTimeoutMs: milliseconds(options.connectTimeoutMs, 'connectTimeoutMs', DC.connectTimeoutMs),
      operationTimeoutMs: milliseconds(
        options.operationTimeoutMs,
        'operationTimeoutMs',
        DC.operationTimeoutMs,
      ),
    };
    const tlsOptions = checkTls(options.tls, 'tls');
    this.#bind = { ...timeouts, tls: tlsOptions };
    this.#relay = new LdapRelay({
      domains: new Map([...domains].map(([domain, urls]) => [domain, locators.has(domain) ? [] : urls])),
      locators,
      ...timeouts,
      downtimeMs: milliseconds(options.downtimeMs, 'downtimeMs', DC.downtimeMs),
      maxConcurrentOperations: positiveInteger(
        options.maxConcurrentOperations,
        `maxConcurrentOperations (LDAP operations in flight per DC, e.g. ${DC.maxConcurrentOperations})`,
        DC.maxConcurrentOperations,
        OWNER,
      ),
      tls: tlsOptions,
    });
    const lookup = checkLookup(options.lookup, tlsOptions);
    this.#cache = directoryCache(options.cache);
    this.#identity = new DirectoryIdentity(
      lookup && new ServiceAccountDirectory(lookup, { ...timeouts, queueTimeoutMs: 10_000 }),
      this.#cache,
    );
    // Kerberos logons bring SIDs only: the lookup account, when there is one, names them.
    if (this.#identity.namesSids) this.nameGroups = (identity) => this.#identity.nameGroups(identity);
    this.name = `domain-controller(${[...domains].map(([d, urls]) => `${d}=${urls.join(',')}`).join(' ')})`;
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

  async startHandshake(start: HandshakeStart): Promise<PendingHandshake> {
    const relay = await this.#relay.open(this.#domainFor(start.negotiate.domain), start.negotiateToken);
    const { connection } = relay;
    // Once the AUTHENTICATE is relayed, the relay owns the connection (it may keep it for another
    // user's logon): a late abort must not close it.
    let completing = false;
    const abort = () => {
      if (!completing) connection.close();
    };
    start.signal.addEventListener('abort', abort, { once: true });
    return {
      challengeToken: relay.challenge,
      abort,
      complete: async (finish) => {
        completing = true;
        try {
          return await this.#complete(relay, finish);
        } finally {
          start.signal.removeEventListener('abort', abort);
        }
      },
    };
  }

  async #complete(relay: OpenRelay, finish: HandshakeFinish): Promise<NtlmIdentity> {
    const { authenticate } = finish;
    const claimedUser = authenticate.user;
    // With SIGN or SEAL agreed, the DC expects every later message on this connection to be
    // signed with a key only the client and the DC know: ask the lookup account instead.
    const signed = (authenticate.flags & SIGNING) !== 0;
    const described: Described = await this.#relay.complete(
      relay,
      finish.authenticateToken,
      claimedUser,
      (connection) =>
        signed
          ? this.#identity.byName(claimedUser, authenticate.domain, relay)
          : this.#identity.boundUser(connection, relay.netbiosDomain, claimedUser),
      // A connection with signing agreed takes only signed messages from now on: not reused.
      !signed,
    );
    // Guest, anonymous and other domains are the identity policy's to refuse (session/identity-policy.ts).
    return identityOf(described, relay.netbiosDomain, authenticate.workstation);
  }

  /**
   * Basic: a simple bind as the user over TLS (withPasswordBind), then the bound connection says
   * who it is, as for relayed NTLM. `DOMAIN\\user` and UPNs go to the DC as typed; a bare name
   * is qualified with the default domain.
   */
  async verifyPassword(logon: PasswordLogon): Promise<NtlmIdentity> {
    const domain = this.#domainFor(logon.domain);
    const upn = logon.domain === '' && logon.username.includes('@');
    const bindName = upn ? logon.username : `${domain}\\${logon.username}`;
    const described = await withPasswordBind(
      { ...this.#bind, urls: this.#domains.get(domain)! },
      bindName,
      logon.password,
      (directory) => this.#identity.boundUser(directory, domain, logon.username),
    );
    return identityOf(described, domain, '');
  }

  /** DC transitions and latency (the relay's selector) and directory-cache hits, to `observer`. */
  observe(observer: VerifierObserver): () => void {
    const stops = [this.#relay.observe(observer), this.#cache?.observe(observer)];
    return () => {
      for (const stop of stops) stop?.();
    };
  }

  /** Ready when every configured domain has a DC that answers and takes unsigned relayed binds (see LdapRelay.probe). */
  async probe(): Promise<ReadinessReport> {
    const answers = await this.#relay.probe();
    return {
      ready: [...this.#domains.keys()].every((domain) =>
        answers.some((answer) => answer.domain === domain && answer.error === undefined),
      ),
      checks: answers.map(({ dc, error, fix }) => ({
        name: dc,
        ok: error === undefined,
        detail: error,
        fix,
      })),
    };
  }

  async close(): Promise<void> {
    this.#relay.close();
    await this.#identity.close();
  }
}

/** The DCs of each domain given as 'auto' are found in DNS, under its DNS name (see dnsDomain). */
function autoLocators(options: DomainControllerOptions, internals: DcDnsInternals): Map<string, DcLocator> {
  const auto = Object.entries(options.domains)
    .filter(([, dcs]) => dcs === AUTO)
    .map(([domain]) => domain);
  const names = options.dnsDomain;
  if (auto.length === 0) return new Map();
  if (auto.length > 1 && (typeof names !== 'object' || names === null)) {
    throw new ConfigurationError(
      `${OWNER}: ${auto.join(' and ')} are 'auto': dnsDomain must name the DNS domain of each, e.g. { ${auto[0]}: 'example.test' }`,
      { code: 'ERR_NTLM_CONFIG_MISSING', option: `${OWNER}.dnsDomain` },
    );
  }
  return new Map(
    auto.map((domain) => {
      const name = typeof names === 'object' && names !== null ? names[domain] : names;
      const dnsDomain = checkDnsDomain(
        name,
        OWNER,
        typeof names === 'object' ? `dnsDomain.${domain}` : 'dnsDomain',
      );
      return [domain.toUpperCase(), dcLocator(dnsDomain, options.dns, OWNER, internals)];
    }),
  );
}

/** A timeout or duration: a positive whole number of milliseconds. */
function milliseconds(value: unknown, name: string, fallback: number): number {
  return positiveInteger(value, `${name} (milliseconds, e.g. ${fallback})`, fallback, OWNER);
}

function checkDomains(domains: unknown): Map<string, readonly string[]> {
  const entries =
    domains !== null && typeof domains === 'object' && !Array.isArray(domains)
      ? Object.entries(domains).map(
          ([domain, urls]) => [domain.toUpperCase(), typeof urls === 'string' ? [urls] : urls] as const,
        )
      : [];
  if (entries.length === 0 || entries.some(([, urls]) => !Array.isArray(urls) || urls.length === 0)) {
    throw new ConfigurationError(
      `${OWNER}: domains must map each NetBIOS domain to at least one ldap:// or ldaps:// URL, e.g. { EXAMPLE: ['ldap://dc1.example.test'] }, or to 'auto' (found in DNS)`,
    );
  }
  for (const [, urls] of entries) {
    if (urls.length === 1 && urls[0] === AUTO) continue;
    for (const url of urls as unknown[]) {
      try {
        parseLdapUrl(String(url));
      } catch (error) {
        throw new ConfigurationError(
          `${OWNER}: ${(error as Error).message} (use ldap://host or ldaps://host)`,
        );
      }
    }
  }
  // A DC URL names the DC in log lines, metrics and readiness: a password written in it (the relay
  // never uses one) must not go there too.
  return new Map(entries.map(([domain, urls]) => [domain, (urls as string[]).map(hideUrlPasswords)]));
}

function checkDomainName(
  value: unknown,
  name: string,
  domains: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  if (value === undefined) return undefined;
  const domain = typeof value === 'string' ? value.toUpperCase() : '';
  if (!domains.has(domain)) {
    throw new ConfigurationError(
      `${OWNER}: ${name} ${JSON.stringify(value)} must be one of the domains in domains (${[...domains.keys()].join(', ')})`,
    );
  }
  return domain;
}

function checkTls(value: unknown, name: string): tls.ConnectionOptions | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(
      `${OWNER}: ${name} must be an object of Node TLS options, e.g. { ca, servername: 'dc1.example.test' }`,
    );
  }
  const { servername } = value as tls.ConnectionOptions;
  if (servername !== undefined && (typeof servername !== 'string' || servername === '')) {
    throw new ConfigurationError(
      `${OWNER}: ${name}.servername must be the DC's host name as its certificate names it, e.g. 'dc1.example.test'`,
    );
  }
  return value as tls.ConnectionOptions;
}

export function checkLookup(
  value: ServiceAccountOptions | undefined,
  defaultTls: tls.ConnectionOptions | undefined,
  owner = OWNER,
): ServiceAccountOptions | undefined {
  if (value === undefined) return undefined;
  const where = `${owner}: lookup`;
  if (value === null || typeof value !== 'object')
    throw new ConfigurationError(`${where} must be { url, bindDN, password } of a read-only service account`);
  knownKeysOnly(value, OPTION_KEYS.lookup, OWNER, 'lookup.');
  const urls = typeof value.url === 'string' ? [value.url] : value.url;
  if (!Array.isArray(urls) || urls.length === 0)
    throw new ConfigurationError(`${where}.url must be an ldaps:// URL (or a list of them)`);
  for (const url of urls) {
    try {
      parseLdapUrl(String(url));
    } catch (error) {
      throw new ConfigurationError(`${where}.url: ${(error as Error).message} (use ldaps://host)`);
    }
  }
  for (const key of ['bindDN', 'password'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '')
      throw new ConfigurationError(
        `${where}.${key} must be a non-empty string (the service account's ${key === 'bindDN' ? 'DN or UPN' : 'password'})`,
      );
  }
  positiveInteger(
    value.poolSize,
    `lookup.poolSize (connections, e.g. ${DC.lookupPoolSize})`,
    DC.lookupPoolSize,
    OWNER,
  );
  return { ...value, tls: checkTls(value.tls, 'lookup.tls') ?? defaultTls };
}

function directoryCache(options: DirectoryCacheOptions | false | undefined): DirectoryCache | undefined {
  if (options === false) return undefined;
  knownKeysOnly(options, OPTION_KEYS.cache, OWNER, 'cache.');
  const ttlSeconds = positiveInteger(
    options?.ttlSeconds,
    `cache.ttlSeconds (seconds, e.g. ${DC.cacheTtlSeconds})`,
    DC.cacheTtlSeconds,
    OWNER,
  );
  return new DirectoryCache(options?.store ?? new MemoryStore({ maxEntries: 10_000 }), ttlSeconds);
}

/** What the DC said about the user it authenticated, as the identity the app is handed. */
function identityOf(
  { account, groupSids, groups }: Described,
  domain: string,
  workstation: string,
): NtlmIdentity {
  return {
    username: account.username,
    domain,
    workstation,
    displayName: account.displayName,
    mail: account.mail,
    userPrincipalName: account.userPrincipalName,
    sid: account.sid,
    groups,
    groupSids,
  };
}

export function domainController(options: DomainControllerOptions): DomainControllerVerifier {
  return new DomainControllerVerifier(options);
}
