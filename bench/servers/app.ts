// One benchmark server process: Express 4 with the same tiny handler, behind nothing (bare), our
// middleware (with the LDAP relay, Bearer tokens or Netlogon), or express-ntlm. The load
// generator runs in another process; this one answers `heap` (after two full GCs: start it
// with --expose-gc), `mark` (the profile clock) and `stop` over the IPC channel. Configured by environment variables:
// BENCH_MODE, BENCH_DC_URL, BENCH_JWT_SECRET, BENCH_MACHINE_PASSWORD, BENCH_KEEPALIVE_MS.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import expressNtlm from 'express-ntlm';
import express from 'express4';
import * as ntlmSso from 'ntlm-sso';
import { domainController, type Logger, ntlm, type Verifier } from 'ntlm-sso';

const mode = process.env.BENCH_MODE ?? 'bare';
const dcUrl = process.env.BENCH_DC_URL ?? 'ldap://127.0.0.1';

/** Warnings and errors to stderr (the bench shows them when a run fails); nothing per logon. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => console.error('warn', message, JSON.stringify(fields)),
  error: (message, fields) => console.error('error', message, JSON.stringify(fields)),
};

function netlogonVerifier(): Verifier {
  const make = (ntlmSso as Record<string, unknown>).netlogon;
  if (typeof make !== 'function') throw new Error('this build exports no netlogon()');
  return make({
    domain: 'EXAMPLE',
    dcs: ['127.0.0.1'],
    machineAccount: 'WEB01$',
    machinePassword: process.env.BENCH_MACHINE_PASSWORD,
  }) as Verifier;
}

const app = express();
let close = async () => {};
switch (mode) {
  case 'bare':
    break;
  case 'ours':
  case 'ours-bearer':
  case 'ours-netlogon': {
    const auth = ntlm({
      verifier:
        mode === 'ours-netlogon' ? netlogonVerifier() : domainController({ domains: { EXAMPLE: [dcUrl] } }),
      logger: quiet,
      ...(mode === 'ours-bearer' ? { bearer: { secret: process.env.BENCH_JWT_SECRET! } } : {}),
    });
    app.use(auth);
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
