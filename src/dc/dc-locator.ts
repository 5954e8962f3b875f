import { promises as dns } from 'node:dns';
import { ServiceUnavailableError } from '../errors.js';

/** One SRV record, as node:dns gives it (RFC 2782). */
export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** What the locator needs of a resolver: dns.promises.Resolver, or a fake in tests. */
export interface DnsResolver {
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
  cancel(): void;
}

/** A DC found in DNS: its SRV target and port, and the address its A (or AAAA) record gives. */
export interface LocatedDc {
  /** The SRV target, e.g. `dc1.example.test`. */
  readonly host: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
  /** The address the same DNS servers give for `host`, or `host` itself when they give none. */
  readonly address: string;
}

export interface DcLocatorOptions {
  /** DNS servers to ask (`10.0.0.53`, `10.0.0.53:5353`, `[::1]:53`); none: the system's. */
  readonly servers?: readonly string[];
  /** Longest wait for all the answers of one look-up (ms). */
  readonly timeoutMs: number;
  /** How long an answer is used before DNS is asked again (ms); see DEFAULTS.dcDns. */
  readonly refreshMs: number;
  /** A look-up asked for after a failure waits this long after the previous one (ms). */
  readonly requeryAfterMs: number;
  /** For tests: a resolver of their own. */
  readonly resolver?: DnsResolver;
  /** For tests: the clock and the dice. */
  readonly now?: () => number;
  readonly random?: () => number;
}

// What Samba 4.17's internal DNS server answers for a freshly provisioned domain (measured on
// the test DC, example.test, one DC): _ldap._tcp.dc._msdcs, _ldap._tcp, _ldap._tcp.pdc._msdcs and
// the site's _ldap._tcp.Default-First-Site-Name._sites.dc._msdcs each give one record naming the
// DC by its host name (`<hostname>.example.test`), port 389, priority 0, weight 100;
// _kerberos._tcp and _kerberos._udp give port 88, _kpasswd._tcp 464, _gc._tcp 3268. The host's A
// record has a TTL of 900 s; provision writes none for 127.0.0.1 (test/samba-dc/add-loopback-a.py
// adds it). A name outside its zones gets ENOTFOUND without a forwarder, ESERVFAIL when the
// forwarder cannot be reached.

/** The SRV name of the domain controllers of a DNS domain (MS-ADTS 6.3.2.3, as DsGetDcName asks). */
export const dcSrvName = (dnsDomain: string) => `_ldap._tcp.dc._msdcs.${dnsDomain}`;
/** The SRV name of the KDCs of a realm (RFC 4120 7.2.3.2); the doctor shows it beside the DCs. */
export const kdcSrvName = (dnsDomain: string) => `_kerberos._tcp.${dnsDomain}`;

/**
 * RFC 2782's order: lowest priority first; within one priority, a weighted random draw without
 * replacement, each record first with a chance of its share of the weights (as Go's net package
 * draws: the RFC's inclusive running sum would favour the first record by one unit). Records of
 * weight 0 come after the others of their priority, in the order DNS gave them.
 */
export function orderSrv(records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] {
  const byPriority = new Map<number, SrvRecord[]>();
  for (const record of records) {
    // RFC 2782: a target of "." means the service is decidedly not available there.
    if (record.name === '' || record.name === '.') continue;
    byPriority.set(record.priority, [...(byPriority.get(record.priority) ?? []), record]);
  }
  const ordered: SrvRecord[] = [];
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    const left = byPriority.get(priority)!;
    let total = left.reduce((sum, record) => sum + record.weight, 0);
    while (total > 0) {
      const pick = Math.floor(random() * total);
      let sum = 0;
      const index = left.findIndex((record) => {
        sum += record.weight;
        return sum > pick;
      });
      const [chosen] = left.splice(index, 1);
      ordered.push(chosen!);
      total -= chosen!.weight;
    }
    ordered.push(...left);
  }
  return ordered;
}

/**
 * Finds a domain's DCs in DNS, as Windows' DC locator does: the SRV records of one name, in RFC
 * 2782 order, each target resolved by the same DNS servers (AD's DNS knows its DCs; the system's
 * resolver may not). node's resolveSrv gives no TTL, so an answer is kept for `refreshMs`: by
 * default 600 s, the TTL Windows' Netlogon gives the SRV records it registers (Samba 4.17 gives
 * 900 s), so that a DC removed from DNS is dropped about when AD says its record expires. An
 * expired answer is still served while DNS is asked again in the background; after a failure
 * (every DC found was down) the next caller waits for a fresh answer, at most once per
 * `requeryAfterMs`. When DNS fails, the last answer stays in use; with none, 503.
 */
export class DcLocator {
  readonly name: string;
  readonly #options: DcLocatorOptions;
  readonly #resolver: DnsResolver;
  readonly #now: () => number;
  #found: LocatedDc[] | undefined;
  #expiresAt = 0;
  #lastQueryAt = Number.NEGATIVE_INFINITY;
  #stale = false;
  #query: Promise<LocatedDc[]> | undefined;
  /** Why the last look-up failed, while the answer in use is older than it. */
  #lastError: Error | undefined;

  constructor(srvName: string, options: DcLocatorOptions) {
    this.name = srvName;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#resolver = options.resolver ?? systemResolver(options);
  }

  /** The DCs to try, in order: the answer in use, or a fresh one when there is none or it failed. */
  async locate(): Promise<LocatedDc[]> {
    const now = this.#now();
    const found = this.#found;
    // Nothing usable yet and a look-up under way: wait for it, whatever the last one said.
    if (this.#query && (!found || this.#stale)) return this.#query;
    const mayQuery = now - this.#lastQueryAt >= this.#options.requeryAfterMs;
    if (found && !(this.#stale && mayQuery)) {
      if (now >= this.#expiresAt && mayQuery) this.#refresh().catch(() => undefined);
      return found;
    }
    if (!found && !mayQuery && this.#lastError) throw this.#unavailable(this.#lastError);
    return this.#refresh();
  }

  /** Every DC of the answer in use failed: the next locate() asks DNS again. */
  failed(): void {
    this.#stale = true;
  }

  /** The answer in use, without asking DNS (the doctor and the probe print it). */
  get found(): readonly LocatedDc[] | undefined {
    return this.#found;
  }

  close(): void {
    this.#resolver.cancel();
  }

  /** One look-up at a time; concurrent callers share it. */
  #refresh(): Promise<LocatedDc[]> {
    this.#query ??= this.#lookUp().finally(() => {
      this.#query = undefined;
    });
    return this.#query;
  }

  async #lookUp(): Promise<LocatedDc[]> {
    this.#lastQueryAt = this.#now();
    try {
      const found = await withDeadline(this.#resolve(), this.#options.timeoutMs, this.name, () =>
        this.#resolver.cancel(),
      );
      if (found.length === 0) throw new Error(`${this.name} has no SRV record with a target`);
      this.#found = found;
      this.#expiresAt = this.#now() + this.#options.refreshMs;
      this.#stale = false;
      this.#lastError = undefined;
      return found;
    } catch (error) {
      this.#lastError = error as Error;
      // A stale answer beats none: DCs that moved are found again once DNS answers.
      if (this.#found) return this.#found;
      throw this.#unavailable(error as Error);
    }
  }

  async #resolve(): Promise<LocatedDc[]> {
    const records = orderSrv(await this.#resolver.resolveSrv(this.name), this.#options.random);
    return Promise.all(
      records.map(async (record) => ({
        host: record.name,
        port: record.port,
        priority: record.priority,
        weight: record.weight,
        address: await this.#address(record.name),
      })),
    );
  }

  /** The target's address from the same servers; else its name, for the system's resolver (hosts file). */
  async #address(host: string): Promise<string> {
    for (const family of ['resolve4', 'resolve6'] as const) {
      try {
        const [address] = await this.#resolver[family](host);
        if (address) return address;
      } catch {
        // No such record here: try the next family, then the name.
      }
    }
    return host;
  }

  #unavailable(error: Error): ServiceUnavailableError {
    const retryAfterSeconds = Math.max(1, Math.ceil(this.#options.requeryAfterMs / 1000));
    return new ServiceUnavailableError(
      'ERR_NTLM_DC_NOT_FOUND',
      `no domain controller found in DNS (${this.name}): ${(error as { code?: string }).code ?? error.message}`,
      { retryAfterSeconds, cause: error },
    );
  }
}

function systemResolver(options: DcLocatorOptions): DnsResolver {
  // One try per server, each within the whole deadline; withDeadline cancels what is left.
  const resolver = new dns.Resolver({ timeout: options.timeoutMs, tries: 1 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  return resolver;
}

/** `work`, or a timeout error after `ms` (and `cancel()`): a silent DNS server never hangs a logon. */
function withDeadline<T>(work: Promise<T>, ms: number, what: string, cancel: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cancel();
      reject(Object.assign(new Error(`${what}: no DNS answer within ${ms} ms`), { code: 'ETIMEOUT' }));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** `host:port` for a URL, with brackets around an IPv6 address. */
export function hostPort(address: string, port: number | undefined): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}
