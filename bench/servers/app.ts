// One benchmark server process: Express 4 with the same tiny handler, behind nothing (bare), our
// middleware (with the LDAP relay, Bearer tokens, Netlogon, or the LDAP relay and Kerberos), or express-ntlm. The load
// generator runs in another process; this one answers `heap` (after two full GCs: start it
// with --expose-gc), `mark` (the profile clock) and `stop` over the IPC channel. Configured by environment variables:
// BENCH_MODE (bare, noop, floor, bearer-contract, handshake-contract, negotiate-floor, negotiate-acceptor, negotiate-contract, ours, ours-*, handshake-only, express-ntlm), BENCH_DC_URL, BENCH_JWT_SECRET, BENCH_MACHINE_PASSWORD, BENCH_KEYTAB, BENCH_SPN,
// BENCH_KEEPALIVE_MS; BENCH_LOCAL_DIRECTORY=1 logs alice of test/helpers/servers.ts on without a DC
// (for profiling the request path alone); BENCH_DIST, a build's index.js relative to this file
// (../../dist/index.js), for probes that compare a patched copy of dist/ with it.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import expressNtlm from 'express-ntlm';
import express from 'express4';
import type { Logger, NtlmOptions } from 'ntlm-sso';
import { type ContractIdentity, contractLayer } from './contract-layer.js';

// The built package, as users run it (the bench builds it first): through tsx, 'ntlm-sso' would be
// the TypeScript source, compiled with a __name() call for every closure it makes. Its types are
// the source's (dist/ may not exist when the project is type-checked).
const { domainController, kerberosAcceptor, localDirectory, netlogon, ntlm, spnego } = (await import(
  new URL(process.env.BENCH_DIST ?? '../../dist/index.js', import.meta.url).href
)) as typeof import('ntlm-sso');

const mode = process.env.BENCH_MODE ?? 'bare';
const dcUrl = process.env.BENCH_DC_URL ?? 'ldap://127.0.0.1';

/** Warnings and errors to stderr (the bench shows them when a run fails); nothing per logon. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => console.error('warn', message, JSON.stringify(fields)),
  error: (message, fields) => console.error('error', message, JSON.stringify(fields)),
};

/** The middleware's options per mode; the bench asks for Netlogon and Kerberos only when features.ts found them. */
function middlewareOptions(): NtlmOptions {
  const relay = () =>
    process.env.BENCH_LOCAL_DIRECTORY
      ? localDirectory({
          domain: 'EXAMPLE',
          dnsDomain: 'example.test',
          users: [{ username: 'alice', password: 'Alice-Passw0rd!' }],
        })
      : domainController({ domains: { EXAMPLE: [dcUrl] } });
  switch (mode) {
    case 'ours-netlogon':
    case 'ours-netlogon-cold':
      return {
        verifier: netlogon({
          domain: 'EXAMPLE',
          dnsDomain: 'example.test',
          dcs: ['127.0.0.1'],
          machineAccount: 'WEB01$',
          machinePassword: process.env.BENCH_MACHINE_PASSWORD,
          // Cold: no name cache, so every logon also asks LSA (LsarLookupSids3) for its group names.
          ...(mode === 'ours-netlogon-cold' ? { cache: false as const } : {}),
        }),
      };
    case 'ours-kerberos':
      return {
        verifier: relay(),
        kerberos: { keytab: process.env.BENCH_KEYTAB!, servicePrincipal: process.env.BENCH_SPN },
      };
    case 'ours-bearer':
      return { verifier: relay(), bearer: { secret: process.env.BENCH_JWT_SECRET! } };
    default:
      return { verifier: relay() };
  }
}

/** The size of ours' final Negotiate token for an aes256 ticket (accept-completed and the AP-REP). */
const FINAL_TOKEN_BYTES = 186;

const app = express();
let close = async () => {};
switch (mode) {
  case 'bare':
    break;
  case 'noop':
    // What one app.use() layer costs at the least: a middleware that only calls next().
    app.use((_req: object, _res: object, next: () => void) => next());
    break;
  case 'floor': {
    // The least a middleware that hands over an identity does: req.ntlm and res.locals.ntlm.
    const identity = Object.freeze({ username: 'alice', domain: 'EXAMPLE' });
    app.use((req: object, res: { locals: Record<string, unknown> }, next: () => void) => {
      (req as { ntlm?: unknown }).ntlm = identity;
      res.locals.ntlm = identity;
      next();
    });
    break;
  }
  case 'bearer-contract': {
    // Row 2d: the contract (contractLayer) for a Bearer request, the token found in a Map of tokens
    // seen before by its signature's text, answering only for the same token. Since session 14
    // ours' verified-token cache keys a token by an integer made from its signature's last
    // characters, a cheaper lookup than this floor's (~220 against ~70 ns in a loop). No signature,
    // expiry or revocation check, no metrics: a token is taken on sight.
    const seen = new Map<string, ContractIdentity & { token: string }>();
    app.use(
      contractLayer((req) => {
        const header = req.headers.authorization;
        if (!header?.startsWith('Bearer ')) return undefined;
        const token = header.slice('Bearer '.length);
        const key = token.slice(token.lastIndexOf('.') + 1);
        let identity = seen.get(key);
        if (identity === undefined) {
          identity = Object.freeze({ token, username: 'alice', domain: 'EXAMPLE', remoteUser: 'alice' });
          seen.set(key, identity);
        }
        return identity.token === token ? identity : undefined;
      }),
    );
    break;
  }
  case 'negotiate-floor': {
    // Scenario 5's floor: Express answering a Negotiate logon on a new connection with the final
    // token, checking nothing. What Node's HTTP and Express cost per logon, with the same headers.
    const answer = `Negotiate ${Buffer.alloc(FINAL_TOKEN_BYTES, 0xa1).toString('base64')}`;
    app.use((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => {
      if (req.headers.authorization?.startsWith('Negotiate ')) res.setHeader('WWW-Authenticate', answer);
      next();
    });
    break;
  }
  case 'negotiate-acceptor':
  case 'negotiate-contract': {
    // Scenario 5's middle (5c): the same requests through the package's SPNEGO and
    // kerberosAcceptor() (its in-process replay cache, as ours') and nothing else of the
    // middleware: no connection state, handshake slot, identity policy, req.ntlm or log fields.
    // What is left between this and ours is the middleware's; between this and the floor, the
    // Kerberos work. Row 5d adds the contract, as 1f and 2d have it: the identity given to the
    // connection (a WeakMap by socket), then contractLayer for the request, checking nothing.
    const { decodeSpnego, encodeNegTokenResp, NegState } = spnego;
    const acceptor = kerberosAcceptor({
      keytab: process.env.BENCH_KEYTAB!,
      servicePrincipal: process.env.BENCH_SPN,
    });
    const bySocket = new WeakMap<object, ContractIdentity>();
    const contract =
      mode === 'negotiate-contract' ? contractLayer((req) => bySocket.get(req.socket)) : undefined;
    app.use((req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => {
      const header = req.headers.authorization;
      if (!header?.startsWith('Negotiate ')) return next();
      const init = decodeSpnego(Buffer.from(header.slice('Negotiate '.length), 'base64'));
      if (init.kind !== 'init' || !init.mechToken) return next(new Error('not a NegTokenInit'));
      const supportedMech = init.mechTypes[0];
      // As the middleware does (src/http/middleware.ts): next() from the promise's handler.
      acceptor.accept(init.mechToken).then(({ responseToken, identity }) => {
        const final = encodeNegTokenResp({
          negState: NegState.ACCEPT_COMPLETED,
          supportedMech,
          responseToken,
        });
        res.setHeader('WWW-Authenticate', `Negotiate ${final.toString('base64')}`);
        if (!contract) return next();
        const { username, domain } = identity;
        bySocket.set(req.socket, { username, domain, remoteUser: `${domain}\\${username}` });
        contract(req, res, next);
      }, next);
    });
    break;
  }
  case 'ours':
  case 'ours-bearer':
  case 'ours-netlogon':
  case 'ours-netlogon-cold':
  case 'ours-kerberos': {
    const auth = ntlm({ ...middlewareOptions(), logger: quiet });
    app.use(auth);
    close = () => auth.close();
    break;
  }
  case 'handshake-only': {
    // Row 1e: ours runs every connection's handshake (the requests that carry Authorization), and
    // the requests after it skip the middleware. Row 1 with ours' per-request work taken away:
    // what is left is what answering handshakes in the process does to the rest of its requests.
    const auth = ntlm({ ...middlewareOptions(), logger: quiet });
    app.use((req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) =>
      req.headers.authorization === undefined ? next() : auth(req, res, next),
    );
    close = () => auth.close();
    break;
  }
  case 'handshake-contract': {
    // Row 1f: 1e, and then the contract (contractLayer) for every request after the handshake, with
    // the identity ours gave the connection, found by its socket. What row 1 costs with ours'
    // per-request work cut to what any middleware handing over a connection's identity must do.
    // contractLayer defines req.ntlm first; ours' own req.ntlm then writes through that accessor.
    const bySocket = new WeakMap<object, ContractIdentity>();
    const contract = contractLayer((req) => bySocket.get(req.socket));
    const auth = ntlm({ ...middlewareOptions(), logger: quiet });
    const handshake = (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      next: (error?: unknown) => void,
    ) =>
      auth(req, res, (error?: unknown) => {
        const info = (req as { ntlm?: ContractIdentity }).ntlm;
        if (info)
          bySocket.set(req.socket, {
            username: info.username,
            domain: info.domain,
            remoteUser: info.remoteUser,
          });
        next(error);
      });
    app.use((req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) =>
      req.headers.authorization === undefined ? contract(req, res, next) : handshake(req, res, next),
    );
    close = () => auth.close();
    break;
  }
  case 'express-ntlm':
    app.use(expressNtlm({ domain: 'EXAMPLE', domaincontroller: dcUrl }));
    break;
  default:
    throw new Error(`unknown BENCH_MODE ${mode}`);
}
app.use((_req: http.IncomingMessage, res: http.ServerResponse & { send(body: string): void }) =>
  res.send('Hello, world\n'),
);

const server = (
  app as unknown as { listen(port: number, host: string, ready: () => void): http.Server }
).listen(0, '127.0.0.1', () =>
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port }),
);
// Idle keep-alive connections stay open (scenario 6 holds thousands); the same for every mode.
server.keepAliveTimeout = Number(process.env.BENCH_KEEPALIVE_MS ?? 65_000);
server.headersTimeout = server.keepAliveTimeout + 1000;

process.on('message', async (message: { type: string }) => {
  if (message.type === 'heap') {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    process.send?.({ type: 'heap', heapUsed: process.memoryUsage().heapUsed, gc: gc !== undefined });
  } else if (message.type === 'mark') {
    // The monotonic clock V8's CPU profiles use (µs), so the bench can cut a profile to its load window.
    process.send?.({ type: 'mark', at: Number(process.hrtime.bigint() / 1000n) });
  } else if (message.type === 'stop') {
    server.closeAllConnections();
    server.close();
    await close().catch(() => {});
    // exit() (not a signal) so that --cpu-prof writes its profile.
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
