// The demo: `npm run demo`, then open http://127.0.0.1:3000 or
//   curl --ntlm -u 'EXAMPLE\alice:Alice-Passw0rd!' http://127.0.0.1:3000/api/whoami
// Users come from demo-app/users.json, or from a domain (NTLM_NETLOGON wins over NTLM_DC_URL):
//   NTLM_NETLOGON=dc1,dc2:49152 NTLM_MACHINE_ACCOUNT='WEB01$' NTLM_MACHINE_PASSWORD_FILE=FILE
//     NTLM_DOMAIN=EXAMPLE NTLM_DNS_DOMAIN=example.test: the Netlogon secure channel of a computer
//     account, which works on DCs that require LDAP signing (NTLM_MACHINE_PASSWORD instead of
//     the file works too; a port after a DC skips the endpoint mapper);
//   NTLM_DC_URL=ldap://dc1,ldap://dc2 NTLM_DOMAIN=EXAMPLE: the LDAP relay.
// HTTPS with NTLM_TLS_CERT=cert.pem NTLM_TLS_KEY=key.pem; then NTLM_EXTENDED_PROTECTION=allow or
// require binds logons to that TLS channel (IIS's Extended Protection; NTLM_SPN also names the
// target clients must sign).
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import {
  domainController,
  localDirectoryFromFile,
  netlogon,
  ntlm,
  RedisStore,
  type Verifier,
  WorkerStore,
} from 'ntlm-sso';
import { createDemoApp, demoUsersPage } from './app.js';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 3000);
const debug = Number(process.env.NTLM_DEBUG ?? 1) as 0 | 1 | 2;

// NTLM_REDIS_URL shares revoked tokens (logouts) and cached directory attributes between instances.
// Under NTLM_WORKERS (server.ts), workers without Redis share the primary's store over IPC.
const store = process.env.NTLM_REDIS_URL
  ? new RedisStore({ redis: process.env.NTLM_REDIS_URL })
  : cluster.isWorker
    ? new WorkerStore()
    : undefined;

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean) ?? [];

function verifierFromEnvironment(): { verifier: Verifier; source: string; localUsers?: string[] } {
  const domain = process.env.NTLM_DOMAIN ?? 'EXAMPLE';
  const netlogonDcs = list(process.env.NTLM_NETLOGON);
  if (netlogonDcs.length) {
    return {
      verifier: netlogon({
        domain,
        dnsDomain: process.env.NTLM_DNS_DOMAIN,
        dcs: netlogonDcs,
        machineAccount: process.env.NTLM_MACHINE_ACCOUNT ?? '',
        machinePasswordFile: process.env.NTLM_MACHINE_PASSWORD_FILE,
        machinePassword: process.env.NTLM_MACHINE_PASSWORD,
      }),
      source: `${domain} via Netlogon to ${netlogonDcs.join(', ')}`,
    };
  }
  const dcUrls = list(process.env.NTLM_DC_URL);
  if (dcUrls.length) {
    return {
      verifier: domainController({ domains: { [domain]: dcUrls }, cache: store ? { store } : undefined }),
      source: `${domain} via ${dcUrls.join(', ')}`,
    };
  }
  const usersFile = process.env.NTLM_USERS_FILE ?? fileURLToPath(new URL('./users.json', import.meta.url));
  // The demo's own users are there to be tried: its 401 page names them (never a real directory's).
  const localUsers = process.env.NTLM_USERS_FILE ? undefined : demoUsers(usersFile);
  return { verifier: localDirectoryFromFile(usersFile), source: usersFile, localUsers };
}

/** `EXAMPLE\alice / Alice-Passw0rd!` for each user of the demo's users.json. */
function demoUsers(file: string): string[] {
  const { domain, users } = JSON.parse(readFileSync(file, 'utf8')) as {
    domain: string;
    users: { username: string; password?: string }[];
  };
  return users.map((user) => `${domain}\\${user.username} / ${user.password ?? '(NT hash only)'}`);
}

const { verifier, source, localUsers } = verifierFromEnvironment();
// Bearer tokens let later requests skip NTLM. Give every instance the same NTLM_JWT_SECRET
// (32+ bytes) for them to accept each other's tokens; by default each start makes its own.
const secret = process.env.NTLM_JWT_SECRET ?? randomBytes(32).toString('base64');
// NTLM_KEYTAB (a keytab path) adds Kerberos: 401s offer Negotiate before NTLM, and domain
// browsers with a ticket log in without any DC round trip. NTLM_SPN limits it to one principal.
const kerberos = process.env.NTLM_KEYTAB
  ? { keytab: process.env.NTLM_KEYTAB, servicePrincipal: process.env.NTLM_SPN || undefined }
  : undefined;
const tls =
  process.env.NTLM_TLS_CERT && process.env.NTLM_TLS_KEY
    ? { cert: readFileSync(process.env.NTLM_TLS_CERT), key: readFileSync(process.env.NTLM_TLS_KEY) }
    : undefined;
const extendedProtection = (process.env.NTLM_EXTENDED_PROTECTION ?? 'off') as 'off' | 'allow' | 'require';
const auth = ntlm({
  verifier,
  debug,
  bearer: { secret },
  store,
  kerberos,
  extendedProtection,
  servicePrincipalNames: process.env.NTLM_SPN ? [process.env.NTLM_SPN] : undefined,
  onUnauthorized: localUsers ? demoUsersPage(localUsers) : undefined,
});
const app = createDemoApp(auth);
// Room for the Kerberos token of a user in many groups: Node's own 16 KiB would answer 431.
const limits = { maxHeaderSize: 96 * 1024 };
const server = (tls ? https.createServer({ ...tls, ...limits }, app) : http.createServer(limits, app)).listen(
  port,
  host,
  () => {
    // Under NTLM_WORKERS the primary says it once, for all workers.
    if (cluster.isWorker) return;
    const scheme = tls ? 'https' : 'http';
    const protection = extendedProtection === 'off' ? '' : `; Extended Protection ${extendedProtection}`;
    console.log(
      `ntlm-sso demo on ${scheme}://${host}:${port}/ (users from ${source}${kerberos ? `; Kerberos from ${kerberos.keytab}` : ''}${protection})`,
    );
  },
);
// NTLM authenticates the connection: keep idle ones as long as their identity lasts
// (connectionIdleTimeoutMs, 60 s by default), not Node's 5 s, or every pause costs a handshake.
server.keepAliveTimeout = 60_000;

const shutdown = () => {
  server.close(() => auth.close().then(() => process.exit(0)));
  server.closeIdleConnections();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
