import { AuthenticationError, ServiceUnavailableError } from '../errors.js';
import type { RpcConnection } from '../rpc/connection.js';
import { isRequestFault, SEC_PKG_ERROR } from '../rpc/faults.js';
import { RpcFault } from '../rpc/pdu.js';
import { answerMismatch } from './answer-check.js';
import { decodeSamLogonEx, encodeSamLogonEx, type NetworkLogon, Opnum } from './calls.js';
import { encodeInteractiveSamLogonEx, type InteractiveLogon } from './interactive-logon.js';
import { machineLockKey, recordMachineKey, withLatestMachineKey, withMachineLock } from './machine-lock.js';
import {
  authenticateMachine,
  type Endpoint,
  type MachineAccount,
  openSealedConnection,
  probeNetlogon,
  resolvePort,
  type SessionKeyResult,
  unavailable,
} from './secure-channel.js';
import { logonFailure, statusText } from './status.js';
import type { SamInfo4 } from './validation-info.js';

export interface ChannelPoolOptions extends Endpoint {
  /** Sealed connections kept open to this DC at most; each carries one call at a time. */
  readonly maxChannels: number;
  /** Logons waiting for a free channel at most, beyond it 503 at once; undefined: no limit of its own. */
  readonly maxQueue: number | undefined;
  /** How long a logon waits for a free channel (ms). */
  readonly queueTimeoutMs: number;
}

/** How long a probe's failed channel set-up stands before a probe tries again (ms). */
const SETUP_RETRY_MS = 10_000;

interface Waiter {
  /** A channel, or why none came (undefined: the pool closed). */
  readonly resolve: (channel: RpcConnection | Error | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The secure channels to one DC, up to `maxChannels` sealed connections opened lazily, each with
 * a session key of its own: its own NetrServerReqChallenge + NetrServerAuthenticate3, then its
 * schannel bind. A key shared by several connections, each counting its sequence numbers from 0,
 * let a man in the middle replay one connection's sealed answer into another's call (issue 18);
 * under its own key an answer verifies on its own connection only, at its own sequence number.
 *
 * What Samba 4.17 does with several Authenticate3 for one ComputerName (measured here, and in
 * shared/hardened-domain): each replaces the key the DC stores for that name. A connection takes
 * the stored key when it binds: one bound before a later Authenticate3 keeps working, calls made
 * before or after it alike; one that binds after another Authenticate3 than its own is accepted,
 * then its first call gets fault 0x721 (nca_s_sec_pkg_error). So Authenticate3 and the bind that
 * follows run one set-up at a time here (machine-lock.ts), with the LSA channel's. Another process authenticating as the same computer can
 * still come in between: a fresh connection whose first call gets 0x721 is set up once more.
 *
 * A connection that fails is dropped; a call that fails on a connection that had sat idle tries
 * once more on a fresh one (the DC closed it). Waiting logons form a line, each with its own
 * deadline; the line is bounded by `maxQueue` when given, else only by the handshakes the caller
 * lets through (maxPendingHandshakes) and by the deadline.
 */
export class ChannelPool {
  readonly name: string;
  #port: number | undefined;
  readonly #idle: RpcConnection[] = [];
  /** Each channel's session key: an interactive logon's password OWF is encrypted under it. */
  readonly #sessionKeys = new WeakMap<RpcConnection, Buffer>();
  #open = 0;
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** The last channel set-up a readiness probe saw fail, and when. */
  #lastSetupFailure: { at: number; error: unknown } | undefined;

  constructor(
    private readonly options: ChannelPoolOptions,
    private readonly machine: MachineAccount,
    /** Reads the machine password again; true when it changed (see MachinePassword). */
    private readonly rereadPassword: () => Promise<boolean> = async () => false,
  ) {
    this.name = options.port === undefined ? options.host : `${options.host}:${options.port}`;
    this.#port = options.port;
  }

  /**
   * NetrLogonSamLogonEx on a pooled channel: the DC's validation, or the error its status maps to.
   * An answer that does not belong to this logon (answerMismatch) is refused, and its channel
   * dropped.
   */
  async samLogon(computerName: string, logon: NetworkLogon | InteractiveLogon): Promise<SamInfo4> {
    // An interactive logon's OWF is encrypted under the key the DC keeps now (see machine-lock.ts),
    // held for the call; a network logon needs no key of ours and takes no lock.
    const call = (channel: RpcConnection) =>
      'ntOwfPassword' in logon
        ? withLatestMachineKey(this.#lockKey, (key) =>
            channel.call(
              Opnum.NetrLogonSamLogonEx,
              encodeInteractiveSamLogonEx(computerName, logon, key ?? this.#sessionKeys.get(channel)!),
            ),
          )
        : channel.call(Opnum.NetrLogonSamLogonEx, encodeSamLogonEx(computerName, logon));
    let { channel, reused } = await this.#acquire();
    for (let attempt = 0; ; attempt++) {
      let answer: Buffer;
      try {
        answer = await call(channel);
      } catch (error) {
        this.#discard(channel);
        // At most two more channels: an idle one fails once; a 0x721 may meet another process again.
        if (attempt < 2 && worthAnotherChannel(error, reused)) {
          ({ channel, reused } = await this.#acquire(true));
          continue;
        }
        if (error instanceof RpcFault && isRequestFault(error.status)) {
          throw new AuthenticationError(
            'ERR_NTLM_LOGON_FAILED',
            `${this.name} could not read this logon (NetrLogonSamLogonEx fault ${statusText(error.status)})`,
            { claimedUser: logon.userName, cause: error },
          );
        }
        throw unavailable(this.name, 'NetrLogonSamLogonEx failed', error);
      }
      return this.#verdict(channel, answer, logon);
    }
  }

  /**
   * The DC's answer, decoded and checked against the logon it answers. The channel goes back to
   * the pool only when the answer is sound; a channel that carried an answer we cannot trust is
   * dropped. An answer we cannot use is the DC's error (503), not a verdict.
   */
  #verdict(channel: RpcConnection, answer: Buffer, logon: NetworkLogon | InteractiveLogon): SamInfo4 {
    let result: ReturnType<typeof decodeSamLogonEx>;
    try {
      result = decodeSamLogonEx(answer);
    } catch (error) {
      this.#discard(channel);
      throw error;
    }
    const mismatch = result.validation && answerMismatch(result.validation, logon, this.machine.domain);
    if (mismatch) {
      this.#discard(channel);
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_ANSWER_MISMATCH',
        `${this.name}: refused a NetrLogonSamLogonEx answer that does not belong to its logon: ${mismatch}`,
      );
    }
    this.#release(channel);
    if (result.status !== 0) throw logonFailure(result.status, this.name, logon.userName);
    if (!result.validation) {
      throw new ServiceUnavailableError(
        'ERR_NTLM_DC_ERROR',
        `${this.name}: NetrLogonSamLogonEx succeeded without validation info`,
      );
    }
    return result.validation;
  }

  /**
   * Readiness: whether a secure channel to this DC can be opened now. Netlogon must answer (see
   * probeNetlogon) and the pool must hold a channel: an idle or busy one, else one is set up here
   * (through the pool, so the next logon uses it and no other channel's key is replaced). A
   * failed set-up is remembered for a few seconds, so that polls do not re-key the account
   * (and re-read its password file) once a second. Throws if not.
   */
  async probe(now = Date.now()): Promise<void> {
    await probeNetlogon(this.options);
    if (this.#idle.some((channel) => channel.usable) || this.#open > this.#idle.length) return;
    const failed = this.#lastSetupFailure;
    if (failed && now - failed.at < SETUP_RETRY_MS) throw failed.error;
    try {
      const { channel } = await this.#acquire();
      this.#release(channel);
      this.#lastSetupFailure = undefined;
    } catch (error) {
      this.#lastSetupFailure = { at: now, error };
      throw error;
    }
  }

  close(): void {
    this.#closed = true;
    for (const channel of this.#idle.splice(0)) channel.close();
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.resolve(undefined);
    }
  }

  /** An idle channel, or a new one if fewer than maxChannels are open, or a place in line. */
  async #acquire(fresh = false): Promise<{ channel: RpcConnection; reused: boolean }> {
    if (this.#closed) throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `${this.name}: closed`);
    if (!fresh) {
      while (this.#idle.length > 0) {
        const channel = this.#idle.pop()!;
        if (channel.usable) return { channel, reused: true };
        this.#open--;
      }
    }
    if (this.#open < this.options.maxChannels) {
      this.#open++;
      try {
        return { channel: await this.#openChannel(), reused: false };
      } catch (error) {
        this.#open--;
        this.#wakeOne();
        throw error;
      }
    }
    const channel = await this.#wait();
    return { channel, reused: true };
  }

  #wait(): Promise<RpcConnection> {
    if (this.options.maxQueue !== undefined && this.#waiters.length >= this.options.maxQueue) {
      return Promise.reject(busy(this.name, `${this.options.maxQueue} logons already wait for a channel`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (channel) => {
          if (channel instanceof Error) reject(channel);
          else if (channel) resolve(channel);
          else reject(new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `${this.name}: closed`));
        },
        timer: setTimeout(() => {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          reject(busy(this.name, `no free channel within ${this.options.queueTimeoutMs} ms`));
        }, this.options.queueTimeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  #release(channel: RpcConnection): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(channel);
    } else if (this.#closed) {
      this.#discard(channel);
    } else {
      this.#idle.push(channel);
    }
  }

  #discard(channel: RpcConnection): void {
    channel.close();
    this.#open--;
    this.#wakeOne();
  }

  /** A slot freed up: the first in line opens a channel of its own. */
  #wakeOne(): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.#open++;
    // The set-up's own error, not "closed": a set-up that failed for load must not read as an outage.
    this.#openChannel().then(waiter.resolve, (error: Error) => {
      this.#open--;
      waiter.resolve(error);
    });
  }

  /**
   * A new sealed channel under a key of its own. Set-ups run one at a time (see the class), under
   * the process-wide lock of this DC and computer name, which the LSA channel takes too.
   */
  #openChannel(): Promise<RpcConnection> {
    return withMachineLock(this.#lockKey, () => this.#setUpChannel());
  }

  get #lockKey(): string {
    return machineLockKey(this.options.host, this.machine.computerName);
  }

  async #setUpChannel(): Promise<RpcConnection> {
    if (this.#closed) throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `${this.name}: closed`);
    // A port the endpoint mapper gave earlier may be stale (the DC restarted): ask again once.
    const remembered = this.options.port === undefined && this.#port !== undefined;
    try {
      return await this.#authenticateAndBind(await this.#resolvePort());
    } catch (error) {
      if (isMachineRefused(error)) throw error;
      if (this.options.port === undefined) this.#port = undefined;
      if (!remembered) throw asUnavailable(this.name, error);
    }
    try {
      return await this.#authenticateAndBind(await this.#resolvePort());
    } catch (error) {
      if (this.options.port === undefined) this.#port = undefined;
      throw asUnavailable(this.name, error);
    }
  }

  async #resolvePort(): Promise<number> {
    try {
      this.#port ??= await resolvePort(this.options);
      return this.#port;
    } catch (error) {
      throw unavailable(this.name, 'endpoint mapper', error);
    }
  }

  async #authenticateAndBind(port: number): Promise<RpcConnection> {
    const { sessionKey } = await this.#authenticate(port);
    recordMachineKey(this.#lockKey, sessionKey);
    const channel = await openSealedConnection(this.options, port, this.machine, sessionKey);
    this.#sessionKeys.set(channel, sessionKey);
    return channel;
  }

  /**
   * NetrServerAuthenticate3; when the DC refuses the machine account, its password may have been
   * rotated: the password is read again and, if it changed, tried once more.
   */
  async #authenticate(port: number): Promise<SessionKeyResult> {
    try {
      return await authenticateMachine(this.options, port, this.machine);
    } catch (error) {
      if (!isMachineRefused(error) || !(await this.rereadPassword())) throw error;
      return authenticateMachine(this.options, port, this.machine);
    }
  }
}

/**
 * One more try on a fresh channel: after a transport failure on an idle connection (the DC closed
 * it), or a first call refused with 0x721 (another Authenticate3 as this computer, from another
 * process, came between ours and our bind).
 */
function worthAnotherChannel(error: unknown, reused: boolean): boolean {
  if (error instanceof RpcFault) return !reused && error.status === SEC_PKG_ERROR;
  return reused;
}

function isMachineRefused(error: unknown): boolean {
  return error instanceof ServiceUnavailableError && error.code === 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED';
}

function asUnavailable(dc: string, error: unknown): Error {
  if (error instanceof ServiceUnavailableError || error instanceof AuthenticationError) return error;
  return unavailable(dc, 'secure channel', error);
}

function busy(dc: string, why: string): ServiceUnavailableError {
  return new ServiceUnavailableError('ERR_NTLM_TOO_MANY_HANDSHAKES', `${dc}: ${why}`, {
    retryAfterSeconds: 1,
  });
}
