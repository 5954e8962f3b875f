import { connect, type Socket } from 'node:net';
import { COMMON_HEADER_LENGTH, peekFragmentLength, RpcProtocolError } from './pdu.js';

/**
 * ncacn_ip_tcp (MS-RPCE 2.1.1.1): DCE/RPC PDUs back to back on a TCP connection. This layer
 * only frames bytes into PDUs; every wait has a deadline, and nothing is buffered beyond one
 * fragment plus what the peer has already sent.
 */

/** Why the transport stopped; every later receive fails with it. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

export interface TransportOptions {
  readonly host: string;
  readonly port: number;
  readonly connectTimeoutMs: number;
}

export class RpcTransport {
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  readonly #pdus: Buffer[] = [];
  #waiter: { resolve: (pdu: Buffer) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(new TransportError(`connection failed: ${error.message}`)));
    socket.on('close', () => this.#fail(new TransportError('connection closed by the server')));
  }

  static open(options: TransportOptions): Promise<RpcTransport> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new TransportError(
            `no TCP connection to ${options.host}:${options.port} within ${options.connectTimeoutMs} ms`,
          ),
        );
      }, options.connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RpcTransport(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new TransportError(`cannot connect to ${options.host}:${options.port}: ${error.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.#failure !== undefined;
  }

  send(pdu: Buffer): void {
    if (this.#failure) throw this.#failure;
    this.#socket.write(pdu);
  }

  /** The next PDU, or a TransportError when the connection fails or `timeoutMs` passes. */
  receive(timeoutMs: number): Promise<Buffer> {
    const ready = this.#pdus.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#waiter) return Promise.reject(new Error('RpcTransport: one receive at a time'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new TransportError(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = {
        resolve: (pdu) => {
          clearTimeout(timer);
          resolve(pdu);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  close(): void {
    this.#fail(new TransportError('connection closed'));
  }

  #onData(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      const length = peekFragmentLength(this.#buffered);
      if (length === undefined) return;
      if (length < COMMON_HEADER_LENGTH) {
        this.#fail(new RpcProtocolError(`frag_length ${length} is shorter than the header`));
        return;
      }
      if (this.#buffered.length < length) return;
      const pdu = this.#buffered.subarray(0, length);
      this.#buffered = this.#buffered.subarray(length);
      const waiter = this.#waiter;
      if (waiter) {
        this.#waiter = undefined;
        waiter.resolve(pdu);
      } else if (this.#pdus.length >= 64) {
        // A peer that floods PDUs nobody asked for is broken; bound what we hold.
        this.#fail(new RpcProtocolError('too many unsolicited PDUs'));
        return;
      } else {
        this.#pdus.push(pdu);
      }
    }
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#socket.destroy();
    this.#buffered = Buffer.alloc(0);
    this.#pdus.length = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  }
}
