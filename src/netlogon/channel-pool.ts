import { AuthenticationError, ServiceUnavailableError } from '../errors.js';
import type { RpcConnection } from '../rpc/connection.js';
import { RpcFault } from '../rpc/pdu.js';
import { decodeSamLogonEx, encodeSamLogonEx, type NetworkLogon, Opnum } from './calls.js';
import {
  authenticateMachine,
  type Endpoint,
  type MachineAccount,
  openSealedConnection,
  probeNetlogon,
  resolvePort,
  unavailable,
} from './secure-channel.js';
import { logonFailure } from './status.js';
import type { SamInfo4 } from './validation-info.js';

export interface ChannelPoolOptions extends Endpoint {
  /** Sealed connections kept open to this DC at most; each carries one call at a time. */
  readonly maxChannels: number;
  /** Logons waiting for a free channel at most; beyond it, 503 at once. */
  readonly maxQueue: number;
  /** How long a logon waits for a free channel (ms). */
  readonly queueTimeoutMs: number;
}

interface Waiter {
  readonly resolve: (channel: RpcConnection | undefined) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The secure channels to one DC: one session key (NetrServerAuthenticate3), shared by up to
 * `maxChannels` sealed connections, opened lazily. A connection that fails is dropped; a bind
 * that fails under a known key tries once more under a fresh one (the DC restarted and forgot
 * it); a call that fails on a connection that had sat idle tries once more on a fresh one (the
 * DC closed it). Waiting logons form a bounded line, each with its own deadline.
 */
export class ChannelPool {
  readonly name: string;
  #port: number | undefined;
  #sessionKey: Promise<Buffer> | undefined;
  readonly #idle: RpcConnection[] = [];
  #open = 0;
  readonly #waiters: Waiter[] = [];
  #closed = false;
  /** The session key each channel was bound under: only a channel under the current one resets it. */
  readonly #keyOf = new WeakMap<RpcConnection, Promise<Buffer>>();

  constructor(
    private readonly options: ChannelPoolOptions,
    private readonly machine: MachineAccount,
  ) {
    this.name = options.port === undefined ? options.host : `${options.host}:${options.port}`;
    this.#port = options.port;
  }

  /** NetrLogonSamLogonEx on a pooled channel: the DC's validation, or the error its status maps to. */
  async samLogon(computerName: string, logon: NetworkLogon): Promise<SamInfo4> {
    const stub = encodeSamLogonEx(computerName, logon);
    let { channel, reused } = await this.#acquire();
    for (let attempt = 0; ; attempt++) {
      let answer: Buffer;
      try {
        answer = await channel.call(Opnum.NetrLogonSamLogonEx, stub);
      } catch (error) {
        this.#discard(channel);
        if (reused && attempt === 0 && !(error instanceof RpcFault)) {
          // An idle connection the DC has since closed (restart, idle timeout): one more try.
          ({ channel, reused } = await this.#acquire(true));
          continue;
        }
        if (!reused && attempt === 0 && isStaleKey(error)) {
          // Bound under a key the DC has since replaced (another Authenticate3 for this machine,
          // e.g. the LSA channel): Samba accepts the bind, then fails the first call with 0x721.
          if (this.#sessionKey === this.#keyOf.get(channel)) this.#sessionKey = undefined;
          ({ channel, reused } = await this.#acquire(true));
          continue;
        }
        throw unavailable(this.name, 'NetrLogonSamLogonEx failed', error);
      }
      this.#release(channel);
      const result = decodeSamLogonEx(answer);
      if (result.status !== 0) throw logonFailure(result.status, this.name, logon.userName);
      if (!result.validation)
        throw unavailable(this.name, 'NetrLogonSamLogonEx', 'success without validation');
      return result.validation;
    }
  }

  /** Readiness: whether this DC's netlogon answers now (see probeNetlogon). Throws if not. */
  async probe(): Promise<void> {
    await probeNetlogon(this.options);
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
    if (this.#waiters.length >= this.options.maxQueue) {
      return Promise.reject(busy(this.name, `${this.options.maxQueue} logons already wait for a channel`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (channel) => {
          if (channel) resolve(channel);
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
    this.#openChannel().then(waiter.resolve, () => {
      this.#open--;
      waiter.resolve(undefined);
    });
  }

  async #openChannel(): Promise<RpcConnection> {
    let port: number;
    try {
      port = this.#port ?? (await resolvePort(this.options));
    } catch (error) {
      throw unavailable(this.name, 'endpoint mapper', error);
    }
    this.#port = port;
    const known = this.#sessionKey !== undefined;
    try {
      return await this.#bindUnderKey(port);
    } catch (error) {
      if (error instanceof ServiceUnavailableError && error.code === 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED')
        throw error;
      this.#sessionKey = undefined;
      if (this.options.port === undefined) this.#port = undefined; // the DC may listen elsewhere after a restart
      if (!known) throw unavailable(this.name, 'secure channel', error);
    }
    // The bind failed under a key agreed earlier: agree a new one and bind once more.
    try {
      port = this.#port ?? (await resolvePort(this.options));
      this.#port = port;
      return await this.#bindUnderKey(port);
    } catch (error) {
      this.#sessionKey = undefined;
      if (error instanceof ServiceUnavailableError || error instanceof AuthenticationError) throw error;
      throw unavailable(this.name, 'secure channel', error);
    }
  }

  async #bindUnderKey(port: number): Promise<RpcConnection> {
    const key = this.#key(port);
    const channel = await openSealedConnection(this.options, port, this.machine, await key);
    this.#keyOf.set(channel, key);
    return channel;
  }

  /** The session key, agreed once and shared by every channel to this DC. */
  #key(port: number): Promise<Buffer> {
    if (!this.#sessionKey) {
      const pending = authenticateMachine(this.options, port, this.machine).then(
        (result) => result.sessionKey,
      );
      this.#sessionKey = pending;
      pending.catch(() => {
        if (this.#sessionKey === pending) this.#sessionKey = undefined;
      });
    }
    return this.#sessionKey;
  }
}

/** nca_s_sec_pkg_error: what Samba answers a call on a connection bound with a replaced session key. */
const SEC_PKG_ERROR = 0x721;

function isStaleKey(error: unknown): boolean {
  return error instanceof RpcFault && error.status === SEC_PKG_ERROR;
}

function busy(dc: string, why: string): ServiceUnavailableError {
  return new ServiceUnavailableError('ERR_NTLM_TOO_MANY_HANDSHAKES', `${dc}: ${why}`, {
    retryAfterSeconds: 1,
  });
}
