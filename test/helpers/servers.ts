// Starts the middleware inside each framework we support, on 127.0.0.1 and a free port.
import http from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import connect from 'connect';
import express5 from 'express';
import express4 from 'express4';
import { type Logger, localDirectory, type NtlmOptions, ntlm, type Verifier } from '../../src/index.js';

export const FRAMEWORKS = ['express5', 'express4', 'connect', 'node:http'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export const ALICE = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };
export const BOB = { user: 'bob', domain: 'EXAMPLE', password: 'Bob-Passw0rd!' };

export function testDirectory(): Verifier {
  return localDirectory({
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    users: [
      { username: 'alice', password: ALICE.password, mail: 'alice@example.test', groups: ['Engineering'] },
      { username: 'bob', password: BOB.password },
      { username: 'carol', password: 'Carol-Passw0rd!', disabled: true },
    ],
  });
}

export interface LogRecord {
  level: keyof Logger;
  message: string;
  fields: Record<string, unknown> | undefined;
}

export function recordingLogger(): Logger & { records: LogRecord[]; codes(): unknown[] } {
  const records: LogRecord[] = [];
  const at = (level: keyof Logger) => (message: string, fields?: Record<string, unknown>) => {
    records.push({ level, message, fields });
  };
  return {
    records,
    codes: () => records.map((r) => r.fields?.code).filter(Boolean),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
}

export interface TestServer {
  server: http.Server;
  url: string;
  logger: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

/** Any spelling of an X-Ntlm-* header, `_` for `-` included (as CGI/WSGI read them). */
const NTLM_HEADER = /^x[-_]ntlm[-_]/i;

/** What every test app answers: the identity it sees, and the X-Ntlm-* headers that reached it. */
function whoami(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('Content-Type', 'application/json');
  res.end(
    JSON.stringify({
      ntlm: req.ntlm ?? null,
      headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => NTLM_HEADER.test(k))),
      rawHeaders: req.rawHeaders.filter((_, i, all) => i % 2 === 0 && NTLM_HEADER.test(all[i]!)),
    }),
  );
}

/** `host`: where it listens (`::1` for IPv6 clients); its url names the same host. */
export async function startServer(
  framework: Framework,
  options: Partial<NtlmOptions> = {},
  host = '127.0.0.1',
): Promise<TestServer> {
  const logger = recordingLogger();
  const auth = ntlm({ verifier: testDirectory(), logger, ...options });
  let handler: http.RequestListener;
  switch (framework) {
    case 'express5':
    case 'express4': {
      const app = framework === 'express5' ? express5() : express4();
      app.use(auth);
      app.use((req: http.IncomingMessage, res: http.ServerResponse) => whoami(req, res));
      handler = app as unknown as http.RequestListener;
      break;
    }
    case 'connect': {
      const app = connect();
      app.use(auth);
      app.use(whoami);
      handler = app;
      break;
    }
    case 'node:http':
      handler = (req, res) =>
        auth(req, res, (error) => {
          if (error) {
            res.statusCode = 500;
            res.end();
          } else whoami(req, res);
        });
      break;
  }
  return { ...(await listen(handler, () => auth.close(), host)), logger };
}

/** Serves `handler` on `host` (127.0.0.1) and a free port; `close` drops every connection, then runs `onClose`. */
export async function listen(
  handler: http.RequestListener,
  onClose: () => Promise<void> = async () => {},
  host = '127.0.0.1',
): Promise<{ server: http.Server; url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  // As the README advises: idle connections live as long as their NTLM identity (60 s).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await onClose();
    },
  };
}

/** A TCP server on 127.0.0.1 that accepts connections and never says a word: the worst kind of DC. */
export async function silentTcpServer(): Promise<{
  port: number;
  /** Connections still open from the peer's side. */
  open(): number;
  close(): void;
}> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume(); // read (and drop) what arrives, so that the peer's FIN is seen
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/**
 * ntlm() with `options` on a node:http server that answers each request it lets through with
 * `req.ntlm` as JSON, and records its log lines.
 */
export async function serveIdentity(options: NtlmOptions) {
  const logger = recordingLogger();
  const auth = ntlm({ logger, ...options });
  const served = await listen(
    (req, res) =>
      auth(req, res, () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(req.ntlm));
      }),
    () => auth.close(),
  );
  return { url: served.url, logger, auth, close: served.close };
}
