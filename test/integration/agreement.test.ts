// Issue 19 §2 and §4 against the real Samba DC and KDC: readiness that tells the truth (the LDAP
// relay on a DC that requires signing, Netlogon's secure channel, the Kerberos keytab), said the
// same by auth.ready(), Fastify, Koa and the gateway; the gateway and the library agreeing on the
// forwarded client, the mechanism's name, Extended Protection and the DNS domain; the demo over
// HTTPS with Extended Protection, and its 401 page naming its users.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import Koa from 'koa';
import { ntlmPlugin } from '../../src/fastify/index.js';
import { domainController, type NtlmOptions, netlogon, ntlm } from '../../src/index.js';
import { ntlm as koaNtlm } from '../../src/koa/index.js';
import { AvId, findAvPair } from '../../src/ntlm/av-pairs.js';
import { challengeAvPairs, decodeChallenge } from '../../src/ntlm/challenge.js';
import { channelBindingsHash, tlsServerEndPoint } from '../../src/ntlm/extended-protection.js';
import { curl, curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { curlNegotiate, KerberosClientEnv } from '../helpers/kerberos.js';
import { linesWith } from '../helpers/log-lines.js';
import { sample } from '../helpers/metrics-text.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { type RunningProcess, runCli, startDemo, startGateway } from '../helpers/processes.js';
import { KEYTAB, MACHINE_ACCOUNT, MACHINE_PASSWORD, sambaSkip, startDc, stopDc } from '../helpers/samba.js';
import { ALICE, recordingLogger, serveIdentity } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const skip = await sambaSkip();

const DC = 'ldap://127.0.0.1';
const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-agreement-'));
const passwordFile = join(dir, 'machine-password');
writeFileSync(passwordFile, MACHINE_PASSWORD, { mode: 0o600 });
const wrongPasswordFile = join(dir, 'wrong-password');
writeFileSync(wrongPasswordFile, 'not-the-machine-password', { mode: 0o600 });
const NETLOGON = ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE', '--machine-account', MACHINE_ACCOUNT];
const clients = new KerberosClientEnv();
after(() => rmSync(dir, { recursive: true, force: true }));
/** curl --negotiate builds the SPN from the host name: HTTP/localhost is the keytab's. */
const local = (url: string) => url.replace('127.0.0.1', 'localhost');

async function readiness(url: string): Promise<{ status: number; body: unknown }> {
  const reply = await fetch(`${url}/.ntlm-sso/ready`);
  return { status: reply.status, body: await reply.json() };
}

/** A self-signed certificate for localhost and its channel bindings (RFC 5929 tls-server-end-point). */
async function certificate() {
  const { key, cert, der } = await selfSignedCertificate(dir);
  return { key, cert, bindings: channelBindingsHash(tlsServerEndPoint(der)) };
}

/** What Fastify's and Koa's readiness handlers answer for `options`. */
async function adapterReadiness(options: Pick<NtlmOptions, 'verifier' | 'logger'>) {
  const fastify = Fastify();
  await fastify.register(ntlmPlugin, options);
  fastify.get('/ready', { config: { ntlm: false } }, fastify.ntlm.readyHandler);
  const fromFastify = await fastify.inject({ url: '/ready' });
  await fastify.close();
  const auth = koaNtlm({ ...options, verifier: domainController({ domains: { EXAMPLE: [DC] } }) });
  const app = new Koa();
  app.use((ctx, next) => (ctx.path === '/ready' ? auth.readyHandler(ctx, next) : next()));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const reply = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`);
  const fromKoa = { status: reply.status, body: await reply.json() };
  server.close();
  await auth.close();
  return { fastify: { status: fromFastify.statusCode, body: fromFastify.json() }, koa: fromKoa };
}

describe('readiness and agreement (Samba AD DC, strict)', { skip }, () => {
  let upstream: Awaited<ReturnType<typeof startEchoUpstream>>;
  const gateways: RunningProcess[] = [];
  const gateway = async (args: string[], env: Record<string, string> = {}) => {
    const started = await startGateway(['--upstream', upstream.url, ...args], env);
    gateways.push(started);
    return started;
  };
  before(async () => {
    await startDc({ strict: true });
    upstream = await startEchoUpstream();
  });
  after(async () => {
    for (const running of gateways) await running.stop();
    await upstream?.close();
    await stopDc();
    clients.remove();
  });

  it('the relay on a DC that requires signing: an error with the fix at start, /ready 503 before and after a logon, the same from auth.ready(), Fastify and Koa', async () => {
    const relay = await gateway(['--dc', DC, '--domain', 'EXAMPLE']);
    // Found at start, before any poll or logon.
    await eventually(
      async () =>
        linesWith(relay.output(), 'not ready: logons cannot succeed with these settings').length > 0,
      'the start-up probe logs the signing DC',
      10_000,
    );
    const [line] = linesWith(relay.output(), 'not ready: logons cannot succeed with these settings');
    assert.equal(line!.level, 'error');
    assert.match(String(line!.failing), /ldap:\/\/127\.0\.0\.1: requires LDAP signing/);
    assert.match(String(line!.fix), /ldap server require strong auth = no/);
    assert.match(String(line!.fix), /use Netlogon/);
    const before = await readiness(relay.url);
    assert.deepEqual(before, {
      status: 503,
      body: { status: 'unavailable', checks: [{ name: 'dc1', ok: false }] },
    });

    assert.equal((await curlNtlm(`${relay.url}/app`, 'EXAMPLE\\alice:Alice-Passw0rd!')).status, 503);
    assert.deepEqual(await readiness(relay.url), before, 'still 503 after a logon');
    assert.equal((await fetch(`${relay.url}/.ntlm-sso/health`)).status, 200, 'the gateway keeps running');
    assert.equal(
      linesWith(relay.output(), 'not ready: logons cannot succeed with these settings').length,
      1,
      'logged once, not per poll',
    );

    const options = { verifier: domainController({ domains: { EXAMPLE: [DC] } }), logger: recordingLogger() };
    const auth = ntlm(options);
    const report = await auth.ready();
    await auth.close();
    assert.equal(report.ready, false);
    assert.match(String(report.checks[0]!.detail), /requires LDAP signing \(it answered result 8/);
    assert.match(String(report.checks[0]!.fix), /LDAP server signing requirements" = None/);
    const adapters = await adapterReadiness({
      verifier: domainController({ domains: { EXAMPLE: [DC] } }),
      logger: recordingLogger(),
    });
    assert.deepEqual(adapters.fastify, before);
    assert.deepEqual(adapters.koa, before);
  });

  it('Netlogon: ready means a secure channel opens; a refused computer account is an error with its fix', async () => {
    const wrong = await gateway([...NETLOGON, '--machine-password-file', wrongPasswordFile]);
    await eventually(
      async () => (await readiness(wrong.url)).status === 503,
      'a wrong machine password is not ready',
      10_000,
    );
    const [line] = linesWith(wrong.output(), 'not ready: logons cannot succeed with these settings');
    assert.equal(line?.level, 'error', wrong.output());
    assert.match(String(line!.failing), /netlogon:\/\/127\.0\.0\.1: .*0xC0000022 \(wrong machine password\)/);
    assert.match(String(line!.fix), /samba-tool user setpassword/);

    const right = await gateway([...NETLOGON, '--machine-password-file', passwordFile]);
    assert.deepEqual(await readiness(right.url), {
      status: 200,
      body: { status: 'ready', checks: [{ name: 'dc1', ok: true }] },
    });
    // The probe's channel serves the first logon.
    assert.equal((await curlNtlm(`${right.url}/app`, 'EXAMPLE\\alice:Alice-Passw0rd!')).status, 200);

    const nobody = ntlm({
      verifier: netlogon({
        domain: 'EXAMPLE',
        dcs: ['127.0.0.1'],
        machineAccount: 'NOSUCH$',
        machinePassword: MACHINE_PASSWORD,
      }),
      logger: recordingLogger(),
    });
    const report = await nobody.ready();
    await nobody.close();
    assert.equal(report.ready, false);
    assert.match(String(report.checks[0]!.detail), /0xC000018B \(no such computer account\)/);
  });

  it('doctor: a DC that answers on another RPC port is said to answer, never to be unreachable', async () => {
    const { stdout } = await runCli(
      ['doctor', '--netlogon', '127.0.0.1:135', '--domain', 'EXAMPLE', '--machine-account', MACHINE_ACCOUNT],
      {
        NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD,
      },
    );
    const line = stdout.split('\n').find((text) => text.includes(' secure channel: '));
    assert.match(
      String(line),
      /^✗ netlogon:\/\/127\.0\.0\.1:135 secure channel: 127\.0\.0\.1:135 answered, but /,
      stdout,
    );
    assert.doesNotMatch(stdout, /did not complete|did not answer|no answer/);
  });

  it('Kerberos: ready while the keytab is readable with a usable key; 503 with the fix when it is not, 200 once restored', async () => {
    const keytab = join(dir, 'http.keytab');
    copyFileSync(KEYTAB, keytab);
    const served = await gateway([
      ...NETLOGON,
      '--machine-password-file',
      passwordFile,
      '--keytab',
      keytab,
      '--spn',
      'HTTP/localhost',
    ]);
    assert.equal((await readiness(served.url)).status, 200);
    writeFileSync(keytab, readFileSync(KEYTAB).subarray(0, 40));
    await eventually(async () => (await readiness(served.url)).status === 503, 'a truncated keytab', 5000);
    assert.deepEqual((await readiness(served.url)).body, {
      status: 'unavailable',
      checks: [
        { name: 'dc1', ok: true },
        { name: 'kerberos keytab', ok: false },
      ],
    });
    const [line] = linesWith(served.output(), 'not ready: logons cannot succeed with these settings');
    assert.match(String(line!.fix), /samba-tool domain exportkeytab/);
    copyFileSync(KEYTAB, keytab);
    await eventually(async () => (await readiness(served.url)).status === 200, 'the keytab restored', 5000);
  });

  it('header mode counts handshake shares by the client a --trusted-proxy forwards: 1,000 NEGOTIATEs for one do not block a logon for another', async () => {
    const proxied = await gateway([
      ...NETLOGON,
      '--machine-password-file',
      passwordFile,
      '--trusted-proxy',
      '127.0.0.1',
    ]);
    const { port } = new URL(proxied.url);
    const negotiate = `NTLM ${type1().toString('base64')}`;
    const sockets: net.Socket[] = [];
    const statuses = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<number>((resolve, reject) => {
            const socket = net.connect(Number(port), '127.0.0.1');
            sockets.push(socket);
            socket.once('error', reject);
            socket.once('data', (chunk) => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(String(chunk))?.[1])));
            socket.write(
              `GET /app HTTP/1.1\r\nHost: x\r\nAuthorization: ${negotiate}\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n`,
            );
          }),
      ),
    );
    try {
      const challenged = statuses.filter((status) => status === 401).length;
      const refused = statuses.filter((status) => status === 503).length;
      console.log(`# flood for 10.0.0.1: ${challenged} challenged, ${refused} refused (503)`);
      assert.equal(challenged + refused, 1000);
      assert.ok(refused > 0, 'the flooding client meets its own share');
      // Another forwarded client, while the flood holds its handshakes open.
      const other = new NtlmHttpClient(proxied.url);
      const forwarded = { 'X-Forwarded-For': '10.0.0.2' };
      const token = type1();
      const first = await other.request('/app', {
        ...forwarded,
        Authorization: `NTLM ${token.toString('base64')}`,
      });
      assert.equal(first.status, 401, `the other client's NEGOTIATE: ${first.status}`);
      const challenge = Buffer.from(String(first.headers['www-authenticate']).slice(5), 'base64');
      const answer = await type3(token, challenge, ALICE);
      const last = await other.request('/app', {
        ...forwarded,
        Authorization: `NTLM ${answer.toString('base64')}`,
      });
      assert.equal(last.status, 200);
      other.close();
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });

  it('one name per mechanism: NTLM, SPNEGO-NTLM and Kerberos alike on req.ntlm, the "logon accepted" line and the metrics label', async () => {
    await clients.kinit('alice@EXAMPLE.TEST', ALICE.password);
    const logons = {
      NTLM: (url: string) => curlNtlm(url, 'EXAMPLE\\alice:Alice-Passw0rd!'),
      'SPNEGO-NTLM': (url: string) => curlNegotiate(url, clients.ntlmEnv(ALICE)),
      Kerberos: (url: string) => curlNegotiate(url, clients.env),
    };
    // The library, then the gateway: one process at a time as WEB01$ (the supported layout is one
    // computer account per instance; two at once may re-key each other's channels).
    const served = await serveIdentity({
      verifier: netlogon({
        domain: 'EXAMPLE',
        dcs: ['127.0.0.1'],
        machineAccount: MACHINE_ACCOUNT,
        machinePassword: MACHINE_PASSWORD,
      }),
      kerberos: { keytab: KEYTAB },
      metrics: true,
    });
    try {
      for (const [mechanism, logon] of Object.entries(logons)) {
        const reply = await logon(`${local(served.url)}/`);
        assert.equal(reply.status, 200, mechanism);
        assert.equal(JSON.parse(reply.body).mechanism, mechanism, 'req.ntlm.mechanism');
        const accepted = served.logger.records.filter((record) => record.message === 'logon accepted');
        assert.equal(accepted.at(-1)?.fields?.mechanism, mechanism, 'the library log line');
      }
    } finally {
      await served.close();
    }
    const viaGateway = await gateway([
      ...NETLOGON,
      '--machine-password-file',
      passwordFile,
      '--keytab',
      KEYTAB,
    ]);
    for (const [mechanism, logon] of Object.entries(logons)) {
      assert.equal((await logon(`${local(viaGateway.url)}/app`)).status, 200, `${mechanism} via the gateway`);
      assert.equal(linesWith(viaGateway.output(), 'logon accepted').at(-1)?.mechanism, mechanism);
    }
    const metrics = await (await fetch(`${viaGateway.url}/.ntlm-sso/metrics`)).text();
    for (const mechanism of Object.keys(logons))
      assert.equal(sample(metrics, 'ntlm_sso_logons_total', { mechanism, result: 'success' }), 1, mechanism);
    assert.doesNotMatch(metrics, /ntlm_sso_logons_total\{mechanism="Negotiate"/);
  });

  it('--dns-domain is what a --netlogon CHALLENGE names; --extended-protection require with --tls-cert and --service-principal-names', async () => {
    const named = await gateway([
      ...NETLOGON,
      '--machine-password-file',
      passwordFile,
      '--dns-domain',
      'example.test',
    ]);
    const client = new NtlmHttpClient(named.url);
    const first = await client.request('/app', { Authorization: `NTLM ${type1().toString('base64')}` });
    const challenge = decodeChallenge(
      Buffer.from(String(first.headers['www-authenticate']).slice(5), 'base64'),
    );
    const pairs = challengeAvPairs(challenge);
    assert.equal(findAvPair(pairs, AvId.MsvAvDnsDomainName)?.toString('utf16le'), 'example.test');
    client.close();
    assert.equal((await curlNtlm(`${named.url}/app`, 'EXAMPLE\\alice:Alice-Passw0rd!')).status, 200);

    const { key, cert, bindings } = await certificate();
    const protectedGateway = await gateway([
      ...NETLOGON,
      '--machine-password-file',
      passwordFile,
      '--tls-cert',
      cert,
      '--tls-key',
      key,
      '--extended-protection',
      'require',
      '--service-principal-names',
      'HTTP/localhost',
    ]);
    const url = protectedGateway.url.replace('http:', 'https:').replace('127.0.0.1', 'localhost');
    const target = `HTTP/localhost:${new URL(url).port}`;
    const login = async (options: Parameters<NtlmHttpClient['login']>[2]) => {
      const https = new NtlmHttpClient(url);
      try {
        return (await https.login('/app', ALICE, options)).status;
      } finally {
        https.close();
      }
    };
    assert.equal(await login({ channelBindings: bindings, targetName: target }), 200, 'bound to our channel');
    assert.equal(await login({ targetName: target }), 401, 'no channel binding');
    assert.equal(await login({ channelBindings: bindings, targetName: 'HTTP/intranet.example.test' }), 401);
  });
});

describe('the demo over HTTPS with Extended Protection, on its own users', () => {
  it('NTLM_TLS_CERT, NTLM_TLS_KEY, NTLM_EXTENDED_PROTECTION=require; the 401 page names the demo users', async () => {
    const { key, cert, bindings } = await certificate();
    const demo = await startDemo({
      NTLM_TLS_CERT: cert,
      NTLM_TLS_KEY: key,
      NTLM_EXTENDED_PROTECTION: 'require',
      NTLM_DEBUG: '0',
    });
    try {
      const url = demo.url.replace('http:', 'https:').replace('127.0.0.1', 'localhost');
      const { stdout } = await curl(['-sk', '-w', '\n%{http_code}', `${url}/api/whoami`]);
      assert.match(stdout, /\n401$/);
      assert.match(stdout, /EXAMPLE\\alice \/ Alice-Passw0rd!/);
      assert.match(stdout, /EXAMPLE\\bob \/ Bob-Passw0rd!/);
      const bound = new NtlmHttpClient(url);
      assert.equal((await bound.login('/api/whoami', ALICE, { channelBindings: bindings })).status, 200);
      bound.close();
      const unbound = new NtlmHttpClient(url);
      assert.equal((await unbound.login('/api/whoami', ALICE)).status, 401);
      unbound.close();
    } finally {
      await demo.stop();
    }
  });
});
