// Run by basic-kdc.test.ts as a process of its own: ntlm() with Basic and `kdc: 'auto'`, one logon
// left waiting on a silent KDC, then close() (and the HTTP server closed). Prints what still keeps
// the event loop alive, and then must exit by itself: nothing of ours may hold it open.
// Usage: node --import tsx kdc-close-child.ts KEYTAB
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ntlm } from '../../src/index.js';

const keytab = process.argv[2]!;
const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const auth = ntlm({
  verifier: {
    name: 'ntlm-only',
    domains: ['EXAMPLE', 'example.test'],
    startHandshake: () => Promise.reject(new Error('not used here')),
  },
  kerberos: { keytab, kdc: 'auto', kdcTimeoutMs: 60_000 },
  basic: true,
  trustedProxies: ['127.0.0.1'],
  logger: silentLogger,
});
const server = http.createServer((req, res) => auth(req, res, () => res.end('ok')));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const request = http.get({
  port,
  host: '127.0.0.1',
  agent: false,
  headers: {
    Authorization: `Basic ${Buffer.from('EXAMPLE\\alice:Alice-Passw0rd!').toString('base64')}`,
    'X-Forwarded-Proto': 'https',
  },
});
request.on('error', () => {}); // its connection is closed below, answered or not
// The parent says when its silent KDC holds our connection.
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
await auth.close();
// Our own HTTP server and client go too: what is left is what ntlm() left.
server.closeAllConnections();
await new Promise((resolve) => server.close(resolve));
// Handles being closed stay listed until the loop's close phase has run: give it a few turns.
const ours = () => process.getActiveResourcesInfo().filter((name) => !/Pipe|TTY/.test(name));
for (let turn = 0; turn < 20 && ours().length > 0; turn++) {
  await new Promise((resolve) => setTimeout(resolve, 5));
}
console.log(JSON.stringify({ active: process.getActiveResourcesInfo() }));
