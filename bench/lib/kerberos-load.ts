// The Kerberos load client. One `kinit` and one `curl --negotiate` (MIT krb5, as on a Linux
// desktop) per user give a real SPNEGO token for HTTP/localhost, caught by a throwaway server in
// this process. Each logon then sends that token with its authenticator sealed again under the
// ticket's session key, with a fresh confounder and ctime: the replay cache, keyed by a hash of
// the encrypted authenticator (as MIT's since 1.18), sees a new authenticator every time (RFC
// 4120 3.2.3), and starting a curl process per logon would measure curl, not the server. The
// session key is read from the ticket with the service's keytab (a real client has it in its
// ccache). Re-sealing costs the load generator one AES-CTS encryption per logon, done before the
// round starts. The server does what a real client's next connection asks of it: SPNEGO, AP-REQ,
// the authenticator's decryption and checks, replay cache, AP-REP; the ticket and its PAC are
// opened once per ticket (src/kerberos/opened-tickets.ts), as a client sends the same ticket on
// every connection for the ticket's life.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { decodeAuthenticator } from '../../src/kerberos/authenticator.js';
import { decodeEncTicketPart } from '../../src/kerberos/enc-ticket-part.js';
import { decrypt, encrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { unwrapGssToken } from '../../src/kerberos/gss-token.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { decodeSpnego } from '../../src/negotiate/spnego.js';
import { curlNegotiate, KerberosClientEnv } from '../../test/helpers/kerberos.js';
import type { ClientCredentials } from '../../test/helpers/ntlm-client.js';
import { HttpConnection, requestBytes } from './http-conn.js';
import { type LogonResult, runWorkers } from './ntlm-load.js';

/** A source of fresh Negotiate tokens for one user. */
export type TokenMint = () => Buffer;

/** KerberosTime (RFC 4120 5.2.3): YYYYMMDDHHMMSSZ. */
function kerberosTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

/** Fresh tokens from one real SPNEGO NegTokenInit carrying an AP-REQ. */
export function tokenMint(token: Buffer, keytab: Buffer): TokenMint {
  const init = decodeSpnego(token);
  if (init.kind !== 'init' || !init.mechToken) throw new Error('expected a NegTokenInit with an AP-REQ');
  const apReq = decodeApReq(unwrapGssToken(init.mechToken).body);
  const { etype, kvno } = apReq.ticket.encPart;
  const entry = parseKeytab(keytab).find(
    (e) => e.key.etype === etype && (kvno === undefined || e.kvno === kvno),
  );
  if (!entry) throw new Error(`the keytab has no key for the ticket (etype ${etype}, kvno ${kvno})`);
  const ticketPart = decrypt(entry.key, KeyUsage.TICKET, apReq.ticket.encPart.cipher);
  if (!ticketPart) throw new Error('the keytab key does not decrypt the ticket');
  const sessionKey = decodeEncTicketPart(ticketPart).key;
  const cipher = apReq.authenticator.cipher;
  const plain = decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, cipher);
  if (!plain) throw new Error('the session key does not decrypt the authenticator');
  // ctime is a GeneralizedTime of fixed length: overwritten in place, the DER stays valid.
  const ctimeText = Buffer.from(kerberosTime(decodeAuthenticator(plain).ctime));
  const ctimeAt = plain.indexOf(ctimeText);
  const cipherAt = token.indexOf(cipher);
  if (ctimeAt < 0 || cipherAt < 0)
    throw new Error('cannot place the ctime or the authenticator in the token');
  return () => {
    const fresh = Buffer.from(plain);
    Buffer.from(kerberosTime(new Date())).copy(fresh, ctimeAt);
    const copy = Buffer.from(token);
    // The same etype, so the ciphertext has the same length and every DER length still holds.
    encrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, fresh).copy(copy, cipherAt);
    return copy;
  };
}

/** Serves 401 Negotiate until a request carries a Negotiate token; resolves with that token. */
async function catchToken(url: (port: number) => string, run: (url: string) => Promise<unknown>) {
  let caught: Buffer | undefined;
  const server = http.createServer((req, res) => {
    const authorization = req.headers.authorization ?? '';
    if (authorization.startsWith('Negotiate ')) {
      caught ??= Buffer.from(authorization.slice('Negotiate '.length), 'base64');
      res.end('ok');
    } else {
      res.writeHead(401, { 'WWW-Authenticate': 'Negotiate' }).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    // curl may complain afterwards (no AP-REP from this server): the token is what we came for.
    const outcome = await run(url(port)).catch((error: Error) => error);
    if (!caught) throw new Error(`curl --negotiate sent no Negotiate token: ${String(outcome)}`);
    return caught;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * A token mint per user: `kinit user@REALM`, then `curl --negotiate http://localhost:PORT/`
 * (so the ticket is for HTTP/localhost, the test keytab's SPN), each in a private ccache.
 */
export async function kerberosMints(
  users: readonly ClientCredentials[],
  realm: string,
  keytabPath: string,
): Promise<TokenMint[]> {
  const keytab = readFileSync(keytabPath);
  const mints: TokenMint[] = [];
  for (const user of users) {
    const client = new KerberosClientEnv();
    try {
      await client.kinit(`${user.user}@${realm}`, user.password);
      const token = await catchToken(
        (port) => `http://localhost:${port}/`,
        (url) => curlNegotiate(url, client.env, ['--resolve', `localhost:${new URL(url).port}:127.0.0.1`]),
      );
      mints.push(tokenMint(token, keytab));
    } finally {
      client.remove();
    }
  }
  return mints;
}

/** Tokens made ahead per second of load: above the rate this machine reaches (~2,500 logons/s). */
const TOKENS_PER_SECOND = 4000;

/**
 * Kerberos logons, a new TCP connection each: one request with a fresh token, answered 200 with
 * the final Negotiate token (accept-completed and the AP-REP, RFC 4559 5). The requests are made
 * before the clock starts, as a browser's tokens are made on the user's machine, not the
 * server's: the load generator's CPU in the window is the connection and the request, as for the
 * other rows. Should the window outlast them, the rest are made as they are sent.
 */
export async function kerberosLogonLoad(options: {
  port: number;
  parallel: number;
  durationMs: number;
  mints: readonly TokenMint[];
}): Promise<LogonResult> {
  const request = (mint: TokenMint) =>
    requestBytes('127.0.0.1', '/', { Authorization: `Negotiate ${mint().toString('base64')}` });
  const ready = Array.from({ length: Math.ceil((options.durationMs / 1000) * TOKENS_PER_SECOND) }, (_, i) =>
    request(options.mints[i % options.mints.length]!),
  );
  let used = 0;
  return runWorkers({ ...options, users: options.mints }, async (mint) => {
    const bytes = used < ready.length ? ready[used++]! : request(mint);
    const connection = await HttpConnection.open(options.port);
    try {
      const reply = await connection.request(bytes);
      if (reply.status !== 200) throw new Error(`Kerberos logon ended with ${reply.status}`);
      // accept-completed with the AP-REP: the Kerberos path ran, not some other way to a 200.
      if (!reply.challenge?.startsWith('Negotiate '))
        throw new Error('Kerberos logon answered 200 without the final Negotiate token');
    } finally {
      connection.close();
    }
  });
}
