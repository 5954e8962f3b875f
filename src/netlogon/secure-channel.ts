import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ServiceUnavailableError } from '../errors.js';
import { RpcConnection } from '../rpc/connection.js';
import { EPM_PORT, eptMap } from '../rpc/epm.js';
import {
  decodeAuthenticate3,
  decodeReqChallenge,
  encodeAuthenticate3,
  encodeReqChallenge,
  NEGOTIATE_FLAGS,
  NETLOGON_INTERFACE,
  NegotiateFlag,
  Opnum,
} from './calls.js';
import { computeNetlogonCredentialAes, computeSessionKeyAes } from './crypto.js';
import { SchannelContext } from './schannel.js';
import { statusText } from './status.js';

/**
 * Setting up a Netlogon secure channel to one DC (MS-NRPC 3.1.4.1): the endpoint mapper gives
 * netlogon's port; NetrServerReqChallenge and NetrServerAuthenticate3 on an unauthenticated
 * connection agree a session key from both challenges and the machine account's NT hash; then
 * a second connection binds with schannel (PKT_PRIVACY) under that key.
 */

/** The machine account the secure channel is opened as (a workstation trust, like IIS's host). */
export interface MachineAccount {
  /** NetBIOS domain name, e.g. EXAMPLE. */
  readonly domain: string;
  /** NetBIOS computer name without `$`, e.g. WEB01. */
  readonly computerName: string;
  /** NT hash (MD4 of the UTF-16LE password) of the machine account; computed once, asynchronously. */
  readonly ntHash: Buffer | Promise<Buffer>;
}

export interface Endpoint {
  readonly host: string;
  /** netlogon's TCP port; undefined: ask the endpoint mapper. */
  readonly port: number | undefined;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
}

/** The DC could not be reached or broke off: try another one. */
export function unavailable(dc: string, what: string, cause: unknown): ServiceUnavailableError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', `${dc}: ${what}: ${detail}`, { cause });
}

/** Where netlogon listens: the configured port, or the endpoint mapper's answer. */
export async function resolvePort(endpoint: Endpoint): Promise<number> {
  if (endpoint.port !== undefined) return endpoint.port;
  const connection = await RpcConnection.open({ ...endpoint, port: EPM_PORT });
  try {
    return await eptMap(connection, NETLOGON_INTERFACE);
  } finally {
    connection.close();
  }
}

/**
 * Readiness: netlogon's port (from the endpoint mapper, unless pinned) takes a connection and
 * an unauthenticated bind to the Netlogon interface. No challenge is asked for, so the machine
 * account's session key is left alone.
 */
export async function probeNetlogon(endpoint: Endpoint): Promise<number> {
  const port = await resolvePort(endpoint);
  const connection = await RpcConnection.open({ ...endpoint, port });
  try {
    await connection.bind(NETLOGON_INTERFACE);
    return port;
  } finally {
    connection.close();
  }
}

export interface SessionKeyResult {
  readonly sessionKey: Buffer;
  readonly negotiateFlags: number;
  readonly accountRid: number;
}

/**
 * NetrServerReqChallenge + NetrServerAuthenticate3 with AES and strong keys. Refuses a DC that
 * does not prove the same key (ServerCredential) or does not agree to AES and schannel.
 */
export async function authenticateMachine(
  endpoint: Endpoint,
  port: number,
  machine: MachineAccount,
  clientChallenge: Buffer = randomBytes(8),
): Promise<SessionKeyResult> {
  const dc = `${endpoint.host}:${port}`;
  const connection = await RpcConnection.open({ ...endpoint, port });
  try {
    await connection.bind(NETLOGON_INTERFACE);
    const challenge = decodeReqChallenge(
      await connection.call(
        Opnum.NetrServerReqChallenge,
        encodeReqChallenge(machine.computerName, clientChallenge),
      ),
    );
    if (challenge.status !== 0) {
      throw machineRefused(dc, `NetrServerReqChallenge answered ${statusText(challenge.status)}`);
    }
    const sessionKey = computeSessionKeyAes(await machine.ntHash, clientChallenge, challenge.serverChallenge);
    const answer = decodeAuthenticate3(
      await connection.call(
        Opnum.NetrServerAuthenticate3,
        encodeAuthenticate3({
          accountName: `${machine.computerName}$`,
          computerName: machine.computerName,
          clientCredential: computeNetlogonCredentialAes(clientChallenge, sessionKey),
          negotiateFlags: NEGOTIATE_FLAGS,
        }),
      ),
    );
    if (answer.status !== 0) {
      throw machineRefused(
        dc,
        `NetrServerAuthenticate3 as ${machine.computerName}$ answered ${statusText(answer.status)} ` +
          `(${MACHINE_REFUSALS[answer.status >>> 0] ?? 'wrong machine password, no such computer account, or AES refused'})`,
        answer.status >>> 0,
      );
    }
    const expected = computeNetlogonCredentialAes(challenge.serverChallenge, sessionKey);
    if (!timingSafeEqual(expected, answer.serverCredential)) {
      throw machineRefused(dc, 'the DC does not prove the session key (ServerCredential differs)');
    }
    const required = NegotiateFlag.SUPPORTS_AES | NegotiateFlag.AUTHENTICATED_RPC | NegotiateFlag.STRONG_KEYS;
    if ((answer.negotiateFlags & required) !== required) {
      throw machineRefused(
        dc,
        `the DC agreed to flags 0x${answer.negotiateFlags.toString(16)} without AES secure channels`,
      );
    }
    return { sessionKey, negotiateFlags: answer.negotiateFlags, accountRid: answer.accountRid };
  } finally {
    connection.close();
  }
}

/**
 * What NetrServerAuthenticate3's status says about the computer account, as Samba 4.17 answers
 * (measured in test/integration/readiness.test.ts; Windows answers alike, MS-NRPC 3.5.4.4.2).
 */
export const MachineStatus = {
  /** STATUS_ACCESS_DENIED: the account exists; the password (so the credential) is wrong. */
  WRONG_PASSWORD: 0xc0000022,
  /** STATUS_NO_TRUST_SAM_ACCOUNT: no computer account of that name. */
  NO_ACCOUNT: 0xc000018b,
} as const;

const MACHINE_REFUSALS: Record<number, string> = {
  [MachineStatus.WRONG_PASSWORD]: 'wrong machine password',
  [MachineStatus.NO_ACCOUNT]: 'no such computer account',
};

/** The DC refused our computer account; `status` is NetrServerAuthenticate3's NTSTATUS, when it gave one. */
export class MachineAccountRefusedError extends ServiceUnavailableError {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super('ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED', message);
  }
}

function machineRefused(dc: string, message: string, status?: number): MachineAccountRefusedError {
  return new MachineAccountRefusedError(`${dc}: ${message}`, status);
}

/** A connection bound to netlogon with schannel under `sessionKey`: ready for sealed calls. */
export async function openSealedConnection(
  endpoint: Endpoint,
  port: number,
  machine: MachineAccount,
  sessionKey: Buffer,
): Promise<RpcConnection> {
  const connection = await RpcConnection.open({ ...endpoint, port });
  try {
    await connection.bind(
      NETLOGON_INTERFACE,
      new SchannelContext(sessionKey, machine.domain, machine.computerName),
    );
    return connection;
  } catch (error) {
    connection.close();
    throw error;
  }
}
