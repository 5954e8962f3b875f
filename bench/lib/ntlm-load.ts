// The NTLM load client: browsers authenticate a keep-alive connection once and then send many
// requests on it; a logon rush opens a new connection per user. Tokens come from the test
// client in test/helpers/ntlm-client.ts (NTLMv2 with a MIC, as modern Windows sends).
import { type ClientCredentials, type1, type3 } from '../../test/helpers/ntlm-client.js';
import { HttpConnection, type Reply, requestBytes } from './http-conn.js';

const HOST = '127.0.0.1';

/** Runs the two legs (NEGOTIATE → CHALLENGE, AUTHENTICATE → answer) on `connection`. */
export async function handshake(
  connection: HttpConnection,
  credentials: ClientCredentials,
  path = '/',
): Promise<Reply> {
  const negotiate = type1();
  const first = await connection.request(
    requestBytes(HOST, path, { Authorization: `NTLM ${negotiate.toString('base64')}` }),
  );
  const match = /^NTLM (\S+)$/.exec(first.challenge ?? '');
  if (first.status !== 401 || !match) throw new Error(`NEGOTIATE got ${first.status}, no CHALLENGE`);
  const authenticate = await type3(negotiate, Buffer.from(match[1]!, 'base64'), credentials);
  return connection.request(
    requestBytes(HOST, path, { Authorization: `NTLM ${authenticate.toString('base64')}` }),
  );
}

export interface KeepAliveResult {
  /** Answered requests (200) per second over the measured window. */
  readonly rate: number;
  readonly ok: number;
  readonly errors: number;
  /** Connections the server sent back to a new handshake mid-run (its per-connection limits). */
  readonly reauthentications: number;
}

/**
 * `connections` keep-alive connections, each authenticated once (not timed) when `users` is
 * given, then as many GETs as they can carry for `durationMs`. A 401 mid-run is answered with a
 * new handshake on the same connection, as a browser does, and its final 200 counts.
 */
export async function keepAliveLoad(options: {
  port: number;
  connections: number;
  durationMs: number;
  users?: readonly ClientCredentials[];
  path?: string;
  /** Called once every connection is open and authenticated, as the timed load begins. */
  onStart?: () => void;
}): Promise<KeepAliveResult> {
  const path = options.path ?? '/';
  const plain = requestBytes(HOST, path);
  const opened = await Promise.all(
    Array.from({ length: options.connections }, async (_, i) => {
      const connection = await HttpConnection.open(options.port);
      const user = options.users?.[i % options.users.length];
      if (user) {
        const reply = await handshake(connection, user, path);
        if (reply.status !== 200) throw new Error(`handshake of ${user.user} ended with ${reply.status}`);
      }
      return { connection, user };
    }),
  );
  let ok = 0;
  let errors = 0;
  let reauthentications = 0;
  options.onStart?.();
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    opened.map(async ({ connection, user }) => {
      while (performance.now() < deadline) {
        let reply = await connection.request(plain);
        if (reply.status === 401 && user) {
          reauthentications++;
          reply = await handshake(connection, user, path);
        }
        if (reply.status === 200) ok++;
        else errors++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  for (const { connection } of opened) connection.close();
  return { rate: (ok * 1000) / elapsed, ok, errors, reauthentications };
}

export interface LogonResult {
  /** Completed logons (the AUTHENTICATE leg answered 200) per second. */
  readonly rate: number;
  readonly ok: number;
  readonly errors: number;
  readonly firstError: string | undefined;
}

/**
 * Full logons, a new TCP connection each (the morning rush): `parallel` workers each connect,
 * run the handshake, close, and start again until `durationMs` has passed.
 */
export async function logonLoad(options: {
  port: number;
  parallel: number;
  durationMs: number;
  users: readonly ClientCredentials[];
}): Promise<LogonResult> {
  return runWorkers(options, async (user) => {
    const connection = await HttpConnection.open(options.port);
    try {
      const reply = await handshake(connection, user);
      if (reply.status !== 200) throw new Error(`logon of ${user.user} ended with ${reply.status}`);
    } finally {
      connection.close();
    }
  });
}

/** `parallel` workers running `logon` over the users (or their token mints) in turn until `durationMs` has passed. */
export async function runWorkers<User>(
  options: { parallel: number; durationMs: number; users: readonly User[] },
  logon: (user: User) => Promise<void>,
): Promise<LogonResult> {
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const deadline = started + options.durationMs;
  await Promise.all(
    Array.from({ length: options.parallel }, async () => {
      while (performance.now() < deadline) {
        const user = options.users[next++ % options.users.length]!;
        try {
          await logon(user);
          ok++;
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
          // A failing server must not turn the loop into a busy spin.
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { rate: (ok * 1000) / elapsed, ok, errors, firstError };
}

/**
 * Opens `count` connections and leaves them idle: authenticated when `users` is given, else
 * after one plain request each. `parallel` at a time, so the DC is not flooded.
 */
export async function openIdleConnections(options: {
  port: number;
  count: number;
  parallel: number;
  users?: readonly ClientCredentials[];
}): Promise<HttpConnection[]> {
  const opened: HttpConnection[] = [];
  let next = 0;
  const plain = requestBytes(HOST, '/');
  await Promise.all(
    Array.from({ length: options.parallel }, async () => {
      while (next < options.count) {
        const i = next++;
        const connection = await HttpConnection.open(options.port);
        opened.push(connection);
        const user = options.users?.[i % options.users.length];
        const reply = user ? await handshake(connection, user) : await connection.request(plain);
        if (reply.status !== 200) throw new Error(`idle connection ${i} got ${reply.status}`);
      }
    }),
  );
  return opened;
}
