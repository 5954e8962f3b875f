// Kerberos against the real Samba KDC: `kinit alice` + `curl --negotiate` to a tiny node:http
// server that unwraps SPNEGO and calls kerberosAcceptor() with the DC's keytab. The DC is stopped
// after the tickets are fetched: the logon needs no DC at all. Runs through test/run.sh (its own
// network namespace).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { isNtlmError, type KerberosAcceptorOptions, kerberosAcceptor, MemoryStore } from '../../src/index.js';
import { decodeSpnego, encodeNegTokenResp, NegState } from '../../src/negotiate/spnego.js';
import { curlNegotiate as curlWithTicket, KerberosClientEnv } from '../helpers/kerberos.js';
import { accountSid, DC_DIR, KEYTAB, listening, sambaMissing, startDc, stopDc } from '../helpers/samba.js';

const run = promisify(execFile);
const missing = await sambaMissing();
if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);

const client = new KerberosClientEnv();
const { env } = client;
const kinit = (principal: string, password: string) => client.kinit(principal, password);
const curlNegotiate = (url: string, extra: string[] = []) => curlWithTicket(url, env, extra);

interface Served {
  url: string;
  /** Error codes the server answered with, in order. */
  codes: string[];
  /** Every Authorization header received. */
  tokens: string[];
  close(): Promise<void>;
}

/** The smallest HTTP Negotiate server: SPNEGO in, kerberosAcceptor, NegTokenResp with the AP-REP out. */
async function serve(options: Partial<KerberosAcceptorOptions> = {}): Promise<Served> {
  const acceptor = kerberosAcceptor({ keytab: KEYTAB, ...options });
  const codes: string[] = [];
  const tokens: string[] = [];
  const server = http.createServer(async (req, res) => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Negotiate ')) {
      res.writeHead(401, { 'WWW-Authenticate': 'Negotiate' }).end('authentication required\n');
      return;
    }
    tokens.push(header);
    try {
      const init = decodeSpnego(Buffer.from(header.slice(10), 'base64'));
      if (init.kind !== 'init' || !init.mechToken)
        throw new Error('expected a NegTokenInit with a mechToken');
      const mech = init.mechTypes[0]!;
      const { identity, responseToken } = await acceptor.accept(init.mechToken);
      const answer = encodeNegTokenResp({
        negState: NegState.ACCEPT_COMPLETED,
        supportedMech: mech,
        responseToken,
      });
      res.writeHead(200, {
        'WWW-Authenticate': `Negotiate ${answer.toString('base64')}`,
        'Content-Type': 'application/json',
      });
      res.end(JSON.stringify(identity));
    } catch (error) {
      codes.push(isNtlmError(error) ? error.code : String(error));
      res
        .writeHead(isNtlmError(error) ? error.statusCode : 500, { 'WWW-Authenticate': 'Negotiate' })
        .end('authentication required\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/`,
    codes,
    tokens,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('Kerberos logon from a keytab against the Samba KDC', {
  skip: missing ? `skipped: ${missing}` : false,
}, () => {
  let engineeringSid: string;
  before(async () => {
    await startDc({ strict: true });
    const conf = `${DC_DIR}/etc/smb.conf`;
    // A second SPN on another account (WEB01$): a ticket for it is not ours to open.
    await run('samba-tool', ['spn', 'add', 'HTTP/other', 'WEB01$', '-s', conf]).catch(() => {});
    engineeringSid = await accountSid('Engineering');
    await kinit('alice@EXAMPLE.TEST', 'Alice-Passw0rd!');
  });
  after(async () => {
    await stopDc();
    client.remove();
  });

  it('a ticket for another SPN is refused with ERR_KRB_WRONG_SERVICE', async () => {
    const served = await serve();
    try {
      const port = new URL(served.url).port;
      const result = await curlNegotiate(`http://other:${port}/`, ['--resolve', `other:${port}:127.0.0.1`]);
      assert.equal(result.status, 401);
      assert.deepEqual(served.codes, ['ERR_KRB_WRONG_SERVICE']);
    } finally {
      await served.close();
    }
  });

  it('with the DC stopped after kinit + kvno, curl --negotiate logs in as alice with Engineering from the PAC', async () => {
    // The service ticket is fetched now, while the KDC runs; after this nothing talks to the DC.
    await run('kvno', ['HTTP/localhost@EXAMPLE.TEST'], { env });
    await stopDc();
    assert.equal(await listening(88), false, 'KDC stopped');
    assert.equal(await listening(389), false, 'LDAP stopped');
    const served = await serve();
    try {
      const result = await curlNegotiate(served.url);
      assert.equal(result.status, 200, result.stderr);
      const identity = JSON.parse(result.body);
      assert.equal(identity.username, 'alice');
      assert.equal(identity.domain, 'EXAMPLE');
      assert.equal(identity.realm, 'EXAMPLE.TEST');
      assert.equal(identity.userPrincipalName, 'alice@example.test');
      assert.ok(identity.groupSids.includes(engineeringSid), `${engineeringSid} in ${identity.groupSids}`);
      assert.match(identity.sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
      // curl checked our AP-REP (mutual authentication); a bad one would fail the transfer.
      assert.doesNotMatch(result.stderr, /gss_init_sec_context|failed/i);
      assert.deepEqual(served.codes, []);

      // The same Authorization header again: a replay.
      const replay = await run(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          `Authorization: ${served.tokens[0]}`,
          served.url,
        ],
        { env },
      );
      assert.equal(replay.stdout, '401');
      assert.deepEqual(served.codes, ['ERR_KRB_REPLAY']);
    } finally {
      await served.close();
    }
  });

  it('MIT GSSAPI (python3-gssapi) through SPNEGO accepts our AP-REP: mutual authentication completes', async () => {
    // curl ignores the token on a 200 (a corrupted AP-REP still "works" with curl), so the
    // answer is checked by MIT's own initiator: it refuses a context whose AP-REP is wrong.
    const served = await serve();
    try {
      const script = [
        'import sys, base64, urllib.request, gssapi',
        "ctx = gssapi.SecurityContext(name=gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service),",
        "    usage='initiate', mech=gssapi.OID.from_int_seq('1.3.6.1.5.5.2'), flags=gssapi.RequirementFlag.mutual_authentication)",
        "request = urllib.request.Request(sys.argv[1], headers={'Authorization': 'Negotiate ' + base64.b64encode(ctx.step()).decode()})",
        'response = urllib.request.urlopen(request, timeout=10)',
        "ctx.step(base64.b64decode(response.headers['WWW-Authenticate'].split(' ', 1)[1]))",
        'print(response.status, ctx.complete, bool(ctx.actual_flags & gssapi.RequirementFlag.mutual_authentication))',
      ].join('\n');
      const { stdout } = await run('/usr/bin/python3', ['-c', script, served.url], { env, timeout: 20_000 });
      assert.equal(stdout.trim(), '200 True True');
      assert.deepEqual(served.codes, []);
    } finally {
      await served.close();
    }
  });

  it('headless Chromium with --auth-server-allowlist logs in by Kerberos (from its second Negotiate challenge on)', async () => {
    // Chromium 156 on Linux answers the first Negotiate challenge after start with
    // ERR_UNSUPPORTED_AUTH_SCHEME before even loading libgssapi (net-log: AUTH_HANDLER_CREATE_RESULT
    // -339, no AUTH_LIBRARY_LOAD); every later challenge loads libgssapi_krb5.so.2 and works.
    const served = await serve();
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      env: env as Record<string, string>,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--auth-server-allowlist=localhost'],
    });
    try {
      const page = await browser.newPage();
      assert.equal((await page.goto(`${served.url}warm-up`))?.status(), 401);
      const response = await page.goto(served.url);
      assert.equal(response?.status(), 200);
      assert.equal(JSON.parse(await response!.text()).username, 'alice');
    } finally {
      await browser.close();
      await served.close();
    }
  });

  it('a skewed clock and an expired ticket get their own codes; a shared store catches a replay on another instance', async () => {
    const skewed = await serve({ now: () => Date.now() + 10 * 60_000 });
    const late = await serve({ now: () => Date.now() + 2 * 86_400_000 });
    const store = new MemoryStore();
    const [one, two] = [await serve({ replayStore: store }), await serve({ replayStore: store })];
    try {
      assert.equal((await curlNegotiate(skewed.url)).status, 401);
      assert.deepEqual(skewed.codes, ['ERR_KRB_CLOCK_SKEW']);
      assert.equal((await curlNegotiate(late.url)).status, 401);
      assert.deepEqual(late.codes, ['ERR_KRB_TICKET_EXPIRED']);
      assert.equal((await curlNegotiate(one.url)).status, 200);
      const replay = await run(
        'curl',
        ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', `Authorization: ${one.tokens[0]}`, two.url],
        { env },
      );
      assert.equal(replay.stdout, '401');
      assert.deepEqual(two.codes, ['ERR_KRB_REPLAY']);
    } finally {
      await Promise.all([skewed.close(), late.close(), one.close(), two.close()]);
    }
  });
});
