import { DcSelector } from '../dc/dc-selector.js';
import { DirectoryCache } from '../dc/directory-cache.js';
import { FoundDcs } from '../dc/found-dcs.js';
import { DirectoryIdentity } from '../dc/identity.js';
import { ServiceAccountDirectory } from '../dc/service-account.js';
import { SidNameResolver } from '../dc/sid-name-resolver.js';
import { DEFAULTS } from '../defaults.js';
import { AuthenticationError, ConfigurationError, isNtlmError, ServiceUnavailableError } from '../errors.js';
import { LsaChannel } from '../lsa/lsa-channel.js';
import { lsaSidNames } from '../lsa/lsa-source.js';
import type { PasswordLogon, PasswordVerifier } from '../mechanisms/password-verifier.js';
import { type ObservableVerifier, Observers, type VerifierObserver } from '../metrics/observer.js';
import type { ProbedVerifier, ReadinessReport } from '../metrics/readiness.js';
import { ChannelPool } from '../netlogon/channel-pool.js';
import { LogonDeadline, logonDeadlineMs } from '../netlogon/deadline.js';
import { MachinePassword, type MachinePasswordSource } from '../netlogon/machine-password.js';
import { MachineAccountRefusedError } from '../netlogon/secure-channel.js';
import { type SamInfo4, samInfoSids, UserFlags } from '../netlogon/validation-info.js';
import { ntowfv1 } from '../ntlm/crypto.js';
import type { ServerNames } from '../ntlm/server-challenge.js';
import { checkMic, checkNtlmV2Timestamp } from '../ntlm/verify-ntlmv2.js';
import { OPTION_KEYS } from '../option-keys.js';
import { MemoryStore } from '../store/store.js';
import type {
  DirectoryCacheOptions,
  HandshakeStart,
  NetlogonOptions,
  NtlmIdentity,
  PendingHandshake,
  Verifier,
} from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
import { checkDnsDomain, type DcDnsInternals, dcLocator } from './dc-dns.js';
import { checkLookup } from './domain-controller.js';
import { ownChallengeHandshake, type VerifiedLogon } from './own-challenge.js';

const NETBIOS_NAME = /^[^\\/:*?"<>|\u0000-\u001f]{1,15}$/;
const HOST_PORT = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;
const SELECTOR_KEY = 'dcs';

/** A DC as `host`, `host:port` or `[v6]:port`; without a port, the endpoint mapper is asked. */
export function parseNetlogonDc(dc: unknown): { host: string; port: number | undefined } {
  const match = typeof dc === 'string' ? HOST_PORT.exec(dc.trim()) : null;
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    throw new ConfigurationError(`netlogon: DC ${JSON.stringify(dc)} is not host or host:port`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** A count or a time in milliseconds: a positive whole number, e.g. 30000 (not '30s'). */
function positive(value: unknown, fallback: number, name: string): number {
  return positiveInteger(value, name, fallback, 'netlogon()');
}

/** Where the machine password comes from: exactly one of the two options. */
function machinePasswordSource(
  options: Pick<NetlogonOptions, 'machinePassword' | 'machinePasswordFile'>,
): MachinePasswordSource {
  const { machinePassword, machinePasswordFile } = options;
  if ((machinePassword === undefined) === (machinePasswordFile === undefined)) {
    throw new ConfigurationError(
      'netlogon: give exactly one of machinePassword or machinePasswordFile (the password of the computer account, e.g. from `samba-tool computer create` or `Set-ADAccountPassword`)',
    );
  }
  if (machinePasswordFile !== undefined) return { file: machinePasswordFile };
  if (typeof machinePassword !== 'string' || machinePassword === '') {
    throw new ConfigurationError('netlogon: machinePassword must be a non-empty string');
  }
  return { password: machinePassword };
}

/** The machine account netlogon() takes, checked as it checks it (the doctor checks the same one). */
export interface NetlogonMachineAccount {
  /** The NetBIOS domain, upper case. */
  readonly domain: string;
  /** The computer name, upper case, without the `$`. */
  readonly computerName: string;
  readonly password: MachinePasswordSource;
}

/** The domain, the computer account and where its password comes from; ConfigurationError when one is wrong. */
export function netlogonMachineAccount(
  options: Pick<NetlogonOptions, 'domain' | 'machineAccount' | 'machinePassword' | 'machinePasswordFile'>,
): NetlogonMachineAccount {
  const domain = options?.domain?.toUpperCase();
  if (!domain || !NETBIOS_NAME.test(domain)) {
    throw new ConfigurationError(
      `netlogon: domain must be the NetBIOS domain name (1-15 characters, e.g. EXAMPLE), got ${JSON.stringify(options?.domain)}`,
    );
  }
  const account = typeof options.machineAccount === 'string' ? options.machineAccount.toUpperCase() : '';
  const computerName = account.endsWith('$') ? account.slice(0, -1) : account;
  if (!NETBIOS_NAME.test(computerName) || computerName.includes('$')) {
    throw new ConfigurationError(
      `netlogon: machineAccount must be a computer account name such as WEB01$ (at most 15 characters before the $), got ${JSON.stringify(options.machineAccount)}`,
    );
  }
  return { domain, computerName, password: machinePasswordSource(options) };
}

/** Only a DC that did not answer trips the breaker; one that answered oddly (status, NDR, an answer for another logon) costs that logon only. */
const DC_FAILED: ReadonlySet<string> = new Set([
  'ERR_NTLM_DC_UNAVAILABLE',
  'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED',
]);

/**
 * Validates NTLM logons as IIS does on a domain member: our own CHALLENGE for every client, then
 * the DC's verdict over the Netlogon secure channel of a machine account (MS-NRPC
 * NetrLogonSamLogonEx, sealed schannel). Works against DCs that require LDAP signing, and with
 * clients that do not sign. The identity comes from the DC's answer only.
 */
export class NetlogonVerifier implements Verifier, PasswordVerifier, ObservableVerifier, ProbedVerifier {
  readonly name: string;
  readonly domains: readonly string[];
  readonly #names: ServerNames;
  readonly #computerName: string;
  /** One pool per DC, by name; DCs found in DNS get theirs when first tried. */
  readonly #pools = new Map<string, ChannelPool>();
  readonly #newPool: (host: string, port: number | undefined) => ChannelPool;
  readonly #selector: DcSelector;
  /** With dcs: 'auto', the DCs found in DNS. */
  readonly #found: FoundDcs | undefined;
  readonly #maxClockSkewMs: number;
  /** How long one logon may wait for the DCs, all steps together (see deadline.ts). */
  readonly #deadlineMs: number;
  readonly #passwordObservers = new Observers<VerifierObserver>();
  readonly #lsaChannels = new Map<string, LsaChannel>();
  readonly #newLsaChannel: (host: string, port: number | undefined) => LsaChannel;
  readonly #cache: DirectoryCache | undefined;
  readonly #sidNames: SidNameResolver;
  /** The lookup account, when configured: `mail` (Netlogon's answer has none). */
  readonly #lookup: DirectoryIdentity | undefined;
  /** The DC that answered the latest logon: asked first for names. */
  #lastAnswered: string | undefined;

  constructor(options: NetlogonOptions, internals: DcDnsInternals = {}) {
    knownKeysOnly(options, OPTION_KEYS.netlogon, 'netlogon()');
    const { domain, computerName, password: passwordSource } = netlogonMachineAccount(options);
    const auto = options.dcs === 'auto';
    if (!auto && (!Array.isArray(options.dcs) || options.dcs.length === 0)) {
      throw new ConfigurationError(
        "netlogon: dcs must list at least one domain controller, e.g. ['dc1.example.test'], or be 'auto' (found in DNS)",
      );
    }
    // With 'auto' the DNS domain is where the DCs are looked up: no guess (<domain>.local) will do.
    const autoDnsDomain = auto ? checkDnsDomain(options.dnsDomain, 'netlogon()', 'dnsDomain') : undefined;
    const connectTimeoutMs = positive(
      options.connectTimeoutMs,
      DEFAULTS.netlogon.connectTimeoutMs,
      'connectTimeoutMs',
    );
    const callTimeoutMs = positive(options.callTimeoutMs, DEFAULTS.netlogon.callTimeoutMs, 'callTimeoutMs');
    const maxChannels = positive(
      options.maxChannelsPerDc,
      DEFAULTS.netlogon.maxChannelsPerDc,
      'maxChannelsPerDc',
    );
    // No line of its own by default: every waiting logon holds one of ntlm()'s maxPendingHandshakes.
    const maxQueue =
      options.maxQueuedLogons === undefined
        ? undefined
        : positive(options.maxQueuedLogons, 0, 'maxQueuedLogons');
    const queueTimeoutMs = positive(
      options.queueTimeoutMs,
      DEFAULTS.netlogon.queueTimeoutMs,
      'queueTimeoutMs',
    );
    this.#deadlineMs = logonDeadlineMs({ queueTimeoutMs, connectTimeoutMs, callTimeoutMs });
    const downtimeMs = positive(options.downtimeMs, DEFAULTS.netlogon.downtimeMs, 'downtimeMs');
    this.#maxClockSkewMs = positive(
      options.maxClockSkewMs,
      DEFAULTS.netlogon.maxClockSkewMs,
      'maxClockSkewMs',
    );
    const password = new MachinePassword(passwordSource, (event) =>
      this.#passwordObservers.each((observer) => observer.machinePasswordReread?.(event)),
    );

    const dnsDomain = autoDnsDomain ?? (options.dnsDomain ?? `${domain}.local`).toLowerCase();
    // The DNS name only when given: the `.local` stand-in is for the CHALLENGE, not a realm to accept.
    this.domains = options.dnsDomain === undefined ? [domain] : [domain, dnsDomain];
    this.#computerName = computerName;
    this.#names = {
      netbiosDomain: domain,
      netbiosComputer: computerName,
      dnsDomain,
      dnsComputer: `${computerName.toLowerCase()}.${dnsDomain}`,
    };
    // One account for the pools and the LSA channels; its hash is read at each use, so that a
    // password read again after a rotation reaches both.
    const machine = {
      domain,
      computerName,
      get ntHash() {
        return password.ntHash;
      },
    };
    this.#newLsaChannel = (host, port) =>
      new LsaChannel({ host, port, connectTimeoutMs, callTimeoutMs }, machine);
    this.#newPool = (host, port) =>
      new ChannelPool(
        { host, port, connectTimeoutMs, callTimeoutMs, maxChannels, maxQueue, queueTimeoutMs },
        machine,
        () => password.reread(),
      );
    for (const dc of auto ? [] : (options.dcs as string[])) {
      const { host, port } = parseNetlogonDc(dc);
      const pool = this.#newPool(host, port);
      if (this.#pools.has(pool.name)) throw new ConfigurationError(`netlogon: DC ${dc} is listed twice`);
      this.#pools.set(pool.name, pool);
      this.#lsaChannels.set(pool.name, this.#newLsaChannel(host, port));
    }
    this.#cache = directoryCache(options.cache);
    const lookup = checkLookup(options.lookup, undefined, 'netlogon()');
    this.#lookup =
      lookup &&
      new DirectoryIdentity(
        new ServiceAccountDirectory(lookup, {
          connectTimeoutMs,
          operationTimeoutMs: callTimeoutMs,
          queueTimeoutMs,
        }),
        this.#cache,
      );
    this.#selector = new DcSelector(new Map([[SELECTOR_KEY, [...this.#pools.keys()]]]), {
      downtimeMs,
      // A trial logon may wait in line, then open a channel (endpoint mapper, authenticate, bind).
      trialTimeoutMs: this.#deadlineMs,
    });
    // A found DC is dialled at its address, through its endpoint mapper: the SRV port is LDAP's.
    this.#found = auto
      ? new FoundDcs(
          dcLocator(dnsDomain, options.dns, 'netlogon()', internals),
          this.#selector,
          SELECTOR_KEY,
          (dc) => dc.address,
        )
      : undefined;
    this.name = `netlogon://${auto ? `auto:${dnsDomain}` : [...this.#pools.keys()].join(',')}`;
    // Group names as IIS has them: the same machine account names SIDs through LSA (lsa/), first
    // on the DC that answered the last logon (it is up), then the others in the selector's order.
    const ordered = () => {
      const dcs = this.#selector.dcs(SELECTOR_KEY);
      const last = this.#lastAnswered;
      const first = last !== undefined && dcs.includes(last) ? [last] : [];
      return [...first, ...dcs.filter((dc) => dc !== last)].map((dc) => this.#lsaChannel(dc));
    };
    this.#sidNames = new SidNameResolver(lsaSidNames(ordered, downtimeMs), this.#cache);
  }

  /** A DC that DNS no longer names loses its pool and LSA channel: idle channels close, busy ones on release. */
  #dropPoolsNoLongerFound(): void {
    const listed = new Set(this.#selector.dcs(SELECTOR_KEY));
    for (const [dc, pool] of this.#pools) {
      if (listed.has(dc)) continue;
      pool.close();
      this.#pools.delete(dc);
      this.#lsaChannels.get(dc)?.close();
      this.#lsaChannels.delete(dc);
    }
  }

  /** The pool of a DC the selector chose (made on first use for a DC found in DNS). */
  #pool(dc: string): ChannelPool {
    let pool = this.#pools.get(dc);
    if (!pool) {
      pool = this.#newPool(dc, undefined);
      this.#pools.set(dc, pool);
    }
    return pool;
  }

  /** The LSA channel of a DC (made on first use for a DC found in DNS). */
  #lsaChannel(dc: string): LsaChannel {
    let channel = this.#lsaChannels.get(dc);
    if (!channel) {
      channel = this.#newLsaChannel(dc, undefined);
      this.#lsaChannels.set(dc, channel);
    }
    return channel;
  }

  async startHandshake(start: HandshakeStart): Promise<PendingHandshake> {
    return ownChallengeHandshake(
      start,
      this.#names,
      async (finish, { serverChallenge, negotiateToken, challengeToken }): Promise<VerifiedLogon> => {
        const { authenticate, ntlmV2 } = finish;
        const claimedUser = authenticate.user;
        const deadline = new LogonDeadline(this.#deadlineMs);
        const info = await deadline.race(
          this.#logon({
            logonDomainName: authenticate.domain,
            userName: authenticate.user,
            workstation: authenticate.workstation,
            lmChallenge: serverChallenge,
            ntChallengeResponse: authenticate.ntChallengeResponse,
            lmChallengeResponse: authenticate.lmChallengeResponse,
          }),
          'Netlogon',
        );
        checkNtlmV2Timestamp(ntlmV2, Date.now(), this.#maxClockSkewMs, claimedUser);
        const exportedSessionKey = checkMic({
          sessionBaseKey: info.userSessionKey,
          negotiateToken,
          challengeToken,
          authenticateToken: finish.authenticateToken,
          authenticate,
          response: ntlmV2,
        });
        // The identity policy refuses Guest by its RID; only the DC's flag is seen here alone.
        if ((info.userFlags & UserFlags.LOGON_GUEST) !== 0) {
          throw new AuthenticationError('ERR_NTLM_GUEST_REFUSED', 'the DC logged the user on as Guest', {
            claimedUser,
          });
        }
        const identity = await deadline.race(
          this.nameGroups(this.#identity(info, authenticate.workstation)),
          'group names (LSA)',
        );
        return { identity, exportedSessionKey };
      },
    );
  }

  /**
   * `groups` (names) for the group SIDs of an identity, through the DCs' LSA (LsarLookupSids3 as
   * the machine account), cached per SID, and `mail` through the lookup account when there is
   * one: for this verifier's logons and for Kerberos logons (the PAC carries SIDs only).
   */
  async nameGroups<T extends NtlmIdentity>(identity: T): Promise<T> {
    // Bounded as a logon is (a Kerberos logon waits for it too): LSA calls queue one at a time.
    const [named, mail] = await new LogonDeadline(this.#deadlineMs).race(
      Promise.all([this.#sidNames.nameGroups(identity), this.#lookup?.mailOf(identity.sid)]),
      'group names (LSA)',
    );
    return mail === undefined ? named : { ...named, mail };
  }

  /**
   * Basic: the password checked by the DC as an interactive logon (NETLOGON_INTERACTIVE_INFO with
   * the NT OWF encrypted under the channel's key), the identity from its validation info.
   */
  async verifyPassword(logon: PasswordLogon): Promise<NtlmIdentity> {
    const info = await this.#logon({
      logonDomainName: logon.domain,
      userName: logon.username,
      workstation: this.#computerName,
      ntOwfPassword: await ntowfv1(logon.password),
    });
    if ((info.userFlags & UserFlags.LOGON_GUEST) !== 0) {
      throw new AuthenticationError('ERR_NTLM_GUEST_REFUSED', 'the DC logged the user on as Guest', {
        claimedUser: logon.username,
      });
    }
    return this.nameGroups(this.#identity(info, ''));
  }

  async close(): Promise<void> {
    this.#found?.locator.close();
    for (const pool of this.#pools.values()) pool.close();
    for (const channel of this.#lsaChannels.values()) channel.close();
    await this.#lookup?.close();
  }

  /** DC transitions and NetrLogonSamLogonEx latency, to `observer`. */
  observe(observer: VerifierObserver): () => void {
    // Named as in this.name and the probe, so that an LDAP and a Netlogon DC are told apart.
    const named = (dc: string) => `netlogon://${dc}`;
    const stopPassword = this.#passwordObservers.add(observer);
    const stopCache = this.#cache?.observe(observer);
    const stopSelector = this.#selector.observe({
      dcKnown: (dc) => observer.dcKnown(named(dc)),
      dcDown: (dc, reason) => observer.dcDown(named(dc), reason),
      dcUp: (dc, downForMs) => observer.dcUp(named(dc), downForMs),
      dcLatency: (dc, operation, seconds) => observer.dcLatency(named(dc), operation, seconds),
    });
    return () => {
      stopPassword();
      stopSelector();
      stopCache?.();
    };
  }

  /** Ready when a secure channel to one DC can be opened (see ChannelPool.probe). */
  async probe(): Promise<ReadinessReport> {
    let dcs = [...this.#pools.keys()];
    if (this.#found) {
      const found = this.#found;
      try {
        dcs = [...(await found.update())];
      } catch (error) {
        const name = `dns:${found.locator.name}`;
        return { ready: false, checks: [{ name, ok: false, detail: (error as Error).message }] };
      }
    }
    const checks = await Promise.all(
      dcs
        .map((dc) => this.#pool(dc))
        .map((pool) =>
          pool.probe().then(
            () => ({ name: `netlogon://${pool.name}`, ok: true }),
            (error: Error) => ({
              name: `netlogon://${pool.name}`,
              ok: false,
              detail: error.message,
              // A refused computer account is a setting to fix, not an outage.
              fix: error instanceof MachineAccountRefusedError ? MACHINE_ACCOUNT_FIX : undefined,
            }),
          ),
        ),
    );
    return { ready: checks.some((check) => check.ok), checks };
  }

  /** Asks the DCs in order, skipping those that failed recently; a verdict from any DC is final. */
  async #logon(logon: Parameters<ChannelPool['samLogon']>[1]): Promise<SamInfo4> {
    let candidates: string[];
    if (this.#found) {
      candidates = await this.#found.candidates();
      this.#dropPoolsNoLongerFound();
    } else candidates = this.#selector.candidates(SELECTOR_KEY);
    if (candidates.length === 0) {
      const retryAfterSeconds = this.#selector.retryAfterSeconds(SELECTOR_KEY);
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_UNAVAILABLE',
        `no domain controller answered Netlogon recently (next try in ${retryAfterSeconds} s)`,
        { retryAfterSeconds },
      );
    }
    let last: unknown;
    for (const dc of candidates) {
      // Timed as the logon sees it: a wait for a free channel, or a channel's set-up, included.
      const started = performance.now();
      const answered = () => this.#selector.answered(dc, 'samlogon', (performance.now() - started) / 1000);
      try {
        const info = await this.#pool(dc).samLogon(this.#computerName, logon);
        answered();
        this.#selector.markUp(dc);
        this.#lastAnswered = dc;
        return info;
      } catch (error) {
        if (error instanceof AuthenticationError) {
          answered();
          this.#selector.markUp(dc);
          throw error;
        }
        last = error;
        // A full line of waiting logons is load, not an outage; a DC that answered is up.
        if (!isNtlmError(error) || DC_FAILED.has(error.code))
          this.#selector.markDown(dc, Date.now(), (error as Error).message);
      }
    }
    this.#found?.failed();
    if (last instanceof ServiceUnavailableError) throw last;
    throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `Netlogon failed: ${String(last)}`, {
      cause: last,
    });
  }

  #identity(info: SamInfo4, workstation: string): NtlmIdentity {
    if (!info.effectiveName || !info.logonDomainId) {
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_ERROR',
        'the DC answered without account name or domain SID',
      );
    }
    const { sid, groupSids } = samInfoSids(info);
    return {
      username: info.effectiveName,
      domain: info.logonDomainName || this.#names.netbiosDomain,
      workstation,
      displayName: info.fullName || undefined,
      userPrincipalName: info.upn || undefined,
      sid,
      groupSids,
    };
  }
}

/** The per-SID name cache: `cache: false` turns it off, `{ store }` shares it (a RedisStore). */
function directoryCache(options: DirectoryCacheOptions | false | undefined): DirectoryCache | undefined {
  if (options === false) return undefined;
  const ttlSeconds = positive(options?.ttlSeconds, DEFAULTS.netlogon.cacheTtlSeconds, 'cache.ttlSeconds');
  return new DirectoryCache(options?.store ?? new MemoryStore({ maxEntries: 10_000 }), ttlSeconds);
}

/** What to change when the DC refuses the computer account (readiness logs it at error). */
const MACHINE_ACCOUNT_FIX =
  'set the computer account password and machinePasswordFile (--machine-password-file) to the same value ' +
  '(Set-ADAccountPassword; samba-tool user setpassword), or create the account (New-ADComputer; samba-tool computer create)';

export function netlogon(options: NetlogonOptions): NetlogonVerifier {
  return new NetlogonVerifier(options);
}
