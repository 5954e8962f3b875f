// HTTP helpers for tests: one keep-alive connection per NtlmHttpClient, as NTLM requires.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ClientCredentials, type ClientOptions, type1, type3 } from './ntlm-client.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Local port of the TCP connection that carried the request. */
  localPort: number | undefined;
  /** Trailer fields after a chunked body. */
  trailers?: http.IncomingHttpHeaders;
}

export function baseUrl(server: http.Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** A client that sends every request over the same single TCP connection. */
export class NtlmHttpClient {
  readonly agent: http.Agent;

  /** `localAddress`: the client's own address, e.g. 127.0.0.2 (all of 127/8 is loopback). */
  constructor(
    readonly url: string,
    options: { localAddress?: string } = {},
  ) {
    const settings = { keepAlive: true, maxSockets: 1, localAddress: options.localAddress };
    // Test servers over HTTPS use self-signed certificates.
    this.agent = url.startsWith('https:')
      ? new https.Agent({ ...settings, rejectUnauthorized: false })
      : new http.Agent(settings);
  }

  request(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const request = this.url.startsWith('https:') ? https.request : http.request;
      const req = request(`${this.url}${path}`, { agent: this.agent, headers, method }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            localPort: req.socket?.localPort,
            trailers: res.trailers,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Runs the three legs on this connection and returns the final reply. */
  async login(
    path: string,
    credentials: ClientCredentials,
    options: ClientOptions & { scheme?: 'NTLM' | 'Negotiate' } = {},
  ): Promise<Reply> {
    const scheme = options.scheme ?? 'NTLM';
    const negotiate = type1(options.flags);
    const first = await this.request(path, { Authorization: `${scheme} ${negotiate.toString('base64')}` });
    const challengeHeader = String(first.headers['www-authenticate'] ?? '');
    const match = new RegExp(`^${scheme} (\\S+)$`).exec(challengeHeader);
    if (first.status !== 401 || !match) return first;
    const challenge = Buffer.from(match[1]!, 'base64');
    const authenticate = await type3(negotiate, challenge, credentials, options);
    return this.request(path, { Authorization: `${scheme} ${authenticate.toString('base64')}` });
  }

  close(): void {
    this.agent.destroy();
  }
}
