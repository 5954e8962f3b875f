// Requests written by hand on one socket, for what Node's http client cannot do: several
// upgrade requests (each a leg of an NTLM handshake) on the same connection, then raw bytes; a
// download read slowly.
import net from 'node:net';
import { type ClientCredentials, type1, type3 } from './ntlm-client.js';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class RawConnection {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  /** Body bytes still to be counted and dropped (download()), not kept. */
  #toSkip = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      const skipped = Math.min(this.#toSkip, chunk.length);
      this.#toSkip -= skipped;
      this.#buffer = Buffer.concat([this.#buffer, chunk.subarray(skipped)]);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on('close', () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), hostname, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  async #waitFor(ready: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.socket.destroyed && !ready()) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('no answer in time');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /**
   * Sends a request head and reads one response: its body by Content-Length or chunked, none
   * for a HEAD.
   */
  async request(head: string[]): Promise<RawReply> {
    this.socket.write(`${head.join('\r\n')}\r\n\r\n`);
    const { status, headers } = await this.#answerHead();
    if (head[0]!.startsWith('HEAD ')) return { status, headers, body: '' };
    if (headers['transfer-encoding'] === 'chunked') return { status, headers, body: await this.#chunked() };
    const length = Number(headers['content-length'] ?? 0);
    await this.#waitFor(() => this.#buffer.length >= length);
    const body = this.#buffer.subarray(0, length).toString('utf8');
    this.#buffer = this.#buffer.subarray(length);
    return { status, headers, body };
  }

  /** The next answer's status line and headers, taken off the buffer. */
  async #answerHead(timeoutMs?: number): Promise<Omit<RawReply, 'body'>> {
    await this.#waitFor(() => this.#buffer.includes('\r\n\r\n'), timeoutMs);
    const end = this.#buffer.indexOf('\r\n\r\n');
    const lines = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.#buffer = this.#buffer.subarray(end + 4);
    return { status: Number(lines[0]!.split(' ')[1]), headers };
  }

  /** The two legs of an NTLM logon (NEGOTIATE, AUTHENTICATE) on this connection; the second leg's answer. */
  async logOn(host: string, path: string, credentials: ClientCredentials): Promise<RawReply> {
    const negotiate = type1();
    const challenge = await this.request([
      `GET ${path} HTTP/1.1`,
      `Host: ${host}`,
      `Authorization: NTLM ${negotiate.toString('base64')}`,
    ]);
    const token = /^NTLM (\S+)$/.exec(challenge.headers['www-authenticate'] ?? '')?.[1];
    if (!token) throw new Error(`no CHALLENGE: ${challenge.status}`);
    const authenticate = await type3(negotiate, Buffer.from(token, 'base64'), credentials);
    return this.request([
      `GET ${path} HTTP/1.1`,
      `Host: ${host}`,
      `Authorization: NTLM ${authenticate.toString('base64')}`,
    ]);
  }

  /**
   * A large download by a client slow to read: sends the request, reads nothing for `pauseMs`,
   * then counts the body (by Content-Length) without keeping it. Its status and the body bytes
   * that came before the answer was complete or the connection closed.
   */
  async download(
    head: string[],
    pauseMs: number,
  ): Promise<{ status: number; length: number; received: number }> {
    this.socket.pause();
    this.socket.write(`${head.join('\r\n')}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    this.socket.resume();
    const { status, headers } = await this.#answerHead(30_000);
    const length = Number(headers['content-length']);
    const buffered = Math.min(length, this.#buffer.length);
    this.#buffer = this.#buffer.subarray(buffered);
    this.#toSkip = length - buffered;
    await this.#waitFor(() => this.#toSkip === 0, 30_000).catch(() => {});
    return { status, length, received: length - this.#toSkip };
  }

  /** Writes `bytes` as they are (several requests, pipelined) and reads everything until the server closes. */
  async sendUntilClosed(bytes: string, timeoutMs = 10_000): Promise<string> {
    this.socket.write(bytes, 'latin1');
    await this.#waitFor(() => this.socket.destroyed || this.socket.readableEnded, timeoutMs);
    const text = this.#buffer.toString('latin1');
    this.#buffer = Buffer.alloc(0);
    return text;
  }

  /** A chunked body, up to its last (empty) chunk. */
  async #chunked(): Promise<string> {
    const parts: Buffer[] = [];
    for (;;) {
      await this.#waitFor(() => this.#buffer.includes('\r\n'));
      const lineEnd = this.#buffer.indexOf('\r\n');
      const size = Number.parseInt(this.#buffer.subarray(0, lineEnd).toString('latin1'), 16);
      await this.#waitFor(() => this.#buffer.length >= lineEnd + 2 + size + 2);
      parts.push(this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      this.#buffer = this.#buffer.subarray(lineEnd + 2 + size + 2);
      if (size === 0) return Buffer.concat(parts).toString('utf8');
    }
  }

  /** Writes bytes and reads back exactly as many (for an echoing tunnel). */
  async echo(data: string): Promise<string> {
    this.socket.write(data);
    await this.#waitFor(() => this.#buffer.length >= Buffer.byteLength(data));
    const reply = this.#buffer.subarray(0, Buffer.byteLength(data)).toString('utf8');
    this.#buffer = this.#buffer.subarray(Buffer.byteLength(data));
    return reply;
  }

  close(): void {
    this.socket.destroy();
  }
}
