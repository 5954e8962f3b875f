// Logons per second through ntlm(): Kerberos (SPNEGO AP-REQ, keytab, PAC; no DC round trip) vs
// NTLM through the LDAP relay (domainController), same server process, same concurrency, each
// logon on a new HTTP connection (Kerberos: one leg; NTLM: three).
//
//   unshare -n bash -c 'ip link set lo up && npx tsx bench/kerberos-vs-relay.ts [seconds] [concurrency]'
//
// (its own network namespace, as test/run.sh gives the tests: the DC binds 127.0.0.1:88/389.)
// The Kerberos load client: `kinit alice` + `curl --negotiate` give one real token; each logon
// then sends it with its authenticator sealed again under the ticket's session key (a fresh
// confounder and ctime, so the replay cache sees a new authenticator, as MIT's does since 1.18).
// Sealing costs the client one AES-CTS encryption; the server does all of its usual work.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { domainController, ntlm, type Verifier } from '../src/index.js';
import { decodeApReq } from '../src/kerberos/ap-req.js';
import { decodeAuthenticator } from '../src/kerberos/authenticator.js';
import { decodeEncTicketPart } from '../src/kerberos/enc-ticket-part.js';
import { decrypt, encrypt, KeyUsage } from '../src/kerberos/enctypes.js';
import { unwrapGssToken } from '../src/kerberos/gss-token.js';
import { parseKeytab } from '../src/kerberos/keytab.js';
import { decodeSpnego } from '../src/negotiate/spnego.js';
import { NtlmHttpClient } from '../test/helpers/http-client.js';
import { curlNegotiate, KerberosClientEnv } from '../test/helpers/kerberos.js';
import { DC_URL, KEYTAB, startDc, stopDc } from '../test/helpers/samba.js';
import { listen } from '../test/helpers/servers.js';

const SECONDS = Number(process.argv[2] ?? 10);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const ALICE = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };
const quiet = { debug() {}, info() {}, warn() {}, error: console.error };

async function serve(verifier: Verifier, capture?: (authorization: string) => void) {
  const auth = ntlm({ verifier, kerberos: { keytab: KEYTAB }, logger: quiet });
  const served = await listen(
    (req, res) => {
      capture?.(req.headers.authorization ?? '');
      auth(req, res, () => res.end(req.ntlm?.username ?? ''));
    },
    () => auth.close(),
  );
  return { ...served, url: served.url.replace('127.0.0.1', 'localhost') };
}

/** Fresh Kerberos tokens from one real one: the authenticator re-sealed with a new confounder and ctime. */
function tokenMint(token: Buffer): () => Buffer {
  const init = decodeSpnego(token);
  if (init.kind !== 'init' || !init.mechToken) throw new Error('expected a NegTokenInit with an AP-REQ');
  const apReq = decodeApReq(unwrapGssToken(init.mechToken).body);
  const keys = parseKeytab(readFileSync(KEYTAB));
  const key = keys.find((e) => e.key.etype === apReq.ticket.encPart.etype)!.key;
  const sessionKey = decodeEncTicketPart(decrypt(key, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!).key;
  const cipher = apReq.authenticator.cipher;
  const plain = decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, cipher)!;
  const ctimeText = Buffer.from(kerberosTime(decodeAuthenticator(plain).ctime));
  const ctimeAt = plain.indexOf(ctimeText);
  const at = token.indexOf(cipher);
  return () => {
    const fresh = Buffer.from(plain);
    Buffer.from(kerberosTime(new Date())).copy(fresh, ctimeAt);
    const copy = Buffer.from(token);
    encrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, fresh).copy(copy, at);
    return copy;
  };
}

function kerberosTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

/** Logons on new connections, `CONCURRENCY` at a time, for `seconds`; logons per second. */
async function load(seconds: number, logon: () => Promise<boolean>): Promise<number> {
  let count = 0;
  let failures = 0;
  const end = Date.now() + seconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        if (await logon()) count++;
        else failures++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  if (failures > 0) throw new Error(`${failures} logons failed`);
  return count / elapsed;
}

function kerberosLogon(url: string, mint: () => Buffer): () => Promise<boolean> {
  return () =>
    new Promise((resolve, reject) => {
      const agent = new http.Agent({ keepAlive: false });
      http
        .get(url, { agent, headers: { Authorization: `Negotiate ${mint().toString('base64')}` } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(res.statusCode === 200 && body === 'alice'));
        })
        .on('error', reject);
    });
}

function relayLogon(url: string): () => Promise<boolean> {
  return async () => {
    const client = new NtlmHttpClient(url);
    const reply = await client.login('/', ALICE);
    client.agent.destroy();
    return reply.status === 200 && reply.body === 'alice';
  };
}

await startDc({ strict: false });
const clients = new KerberosClientEnv();
let captured = '';
const server = await serve(domainController({ domains: { EXAMPLE: [DC_URL] } }), (a) => {
  if (!captured && a.startsWith('Negotiate ')) captured = a.slice(10);
});
try {
  await clients.kinit('alice@EXAMPLE.TEST', ALICE.password);
  const first = await curlNegotiate(`${server.url}/`, clients.env);
  if (first.status !== 200) throw new Error(`curl --negotiate: ${first.status}\n${first.stderr}`);
  const mint = tokenMint(Buffer.from(captured, 'base64'));
  const kerberos = kerberosLogon(`${server.url}/`, mint);
  const relay = relayLogon(server.url.replace('localhost', '127.0.0.1'));
  await load(2, kerberos); // warm-up: JIT, derived keys, LDAP connections
  await load(2, relay);
  const rounds: { kerberos: number; relay: number }[] = [];
  for (let round = 0; round < 2; round++) {
    const k = await load(SECONDS, kerberos);
    const r = await load(SECONDS, relay);
    rounds.push({ kerberos: k, relay: r });
    console.log(
      `round ${round + 1}: Kerberos ${k.toFixed(1)} logons/s, LDAP relay ${r.toFixed(1)} logons/s, ratio ${(k / r).toFixed(1)}×`,
    );
  }
  const mean = (pick: (x: { kerberos: number; relay: number }) => number) =>
    rounds.reduce((sum, x) => sum + pick(x), 0) / rounds.length;
  console.log(
    `${SECONDS} s × ${rounds.length} rounds, ${CONCURRENCY} in parallel, new connection each: ` +
      `Kerberos ${mean((x) => x.kerberos).toFixed(1)}/s, LDAP relay ${mean((x) => x.relay).toFixed(1)}/s, ` +
      `ratio ${(mean((x) => x.kerberos) / mean((x) => x.relay)).toFixed(1)}×`,
  );
} finally {
  await server.close();
  clients.remove();
  await stopDc();
}
