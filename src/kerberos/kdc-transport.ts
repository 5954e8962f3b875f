import net from 'node:net';
import { hostPort } from '../dc/dc-locator.js';
import { DcSelector } from '../dc/dc-selector.js';
import { ConfigurationError, ServiceUnavailableError } from '../errors.js';
import type { DcObserver } from '../metrics/observer.js';

/**
 * Kerberos over TCP (RFC 4120 7.2.2): each message framed by a 4-byte big-endian length, one
 * request and its answer per connection. Every wait has a deadline (connect, then the answer)
 * and the answer has a size bound, so a silent or babbling KDC costs a 503, never a hang.
 *
 * KDCs are tried in order only while a connection cannot be made: once one has the request it
 * is the one that answers, because a password check it received counts at the domain (a bad
 * password sent to two KDCs would be two steps of the account's lockout counter).
 *
 * A KDC that failed to connect or to answer is marked down by the DCs' own breaker (DcSelector):
 * skipped, so that users do not each wait for its connect timeout, until its back-off runs out
 * and one request tries it again. A KDC whose answer was a KRB-ERROR answered: it is up.
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
  /** Longest back-off of a KDC that keeps failing (ms), as the DCs' downtimeMs. @default 30000 */
  readonly downtimeMs?: number;
  /** Back-off after a KDC's first failure (ms), doubled at each failed trial. @default 1000 */
  readonly firstRetryMs?: number;
}

/**
 * Where the transport finds its KDCs: called for their addresses, in the order to try them.
 * A locator that asks DNS (kdc: 'auto') also hears when every KDC it gave failed, and is closed
 * with the transport.
 */
export interface KdcSource {
  (): Promise<readonly KdcAddress[]>;
  /** Every KDC it gave failed: the next call may ask DNS again. */
  readonly failed?: () => void;
  /** No look-up after this, and none left in flight. */
  readonly close?: () => void;
}

/** As the DCs' (DEFAULTS.domainController.downtimeMs): a KDC is a DC's service. */
const DEFAULT_DOWNTIME_MS = 30_000;
/** The breaker's one list: a transport serves one realm. */
const REALM = 'kdcs';

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
  readonly #source: KdcSource;
  readonly #options: KdcTransportOptions;
  readonly #selector: DcSelector;
  /** The addresses of the KDCs the breaker knows, by the names it knows them by (`host:port`). */
  #addresses = new Map<string, KdcAddress>();
  /** Aborted by close(): every exchange in flight ends, and none starts. */
  readonly #closed = new AbortController();

  constructor(source: KdcSource, options: KdcTransportOptions) {
    this.#source = source;
    this.#options = options;
    this.#selector = new DcSelector(new Map(), {
      downtimeMs: options.downtimeMs ?? DEFAULT_DOWNTIME_MS,
      firstRetryMs: options.firstRetryMs,
      // A trial is one connect and one answer; past that it was abandoned.
      trialTimeoutMs: options.connectTimeoutMs + options.timeoutMs,
    });
  }

  /** Reports KDCs going down and coming back (the names are `host:port`); returns the stop. */
  observe(observer: DcObserver): () => void {
    return this.#selector.observe(observer);
  }

  /** Sends one KDC-REQ and returns the answer's bytes (KDC-REP or KRB-ERROR, not yet read). */
  async exchange(request: Buffer, signal: AbortSignal): Promise<Buffer> {
    const linked = linkSignals(signal, this.#closed.signal);
    try {
      return await this.#exchange(request, linked.signal);
    } finally {
      linked.release();
    }
  }

  /** Ends the exchanges in flight (their sockets closed), stops the locator; later ones get 503. */
  close(): void {
    if (this.#closed.signal.aborted) return;
    this.#closed.abort(new ServiceUnavailableError('ERR_KRB_KDC_UNAVAILABLE', 'the KDC transport is closed'));
    this.#source.close?.();
  }

  async #exchange(request: Buffer, signal: AbortSignal): Promise<Buffer> {
    signal.throwIfAborted();
    const candidates = await this.#candidates();
    const addresses = this.#addresses;
    signal.throwIfAborted();
    if (candidates.length === 0) {
      const retryAfterSeconds = this.#selector.retryAfterSeconds(REALM);
      throw new ServiceUnavailableError(
        'ERR_KRB_KDC_UNAVAILABLE',
        `no KDC could be reached (${this.#addresses.size === 0 ? 'none configured or found' : `all failed recently; next try in ${retryAfterSeconds} s`})`,
        { retryAfterSeconds },
      );
    }
    const failures: string[] = [];
    for (const name of candidates) {
      signal.throwIfAborted();
      const kdc = addresses.get(name)!;
      let socket: net.Socket;
      try {
        socket = await connect(kdc, this.#options.connectTimeoutMs, signal);
      } catch (error) {
        if (signal.aborted) throw error;
        this.#selector.markDown(name, Date.now(), (error as Error).message);
        failures.push(`${name}: ${(error as Error).message}`);
        continue;
      }
      try {
        const answer = await roundTrip(socket, kdc, request, this.#options, signal);
        this.#selector.markUp(name);
        return answer;
      } catch (error) {
        // Not retried elsewhere: this KDC has the request (lockout counts); only marked down.
        if (!signal.aborted) this.#selector.markDown(name, Date.now(), (error as Error).message);
        throw error;
      }
    }
    this.#source.failed?.();
    throw new ServiceUnavailableError(
      'ERR_KRB_KDC_UNAVAILABLE',
      `no KDC could be reached (${failures.join('; ')})`,
      { retryAfterSeconds: this.#selector.retryAfterSeconds(REALM) },
    );
  }

  /** The KDCs worth trying now (DcSelector.candidates); when all are down, the source is asked again. */
  async #candidates(): Promise<string[]> {
    await this.#update();
    const candidates = this.#selector.candidates(REALM);
    if (candidates.length > 0 || !this.#source.failed) return candidates;
    // Every KDC known is down: DNS may know others by now.
    this.#source.failed();
    await this.#update();
    return this.#selector.candidates(REALM);
  }

  async #update(): Promise<void> {
    const kdcs = await this.#source();
    this.#addresses = new Map(kdcs.map((kdc) => [hostPort(kdc.host, kdc.port), kdc]));
    this.#selector.setDcs(REALM, [...this.#addresses.keys()]);
  }
}

/** One signal aborted by either; `release` drops the listeners (the second lives as long as we do). */
function linkSignals(first: AbortSignal, second: AbortSignal): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onAbort = (event: Event) => controller.abort((event.target as AbortSignal).reason);
  for (const signal of [first, second]) {
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return {
    signal: controller.signal,
    release: () => {
      for (const signal of [first, second]) signal.removeEventListener('abort', onAbort);
    },
  };
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
