import { DcSelector } from '../dc/dc-selector.js';
import { DEFAULTS } from '../defaults.js';
import { AuthenticationError, ConfigurationError, isNtlmError, ServiceUnavailableError } from '../errors.js';
import type { PasswordLogon, PasswordVerifier } from '../mechanisms/password-verifier.js';
import { type ObservableVerifier, Observers, type VerifierObserver } from '../metrics/observer.js';
import type { ProbedVerifier, ReadinessReport } from '../metrics/readiness.js';
import { ChannelPool } from '../netlogon/channel-pool.js';
import { MachinePassword, type MachinePasswordSource } from '../netlogon/machine-password.js';
import { type SamInfo4, samInfoSids, UserFlags } from '../netlogon/validation-info.js';
import { ntowfv1 } from '../ntlm/crypto.js';
import type { ServerNames } from '../ntlm/server-challenge.js';
import { checkMic, checkNtlmV2Timestamp } from '../ntlm/verify-ntlmv2.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { HandshakeStart, NetlogonOptions, NtlmIdentity, PendingHandshake, Verifier } from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';
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
function machinePasswordSource(options: NetlogonOptions): MachinePasswordSource {
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
  readonly #pools: ReadonlyMap<string, ChannelPool>;
  readonly #selector: DcSelector;
  readonly #maxClockSkewMs: number;
  readonly #passwordObservers = new Observers<VerifierObserver>();

  constructor(options: NetlogonOptions) {
    knownKeysOnly(options, OPTION_KEYS.netlogon, 'netlogon()');
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
    if (!Array.isArray(options.dcs) || options.dcs.length === 0) {
      throw new ConfigurationError(
        "netlogon: dcs must list at least one domain controller, e.g. ['dc1.example.test']",
      );
    }
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
    const downtimeMs = positive(options.downtimeMs, DEFAULTS.netlogon.downtimeMs, 'downtimeMs');
    this.#maxClockSkewMs = positive(
      options.maxClockSkewMs,
      DEFAULTS.netlogon.maxClockSkewMs,
      'maxClockSkewMs',
    );
    const password = new MachinePassword(machinePasswordSource(options), (event) =>
      this.#passwordObservers.each((observer) => observer.machinePasswordReread?.(event)),
    );

    const dnsDomain = (options.dnsDomain ?? `${domain}.local`).toLowerCase();
    // The DNS name only when given: the `.local` stand-in is for the CHALLENGE, not a realm to accept.
    this.domains = options.dnsDomain === undefined ? [domain] : [domain, dnsDomain];
    this.#computerName = computerName;
    this.#names = {
      netbiosDomain: domain,
      netbiosComputer: computerName,
      dnsDomain,
      dnsComputer: `${computerName.toLowerCase()}.${dnsDomain}`,
    };
    const pools = new Map<string, ChannelPool>();
    for (const dc of options.dcs) {
      const { host, port } = parseNetlogonDc(dc);
      const pool = new ChannelPool(
        { host, port, connectTimeoutMs, callTimeoutMs, maxChannels, maxQueue, queueTimeoutMs },
        {
          domain,
          computerName,
          get ntHash() {
            return password.ntHash;
          },
        },
        () => password.reread(),
      );
      if (pools.has(pool.name)) throw new ConfigurationError(`netlogon: DC ${dc} is listed twice`);
      pools.set(pool.name, pool);
    }
    this.#pools = pools;
    this.#selector = new DcSelector(new Map([[SELECTOR_KEY, [...pools.keys()]]]), {
      downtimeMs,
      // A trial logon may wait in line, then open a channel (endpoint mapper, authenticate, bind).
      trialTimeoutMs: queueTimeoutMs + 3 * (connectTimeoutMs + callTimeoutMs),
    });
    this.name = `netlogon://${[...pools.keys()].join(',')}`;
  }

  async startHandshake(start: HandshakeStart): Promise<PendingHandshake> {
    return ownChallengeHandshake(
      start,
      this.#names,
      async (finish, { serverChallenge, negotiateToken, challengeToken }): Promise<VerifiedLogon> => {
        const { authenticate, ntlmV2 } = finish;
        const claimedUser = authenticate.user;
        const info = await this.#logon({
          logonDomainName: authenticate.domain,
          userName: authenticate.user,
          workstation: authenticate.workstation,
          lmChallenge: serverChallenge,
          ntChallengeResponse: authenticate.ntChallengeResponse,
          lmChallengeResponse: authenticate.lmChallengeResponse,
        });
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
        return { identity: this.#identity(info, authenticate.workstation), exportedSessionKey };
      },
    );
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
    return this.#identity(info, '');
  }

  async close(): Promise<void> {
    for (const pool of this.#pools.values()) pool.close();
  }

  /** DC transitions and NetrLogonSamLogonEx latency, to `observer`. */
  observe(observer: VerifierObserver): () => void {
    // Named as in this.name and the probe, so that an LDAP and a Netlogon DC are told apart.
    const named = (dc: string) => `netlogon://${dc}`;
    const stopPassword = this.#passwordObservers.add(observer);
    const stopSelector = this.#selector.observe({
      dcKnown: (dc) => observer.dcKnown(named(dc)),
      dcDown: (dc, reason) => observer.dcDown(named(dc), reason),
      dcUp: (dc, downForMs) => observer.dcUp(named(dc), downForMs),
      dcLatency: (dc, operation, seconds) => observer.dcLatency(named(dc), operation, seconds),
    });
    return () => {
      stopPassword();
      stopSelector();
    };
  }

  /** Ready when one DC's netlogon answers (endpoint mapper and an unauthenticated bind). */
  async probe(): Promise<ReadinessReport> {
    const checks = await Promise.all(
      [...this.#pools.values()].map((pool) =>
        pool.probe().then(
          () => ({ name: `netlogon://${pool.name}`, ok: true }),
          (error: Error) => ({ name: `netlogon://${pool.name}`, ok: false, detail: error.message }),
        ),
      ),
    );
    return { ready: checks.some((check) => check.ok), checks };
  }

  /** Asks the DCs in order, skipping those that failed recently; a verdict from any DC is final. */
  async #logon(logon: Parameters<ChannelPool['samLogon']>[1]): Promise<SamInfo4> {
    const candidates = this.#selector.candidates(SELECTOR_KEY);
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
        const info = await this.#pools.get(dc)!.samLogon(this.#computerName, logon);
        answered();
        this.#selector.markUp(dc);
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

export function netlogon(options: NetlogonOptions): NetlogonVerifier {
  return new NetlogonVerifier(options);
}
