// One keep-alive HTTP/1.1 connection written by hand, one request at a time: the load client
// for NTLM, which must keep every leg of a handshake and every request after it on the same
// socket. Lean on purpose (requests are pre-built bytes, only the status line, Content-Length
// and WWW-Authenticate are read), so that the client costs less than the servers it measures.
import net from 'node:net';

export interface Reply {
  readonly status: number;
  /** The WWW-Authenticate header, when there is one: a 401's challenge, or a 200's final Negotiate token (RFC 4559 5). */
  readonly challenge: string | undefined;
  /** The Authorization header of the response (a Bearer token after a handshake). */
  readonly authorization: string | undefined;
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Longest response head we accept: a server that sends more is broken, not slow. */
const MAX_HEAD = 64 * 1024;

/** `GET path` with these extra header lines, as bytes ready to write. */
export function requestBytes(host: string, path: string, headers: Record<string, string> = {}): Buffer {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, 'Connection: keep-alive'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** A header's value from a response head, found in its lower-cased copy `lower`. */
function header(head: string, lower: string, name: string): string | undefined {
  const at = lower.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const end = head.indexOf('\r\n', at + 2);
  return head.slice(at + name.length + 3, end < 0 ? undefined : end).trim();
}

export class HttpConnection {
  readonly socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  #closed: Error | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('connection closed by the server')));
  }

  static open(port: number, timeoutMs = 10_000): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to 127.0.0.1:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new HttpConnection(socket));
      });
    });
  }

  /** Writes one request and resolves with its response; one at a time per connection. */
  request(bytes: Buffer): Promise<Reply> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (this.#waiting) return Promise.reject(new Error('one request at a time on a connection'));
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.#closed ??= new Error('closed by the client');
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf(HEAD_END);
    if (end < 0) {
      if (this.#buffer.length > MAX_HEAD) this.#fail(new Error('response head too large'));
      return;
    }
    const head = this.#buffer.toString('latin1', 0, end);
    const lower = head.toLowerCase();
    const length = Number(header(head, lower, 'content-length') ?? Number.NaN);
    if (!Number.isInteger(length) || length < 0) {
      this.#fail(new Error(`response without a Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + HEAD_END.length + length;
    if (this.#buffer.length < total) return;
    if (this.#buffer.length > total) {
      this.#fail(new Error('bytes after the response: the server answered a request we did not send'));
      return;
    }
    this.#buffer = Buffer.alloc(0);
    const status = Number(head.slice(9, 12));
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve({
      status,
      challenge: header(head, lower, 'www-authenticate'),
      authorization: status === 200 ? header(head, lower, 'authorization') : undefined,
    });
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    this.socket.destroy();
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }
}
