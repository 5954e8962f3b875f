import { machineLockKey, recordMachineKey, withMachineLock } from '../netlogon/machine-lock.js';
import { SchannelContext } from '../netlogon/schannel.js';
import {
  authenticateMachine,
  type Endpoint,
  type MachineAccount,
  resolvePort,
  unavailable,
} from '../netlogon/secure-channel.js';
import { statusText } from '../netlogon/status.js';
import { RpcConnection } from '../rpc/connection.js';
import { EPM_PORT, eptMap } from '../rpc/epm.js';
import { RpcFault } from '../rpc/pdu.js';
import {
  decodeLookupSids3,
  encodeLookupSids3,
  type LookupSidsAnswer,
  LookupStatus,
  LSARPC_INTERFACE,
  OPNUM_LOOKUP_SIDS3,
} from './lookup-sids3.js';

/** SIDs per LsarLookupSids3 call: a user with hundreds of groups is asked in a few calls. */
const MAX_SIDS_PER_CALL = 1000;

/**
 * An LSA connection to one DC, as Windows members name SIDs: a Netlogon secure channel of its
 * own (ReqChallenge + Authenticate3 on netlogon's port), then at once an lsarpc connection on
 * lsarpc's own port, bound with schannel (PKT_PRIVACY) under that key. Both under the machine
 * lock (machine-lock.ts): no other Authenticate3 for the same ComputerName may come between.
 * Opened on first use, reused, calls one at a time; a reused connection that broke (DC restart,
 * idle close) is opened once more.
 */
export class LsaChannel {
  readonly name: string;
  #connection: Promise<RpcConnection> | undefined;
  #lsaPort: number | undefined;
  #turn: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly machine: MachineAccount,
  ) {
    this.name = endpoint.host;
  }

  /**
   * Names for `sids`, in order (see lookup-sids3.ts for what the DC answers); INVALID_SID is an
   * answer too (no names), for the caller to split.
   */
  lookupSids(sids: readonly string[]): Promise<LookupSidsAnswer> {
    const run = this.#turn.then(() => this.#lookupAll(sids));
    this.#turn = run.catch(() => {});
    return run;
  }

  close(): void {
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.then(
      (c) => c.close(),
      () => {},
    );
  }

  async #lookupAll(sids: readonly string[]): Promise<LookupSidsAnswer> {
    if (sids.length <= MAX_SIDS_PER_CALL) return this.#lookup(sids);
    const parts: LookupSidsAnswer[] = [];
    for (let i = 0; i < sids.length; i += MAX_SIDS_PER_CALL)
      parts.push(await this.#lookup(sids.slice(i, i + MAX_SIDS_PER_CALL)));
    return {
      status:
        parts.find((p) => p.status === LookupStatus.INVALID_SID)?.status ??
        (parts.some((p) => p.status !== LookupStatus.SUCCESS)
          ? LookupStatus.SOME_NOT_MAPPED
          : LookupStatus.SUCCESS),
      mappedCount: parts.reduce((sum, p) => sum + p.mappedCount, 0),
      names: parts.flatMap((p) => p.names),
    };
  }

  async #lookup(sids: readonly string[]): Promise<LookupSidsAnswer> {
    const stub = encodeLookupSids3(sids);
    for (let attempt = 0; ; attempt++) {
      const reused = this.#connection !== undefined;
      const connection = await this.#open();
      let answer: Buffer;
      try {
        answer = await connection.call(OPNUM_LOOKUP_SIDS3, stub);
      } catch (error) {
        this.#drop(connection);
        // A connection the DC closed while it sat idle: once more on a fresh one. A fault on a
        // fresh one (0x721: someone authenticated between our Authenticate3 and bind) too.
        if (attempt === 0 && (reused || error instanceof RpcFault)) continue;
        throw unavailable(this.name, 'LsarLookupSids3 failed', error);
      }
      const decoded = decodeLookupSids3(answer, sids.length);
      if (
        decoded.status !== LookupStatus.SUCCESS &&
        decoded.status !== LookupStatus.SOME_NOT_MAPPED &&
        decoded.status !== LookupStatus.NONE_MAPPED &&
        decoded.status !== LookupStatus.INVALID_SID
      ) {
        throw unavailable(this.name, 'LsarLookupSids3', `status ${statusText(decoded.status)}`);
      }
      return decoded;
    }
  }

  #drop(connection: RpcConnection): void {
    connection.close();
    this.#connection = undefined;
  }

  #open(): Promise<RpcConnection> {
    if (this.#closed) return Promise.reject(unavailable(this.name, 'LSA channel', 'closed'));
    if (this.#connection) {
      const current = this.#connection;
      return current.then((c) => {
        if (c.usable) return c;
        if (this.#connection === current) this.#connection = undefined;
        return this.#open();
      });
    }
    const opening = this.#openChannel();
    this.#connection = opening;
    opening.catch(() => {
      if (this.#connection === opening) this.#connection = undefined;
    });
    return opening;
  }

  async #openChannel(): Promise<RpcConnection> {
    let netlogonPort: number;
    let lsaPort: number;
    try {
      [netlogonPort, lsaPort] = await Promise.all([resolvePort(this.endpoint), this.#resolveLsaPort()]);
    } catch (error) {
      throw unavailable(this.name, 'endpoint mapper', error);
    }
    const { host } = this.endpoint;
    return withMachineLock(machineLockKey(host, this.machine.computerName), async () => {
      const { sessionKey } = await authenticateMachine(this.endpoint, netlogonPort, this.machine);
      recordMachineKey(machineLockKey(host, this.machine.computerName), sessionKey);
      const connection = await RpcConnection.open({ ...this.endpoint, port: lsaPort }).catch((error) => {
        this.#lsaPort = undefined; // the DC may listen elsewhere after a restart
        throw unavailable(this.name, 'lsarpc connection', error);
      });
      try {
        await connection.bind(
          LSARPC_INTERFACE,
          new SchannelContext(sessionKey, this.machine.domain, this.machine.computerName),
        );
        return connection;
      } catch (error) {
        connection.close();
        throw unavailable(this.name, 'lsarpc schannel bind', error);
      }
    });
  }

  /** lsarpc's TCP port: its own dynamic port, asked of the endpoint mapper (not netlogon's). */
  async #resolveLsaPort(): Promise<number> {
    if (this.#lsaPort !== undefined) return this.#lsaPort;
    const connection = await RpcConnection.open({ ...this.endpoint, port: EPM_PORT });
    try {
      this.#lsaPort = await eptMap(connection, LSARPC_INTERFACE);
      return this.#lsaPort;
    } finally {
      connection.close();
    }
  }
}
