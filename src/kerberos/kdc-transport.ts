import net from 'node:net';
import { ConfigurationError, ServiceUnavailableError } from '../errors.js';

/**
 * Kerberos over TCP (RFC 4120 7.2.2): each message framed by a 4-byte big-endian length, one
 * request and its answer per connection. Every wait has a deadline (connect, then the answer)
 * and the answer has a size bound, so a silent or babbling KDC costs a 503, never a hang.
 *
 * KDCs are tried in order only while a connection cannot be made: once one has the request it
 * is the one that answers, because a password check it received counts at the domain (a bad
 * password sent to two KDCs would be two steps of the account's lockout counter).
 */

export interface KdcAddress {
  readonly host: string;
  readonly port: number;
}

export interface KdcTransportOptions {
  /** Longest wait for a TCP connection to one KDC (ms). */
  readonly connectTimeoutMs: number;
  /** Longest wait for the whole answer once the request is sent (ms). */
  readonly timeoutMs: number;
  /** The largest answer read (bytes); a ticket with a large PAC is some tens of KiB. */
  readonly maxAnswerBytes: number;
}

const KERBEROS_PORT = 88;

/** `host`, `host:port`, `[v6]`, `[v6]:port`. */
export function parseKdcAddress(text: string, owner: string): KdcAddress {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/i.exec(text.trim());
  const port = match?.[3] === undefined ? KERBEROS_PORT : Number(match[3]);
  if (!match || port < 1 || port > 65535) {
    throw new ConfigurationError(
      `${owner}: KDC ${JSON.stringify(text)} is not host[:port] (e.g. 'dc1.example.test' or '10.0.0.10:88')`,
      { option: owner },
    );
  }
  return { host: match[1] ?? match[2]!, port };
}

export class KdcTransport {
  constructor(
    private readonly kdcs: () => Promise<readonly KdcAddress[]>,
    private readonly options: KdcTransportOptions,
  ) {}

  /** Sends one KDC-REQ and returns the answer's bytes (KDC-REP or KRB-ERROR, not yet read). */
  async exchange(request: Buffer, signal: AbortSignal): Promise<Buffer> {
    const kdcs = await this.kdcs();
    const failures: string[] = [];
    for (const kdc of kdcs) {
      signal.throwIfAborted();
      let socket: net.Socket;
      try {
        socket = await connect(kdc, this.options.connectTimeoutMs, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        failures.push(`${kdc.host}:${kdc.port}: ${(error as Error).message}`);
        continue;
      }
      return roundTrip(socket, kdc, request, this.options, signal);
    }
    throw new ServiceUnavailableError(
      'ERR_KRB_KDC_UNAVAILABLE',
      `no KDC could be reached (${failures.join('; ') || 'none configured or found'})`,
    );
  }
}

function connect(kdc: KdcAddress, timeoutMs: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: kdc.host, port: kdc.port });
    const fail = (error: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason as Error);
    const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('error', fail);
      resolve(socket);
    });
  });
}

/** Writes the framed request and reads one framed answer, within the deadline and size bound. */
function roundTrip(
  socket: net.Socket,
  kdc: KdcAddress,
  request: Buffer,
  options: KdcTransportOptions,
  signal: AbortSignal,
): Promise<Buffer> {
  const where = `KDC ${kdc.host}:${kdc.port}`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let expected: number | undefined;
    const finish = (error: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('data');
      socket.destroy();
      error ? reject(error) : resolve(answer!);
    };
    const unavailable = (message: string) =>
      finish(new ServiceUnavailableError('ERR_KRB_KDC_UNAVAILABLE', `${where}: ${message}`));
    const onAbort = () => finish(signal.reason as Error);
    const timer = setTimeout(
      () => unavailable(`no answer within ${options.timeoutMs} ms`),
      options.timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.on('error', (error) => unavailable(error.message));
    socket.on('close', () => unavailable('closed the connection before answering'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (expected === undefined && received >= 4) {
        const length = Buffer.concat(chunks).readUInt32BE(0);
        // The top bit is reserved for an extension we do not ask for (RFC 4120 7.2.2).
        if (length & 0x80000000 || length > options.maxAnswerBytes) {
          unavailable(`answer of ${length >>> 0} bytes is larger than ${options.maxAnswerBytes}`);
          return;
        }
        expected = length;
      }
      if (expected !== undefined && received >= 4 + expected) {
        finish(undefined, Buffer.concat(chunks).subarray(4, 4 + expected));
      }
    });
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(request.length);
    socket.write(Buffer.concat([frame, request]));
  });
}
