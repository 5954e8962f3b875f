import type tls from 'node:tls';
import { isNtlmError, ServiceUnavailableError } from '../errors.js';
import type { DcObserver } from '../metrics/observer.js';
import { AvId, findAvPair } from '../ntlm/av-pairs.js';
import { challengeAvPairs, decodeChallenge } from '../ntlm/challenge.js';
import { readNamingContext } from './account-lookup.js';
import { bindFailure, ResultCode } from './dc-errors.js';
import { type DcLocator, hostPort, type LocatedDc } from './dc-locator.js';
import { DcSelector } from './dc-selector.js';
import { FoundDcs } from './found-dcs.js';
import { IdleConnections } from './idle-connections.js';
import { LdapConnection, LdapTransportError } from './ldap-connection.js';
import type { LdapResult } from './ldap-messages.js';
import { OperationLimiter } from './operation-limiter.js';
import { describeResult, probeSigning, SIGNING_REQUIRED_FIX } from './signing-probe.js';

export interface RelaySettings {
  /** Upper-case NetBIOS domain → its DC URLs, in the order they are tried. */
  readonly domains: ReadonlyMap<string, readonly string[]>;
  /** Domains whose DCs are found in DNS instead (their list in `domains` is empty). */
  readonly locators?: ReadonlyMap<string, DcLocator>;
  readonly connectTimeoutMs: number;
  readonly operationTimeoutMs: number;
  readonly downtimeMs: number;
  readonly maxConcurrentOperations: number;
  readonly tls: tls.ConnectionOptions | undefined;
}

/** A relay connection whose DC has sent its CHALLENGE, waiting for the client's AUTHENTICATE. */
export interface OpenRelay {
  readonly connection: LdapConnection;
  readonly challenge: Buffer;
  /** The domain the DC names in its CHALLENGE (MS-NLMP 2.2.1.2 TargetInfo), or the one we chose it for. */
  readonly netbiosDomain: string;
  /** The DNS domain the DC names in its CHALLENGE, when it sent TargetInfo. */
  readonly dnsDomain: string | undefined;
}

/** Longest wait for a turn at a busy DC before answering 503. */
const QUEUE_WAIT_MS = 10_000;
/**
 * Longest wait for the NEGOTIATE's answer on a kept connection (ms), at most operationTimeoutMs.
 * A DC answers a bind in milliseconds; a kept connection that stays silent longer is dropped for a
 * new one, so that a silent DC costs a logon about a second more than with no kept connection,
 * not a whole operationTimeoutMs more.
 */
const KEPT_BIND_TIMEOUT_MS = 1000;
/**
 * How long a DC's "signing not required" stands before readiness binds again to see (ms). Each
 * test bind is an anonymous NTLM logon in the DC's security log, so not one per poll; a DC found
 * requiring signing is asked again at every probe, and a relayed logon it refuses for want of
 * signing marks it at once.
 */
const SIGNING_RECHECK_MS = 60_000;

/** One DC as readiness found it; `fix` says what to change when it is a setting, not an outage. */
export interface RelayProbe {
  readonly domain: string;
  readonly dc: string;
  readonly error: string | undefined;
  readonly fix?: string | undefined;
}

/**
 * The LDAP relay to the domain controllers: picks a DC (failover and circuit breaker), relays the
 * client's NEGOTIATE and AUTHENTICATE in a SASL GSS-SPNEGO bind, and keeps each DC's line of
 * operations short. Whatever goes wrong below leaves here as a typed error: 401 for the DC's
 * refusal of the logon, 503 (`ERR_NTLM_DC_*`) for everything else, never a plain Error.
 */
export class LdapRelay {
  readonly #settings: RelaySettings;
  readonly #selector: DcSelector;
  readonly #limiters = new Map<string, OperationLimiter>();
  readonly #found = new Map<string, FoundDcs>();
  /** What each DC answered an unsigned relayed bind last, and when (see SIGNING_RECHECK_MS). */
  readonly #signing = new Map<string, { required: boolean; detail: string; at: number }>();
  readonly #idle = new IdleConnections();

  constructor(settings: RelaySettings) {
    this.#settings = settings;
    this.#selector = new DcSelector(settings.domains, {
      downtimeMs: settings.downtimeMs,
      // A trial is a bind on a kept connection, then one connect and one bind; past that it was abandoned.
      trialTimeoutMs:
        KEPT_BIND_TIMEOUT_MS + settings.connectTimeoutMs + settings.operationTimeoutMs + QUEUE_WAIT_MS,
    });
    for (const [domain, locator] of settings.locators ?? [])
      this.#found.set(domain, new FoundDcs(locator, this.#selector, domain, ldapUrlOf));
  }

  /** Connects to the first DC of `domain` that answers, and sends it the client's NEGOTIATE. */
  async open(domain: string, negotiateToken: Buffer): Promise<OpenRelay> {
    const found = this.#found.get(domain);
    const candidates = found ? await found.candidates() : this.#selector.candidates(domain);
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
        const challenge = await this.#limited(url, async () => {
          let started = performance.now();
          connection = this.#idle.take(url);
          let answer = connection && (await this.#negotiateOnKept(connection, negotiateToken));
          if (!answer) {
            started = performance.now();
            connection = await LdapConnection.connect({ url, ...this.#settings, tls: this.#settings.tls });
            answer = await connection.saslBind('GSS-SPNEGO', negotiateToken);
          }
          const { result, serverSaslCreds } = answer;
          this.#selector.answered(url, 'negotiate', (performance.now() - started) / 1000);
          this.#selector.markUp(url); // it answered, whatever it said
          if (result.resultCode !== ResultCode.saslBindInProgress || !serverSaslCreds) {
            this.#noteSigningRefusal(url, result);
            throw bindFailure(result, url, '');
          }
          return serverSaslCreds;
        });
        return { connection: connection!, challenge, ...challengeDomains(challenge, url, domain) };
      } catch (error) {
        connection?.close();
        if (!(error instanceof LdapTransportError)) throw dcError(error, url);
        if (error.reason !== 'protocol') this.#markDown(url, error.message);
        failures.push(error.message);
      }
    }
    found?.failed();
    throw new ServiceUnavailableError(
      'ERR_NTLM_DC_UNAVAILABLE',
      `no domain controller of ${domain} answered: ${failures.join('; ')}`,
      { retryAfterSeconds: this.#selector.retryAfterSeconds(domain) },
    );
  }

  /**
   * The client's NEGOTIATE on a connection kept from an earlier logon, or undefined (it is closed)
   * when it fails on the way: the DC may have dropped it, or a firewall silently, which says
   * nothing yet about the DC. The caller then asks on a new connection, whose outcome does.
   */
  async #negotiateOnKept(
    connection: LdapConnection,
    negotiateToken: Buffer,
  ): Promise<Awaited<ReturnType<LdapConnection['saslBind']>> | undefined> {
    try {
      const timeoutMs = Math.min(KEPT_BIND_TIMEOUT_MS, this.#settings.operationTimeoutMs);
      return await connection.saslBind('GSS-SPNEGO', negotiateToken, timeoutMs);
    } catch (error) {
      connection.close();
      if (error instanceof LdapTransportError) return undefined;
      throw error;
    }
  }

  /**
   * Relays the client's AUTHENTICATE; once the DC has said yes, `then` may use the connection
   * (to ask who is bound). Both run in the DC's line. Afterwards the connection is kept for the
   * next logon when the logon succeeded and `reusable` (no signing or sealing was agreed on it),
   * else closed.
   */
  async complete<T>(
    relay: OpenRelay,
    authenticateToken: Buffer,
    claimedUser: string,
    then: (connection: LdapConnection) => Promise<T>,
    reusable = true,
  ): Promise<T> {
    const { connection } = relay;
    let succeeded = false;
    try {
      const answer = await this.#limited(connection.url, async () => {
        const started = performance.now();
        const { result } = await connection.saslBind('GSS-SPNEGO', authenticateToken);
        this.#selector.answered(connection.url, 'authenticate', (performance.now() - started) / 1000);
        if (result.resultCode !== ResultCode.success) {
          this.#noteSigningRefusal(connection.url, result);
          throw bindFailure(result, connection.url, claimedUser);
        }
        return then(connection);
      });
      succeeded = true;
      return answer;
    } catch (error) {
      if (error instanceof LdapTransportError) {
        if (error.reason !== 'protocol') this.#markDown(connection.url, error.message);
        throw new ServiceUnavailableError(
          'ERR_NTLM_DC_UNAVAILABLE',
          `domain controller failed during the logon: ${error.message}`,
          { cause: error },
        );
      }
      throw dcError(error, connection.url);
    } finally {
      if (succeeded && reusable) this.#idle.give(connection);
      else connection.close();
    }
  }

  /** The DC failed: the breaker hears of it, and the connections kept for it are closed. */
  #markDown(url: string, reason: string): void {
    this.#selector.markDown(url, Date.now(), reason);
    this.#idle.drop(url);
  }

  /** Reports DC transitions and latency to `observer` (see DcSelector.observe). */
  observe(observer: DcObserver): () => void {
    return this.#selector.observe(observer);
  }

  /**
   * Readiness: which DCs can serve relayed logons now, by domain. A DC can when it takes a
   * connection, reads its rootDSE (anonymous, allowed even where LDAP signing is required) and
   * does not require LDAP signing of an unsigned relayed bind (probeSigning, as the doctor
   * checks it), within the timeouts; no account is tried and the breaker is left alone.
   */
  async probe(now = Date.now()): Promise<RelayProbe[]> {
    const lists = await Promise.all(
      [...this.#settings.domains.keys()].map(async (domain) => {
        const found = this.#found.get(domain);
        if (!found) return [domain, this.#selector.dcs(domain)] as const;
        return found.update().then(
          (urls) => [domain, urls] as const,
          (error: Error) =>
            [
              domain,
              [],
              { domain, dc: `dns:${found.locator.name}`, error: error.message } as RelayProbe,
            ] as const,
        );
      }),
    );
    const dnsFailures = lists.flatMap((list) => (list[2] ? [list[2]] : []));
    const probes = lists.flatMap(([domain, urls]) =>
      urls.map(async (url): Promise<RelayProbe> => {
        let connection: LdapConnection | undefined;
        try {
          connection = await LdapConnection.connect({ url, ...this.#settings, tls: this.#settings.tls });
          await readNamingContext(connection);
          return { domain, dc: url, ...(await this.#signingVerdict(url, connection, now)) };
        } catch (error) {
          return { domain, dc: url, error: (error as Error).message };
        } finally {
          connection?.close();
        }
      }),
    );
    return [...dnsFailures, ...(await Promise.all(probes))];
  }

  close(): void {
    for (const found of this.#found.values()) found.locator.close();
    this.#idle.close();
  }

  /** Whether `url` requires signing of unsigned relayed binds: remembered, or asked on `connection`. */
  async #signingVerdict(
    url: string,
    connection: LdapConnection,
    now: number,
  ): Promise<Pick<RelayProbe, 'error' | 'fix'>> {
    let known = this.#signing.get(url);
    if (!known || known.required || now - known.at >= SIGNING_RECHECK_MS) {
      const answer = await probeSigning(connection);
      if (answer.verdict === 'unexpected')
        return {
          error: `answered an unsigned relayed ${answer.step} with ${describeResult(answer.result)}`,
        };
      known = { required: answer.verdict === 'required', detail: describeResult(answer.result), at: now };
      this.#signing.set(url, known);
    }
    return known.required
      ? { error: `requires LDAP signing (it answered ${known.detail})`, fix: SIGNING_REQUIRED_FIX }
      : { error: undefined };
  }

  /** A relayed bind refused for want of signing: readiness says so from now on. */
  #noteSigningRefusal(url: string, result: LdapResult): void {
    if (result.resultCode === ResultCode.strongerAuthRequired)
      this.#signing.set(url, { required: true, detail: describeResult(result), at: Date.now() });
  }

  /** Runs `operation` in the DC's line of at most `maxConcurrentOperations`. */
  #limited<T>(url: string, operation: () => Promise<T>): Promise<T> {
    let limiter = this.#limiters.get(url);
    if (!limiter) {
      limiter = new OperationLimiter(this.#settings.maxConcurrentOperations, QUEUE_WAIT_MS);
      this.#limiters.set(url, limiter);
    }
    return limiter.run(
      operation,
      () =>
        new ServiceUnavailableError(
          'ERR_NTLM_DC_UNAVAILABLE',
          `${url} is busy: too many logons waiting for it`,
          {
            retryAfterSeconds: 1,
          },
        ),
    );
  }
}

/** A DC found in DNS, dialled at the address the same DNS servers gave for it. */
function ldapUrlOf(dc: LocatedDc): string {
  return `ldap://${hostPort(dc.address, dc.port)}`;
}

/** Any error that is not already one of ours: the DC answered in a way we cannot use (503). */
function dcError(error: unknown, url: string): Error {
  if (isNtlmError(error)) return error;
  return new ServiceUnavailableError(
    'ERR_NTLM_DC_ERROR',
    `${url}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/**
 * The DC names its domain in the CHALLENGE; a client that asked for no target info gets none,
 * and then the domain we chose this DC for is the answer.
 */
function challengeDomains(
  challenge: Buffer,
  url: string,
  chosen: string,
): Pick<OpenRelay, 'netbiosDomain' | 'dnsDomain'> {
  try {
    const decoded = decodeChallenge(challenge);
    const pairs = challengeAvPairs(decoded);
    return {
      netbiosDomain:
        findAvPair(pairs, AvId.MsvAvNbDomainName)?.toString('utf16le') || decoded.targetName || chosen,
      dnsDomain: findAvPair(pairs, AvId.MsvAvDnsDomainName)?.toString('utf16le') || undefined,
    };
  } catch (error) {
    throw new ServiceUnavailableError(
      'ERR_NTLM_DC_ERROR',
      `${url} sent a CHALLENGE we cannot read: ${(error as Error).message}`,
    );
  }
}
