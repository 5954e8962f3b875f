// Basic over TLS (issue 22 §1), against the real Samba DC: the gateway with --basic and
// --netlogon only (no local users) checks passwords as interactive Netlogon logons; Java's
// java.net.http.HttpClient (no NTLM) logs in through it; plain HTTP never offers nor takes Basic.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { domainController, localDirectory, netlogon } from '../../src/index.js';
import { curl } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { ROOT, type RunningProcess, runCli, startGateway } from '../helpers/processes.js';
import {
  accountSid,
  DC_DIR,
  DC_URL,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  netlogonGatewayFlags,
  sambaSkip,
  sambaTool,
  startDc,
  stopDc,
  userNumber,
} from '../helpers/samba.js';
import { serveIdentity } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const run = promisify(execFile);
const skip = await sambaSkip();

const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  body: string;
}

/** One request on a fresh connection (TLS: trusting the test certificate `ca`). */
function get(url: string, ca: string | undefined, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const module = url.startsWith('https:') ? https : http;
    const req = module.get(url, { ca, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body }),
      );
    });
    req.on('error', reject);
  });
}

/** The WWW-Authenticate headers one by one, as sent (Node's `headers` joins them with commas). */
function challenges(answer: Answer): string[] {
  return answer.rawHeaders.filter(
    (_, i, all) => i % 2 === 1 && all[i - 1]!.toLowerCase() === 'www-authenticate',
  );
}

describe('Basic over TLS with --netlogon (Samba AD DC)', { skip }, () => {
  let dir: string;
  let cert: string;
  let ca: string;
  let upstream: EchoUpstream;
  let gateway: RunningProcess;
  let url: string;

  before(async () => {
    await startDc();
    dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-basic-'));
    const tls = await selfSignedCertificate(dir, { commonName: '127.0.0.1', altNames: 'IP:127.0.0.1' });
    cert = tls.cert;
    const { key } = tls;
    ca = tls.pem;
    upstream = await startEchoUpstream();
    gateway = await startGateway(
      [
        '--upstream',
        upstream.url,
        ...netlogonGatewayFlags(),
        '--basic',
        '--tls-cert',
        cert,
        '--tls-key',
        key,
        '--forward-token',
      ],
      { NTLM_SSO_JWT_SECRET: 'a-test-secret-of-at-least-32-bytes!!' },
    );
    url = gateway.url.replace('http:', 'https:');
  });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await stopDc();
  });

  it('offers NTLM first and Basic last, each challenge in a header of its own, Basic with a realm', async () => {
    const answer = await get(`${url}/`, ca);
    assert.equal(answer.status, 401);
    assert.deepEqual(challenges(answer), ['NTLM', 'Basic realm="EXAMPLE", charset="UTF-8"']);
  });

  it("alice's password: 200 as EXAMPLE\\alice with her SID, a Bearer token after; the upstream gets no Authorization", async () => {
    const answer = await get(`${url}/basic`, ca, { Authorization: basic(ALICE) });
    assert.equal(answer.status, 200, answer.body);
    const seen = JSON.parse(answer.body);
    assert.equal(seen.headers['x-ntlm-username'], 'alice');
    assert.equal(seen.headers['x-ntlm-domain'], 'EXAMPLE');
    assert.equal(seen.headers.authorization, undefined, 'the client’s Basic credentials went upstream');
    const claims = JSON.parse(
      Buffer.from(String(seen.headers['x-ntlm-token']).split('.')[1]!, 'base64url').toString(),
    );
    assert.equal(claims.sid, await accountSid('alice'));
    // After the first request: the Bearer token on the response logs in on a new connection.
    const bearer = String(answer.headers.authorization);
    assert.match(bearer, /^Bearer /);
    const again = await get(`${url}/bearer`, ca, { Authorization: bearer });
    assert.equal(again.status, 200, again.body);
    assert.equal(JSON.parse(again.body).headers['x-ntlm-username'], 'alice');
  });

  it('a bare user name and a UPN log in too', async () => {
    for (const credentials of ['alice:Alice-Passw0rd!', 'alice@example.test:Alice-Passw0rd!']) {
      const answer = await get(`${url}/`, ca, { Authorization: basic(credentials) });
      assert.equal(answer.status, 200, `${credentials.split(':')[0]}: ${answer.body}`);
      assert.equal(JSON.parse(answer.body).headers['x-ntlm-username'], 'alice');
    }
  });

  it('a wrong password: 401, with the offers again', async () => {
    const answer = await get(`${url}/`, ca, { Authorization: basic('EXAMPLE\\bob:wrong-password') });
    assert.equal(answer.status, 401);
    await gateway.waitForOutput(/ERR_NTLM_LOGON_FAILED/);
    assert.deepEqual(challenges(answer), ['NTLM', 'Basic realm="EXAMPLE", charset="UTF-8"']);
  });

  it('a disabled account with its right password: 401', async () => {
    const answer = await get(`${url}/`, ca, { Authorization: basic('EXAMPLE\\carol:Carol-Passw0rd!') });
    assert.equal(answer.status, 401);
    await gateway.waitForOutput(/ERR_NTLM_ACCOUNT_DISABLED/);
  });

  it('NTLM still logs in on the same TLS listener (curl --ntlm)', async () => {
    const { stdout } = await curl([
      '--cacert',
      cert,
      '--ntlm',
      '-u',
      'EXAMPLE\\bob:Bob-Passw0rd!',
      `${url}/ntlm`,
    ]);
    assert.equal(JSON.parse(stdout).headers['x-ntlm-username'], 'bob');
  });

  it('curl --basic logs in over TLS', async () => {
    const { stdout } = await curl(['--cacert', cert, '--basic', '-u', ALICE, `${url}/curl`]);
    assert.equal(JSON.parse(stdout).headers['x-ntlm-username'], 'alice');
  });

  it("Java's java.net.http.HttpClient logs in through Basic over TLS", {
    skip: !existsSync('/usr/bin/javac'),
  }, async () => {
    const classes = join(dir, 'java');
    await run('javac', ['-d', classes, join(ROOT, 'test/helpers/java/BasicLogin.java')], {
      timeout: 120_000,
    });
    const { stdout } = await run(
      'java',
      ['-cp', classes, 'BasicLogin', `${url}/java`, 'EXAMPLE\\alice', 'Alice-Passw0rd!', cert],
      { timeout: 120_000 },
    );
    assert.match(stdout, /scheme=basic realm=EXAMPLE/i);
    const statuses = [...stdout.matchAll(/^status=(\d+)$/gm)].map((match) => Number(match[1]));
    assert.deepEqual(statuses, [200, 200], stdout);
    assert.match(stdout, /"x-ntlm-username":"alice"/);
  });

  it('--basic without --tls-cert: exit 2 with a line naming TLS', async () => {
    const { code, stderr } = await runCli([
      'gateway',
      '--upstream',
      upstream.url,
      '--netlogon',
      '127.0.0.1',
      '--domain',
      'EXAMPLE',
      '--machine-account',
      MACHINE_ACCOUNT,
      '--machine-password-file',
      join(dir, 'web01-password'),
      '--basic',
    ]);
    assert.equal(code, 2);
    assert.match(stderr, /--basic needs TLS/);
  });
});

describe('Basic and plain HTTP: ntlm() with basic: true (Samba AD DC)', { skip }, () => {
  before(() => startDc());
  after(() => stopDc());
  const verifier = () =>
    netlogon({
      domain: 'EXAMPLE',
      dcs: ['127.0.0.1'],
      machineAccount: MACHINE_ACCOUNT,
      machinePassword: MACHINE_PASSWORD,
    });

  it('never offers Basic over plain HTTP and refuses Basic credentials there with 401', async () => {
    const served = await serveIdentity({ verifier: verifier(), basic: true });
    try {
      const fresh = await get(served.url, undefined);
      assert.equal(fresh.status, 401);
      assert.deepEqual(challenges(fresh), ['NTLM']);
      const refused = await get(served.url, undefined, { Authorization: basic(ALICE) });
      assert.equal(refused.status, 401);
      assert.deepEqual(challenges(refused), ['NTLM']);
      assert.deepEqual(served.logger.codes(), ['ERR_NTLM_BASIC_NEEDS_TLS']);
      // A client that is not a trusted proxy cannot claim TLS with X-Forwarded-Proto.
      const forged = await get(served.url, undefined, {
        Authorization: basic(ALICE),
        'X-Forwarded-Proto': 'https',
      });
      assert.equal(forged.status, 401);
    } finally {
      await served.close();
    }
  });

  it('lockout: 8 wrong Basic passwords for bob cost him 5 bad counts at the DC, no more (threshold 10)', async () => {
    const badPwdCount = () => userNumber('bob', 'badPwdCount', 0);
    // From a clean count, and back to one after: bob logs in elsewhere in these tests.
    await sambaTool('user', 'unlock', 'bob');
    await sambaTool('domain', 'passwordsettings', 'set', '--account-lockout-threshold=10');
    const served = await serveIdentity({ verifier: verifier(), basic: true, trustedProxies: ['127.0.0.1'] });
    try {
      const before = await badPwdCount();
      for (let i = 0; i < 8; i++) {
        const answer = await get(served.url, undefined, {
          Authorization: basic(`EXAMPLE\\bob:wrong-${i}`),
          'X-Forwarded-Proto': 'https',
        });
        assert.equal(answer.status, 401);
      }
      const codes = served.logger.codes();
      assert.deepEqual(codes, [
        ...Array(5).fill('ERR_NTLM_LOGON_FAILED'),
        ...Array(3).fill('ERR_NTLM_TOO_MANY_FAILURES'),
      ]);
      assert.equal((await badPwdCount()) - before, 5);
    } finally {
      await served.close();
      await sambaTool('domain', 'passwordsettings', 'set', '--account-lockout-threshold=0');
      await sambaTool('user', 'unlock', 'bob');
    }
  });

  it('behind a trusted proxy that says X-Forwarded-Proto: https, Basic is offered and taken, groups included', async () => {
    const served = await serveIdentity({ verifier: verifier(), basic: true, trustedProxies: ['127.0.0.1'] });
    try {
      const fresh = await get(served.url, undefined, { 'X-Forwarded-Proto': 'https' });
      assert.deepEqual(challenges(fresh), ['NTLM', 'Basic realm="EXAMPLE", charset="UTF-8"']);
      const ok = await get(served.url, undefined, {
        Authorization: basic(ALICE),
        'X-Forwarded-Proto': 'https',
      });
      assert.equal(ok.status, 200, ok.body);
      const info = JSON.parse(ok.body);
      assert.equal(info.username, 'alice');
      assert.equal(info.domain, 'EXAMPLE');
      assert.equal(info.scheme, 'Basic');
      assert.equal(info.sid, await accountSid('alice'));
      // Domain Users (RID 513) and Engineering, from the validation info as for NTLM.
      const domainSid = info.sid.replace(/-\d+$/, '');
      assert.ok(info.groupSids.includes(`${domainSid}-513`), JSON.stringify(info.groupSids));
      assert.ok(info.groupSids.includes(await accountSid('Engineering')), JSON.stringify(info.groupSids));
      // A proxy that appends: a client's forged https followed by the proxy's http is not TLS.
      const appended = await get(served.url, undefined, {
        Authorization: basic(ALICE),
        'X-Forwarded-Proto': 'https, http',
      });
      assert.equal(appended.status, 401);
    } finally {
      await served.close();
    }
  });
});

describe('Basic through the LDAP relay (simple bind over TLS) and the local directory', { skip }, () => {
  before(() => startDc({ strict: true }));
  after(() => stopDc());
  const overTls = { 'X-Forwarded-Proto': 'https' };

  it('domainController(): StartTLS + simple bind on a DC that requires strong auth; identity and groups from the bound connection', async () => {
    const { readFileSync } = await import('node:fs');
    const served = await serveIdentity({
      verifier: domainController({
        domains: { EXAMPLE: [DC_URL] },
        tls: { ca: readFileSync(`${DC_DIR}/private/tls/ca.pem`), checkServerIdentity: () => undefined },
      }),
      basic: true,
      trustedProxies: ['127.0.0.1'],
    });
    try {
      const ok = await get(served.url, undefined, { Authorization: basic(ALICE), ...overTls });
      assert.equal(ok.status, 200, ok.body);
      const info = JSON.parse(ok.body);
      assert.equal(info.username, 'alice');
      assert.equal(info.domain, 'EXAMPLE');
      assert.equal(info.sid, await accountSid('alice'));
      assert.ok(info.groups.includes('Engineering'), JSON.stringify(info.groups));
      const upn = await get(served.url, undefined, {
        Authorization: basic('alice@example.test:Alice-Passw0rd!'),
        ...overTls,
      });
      assert.equal(upn.status, 200, upn.body);
      const wrong = await get(served.url, undefined, {
        Authorization: basic('EXAMPLE\\bob:nope'),
        ...overTls,
      });
      assert.equal(wrong.status, 401);
      const disabled = await get(served.url, undefined, {
        Authorization: basic('EXAMPLE\\carol:Carol-Passw0rd!'),
        ...overTls,
      });
      assert.equal(disabled.status, 401);
      assert.deepEqual(served.logger.codes(), ['ERR_NTLM_LOGON_FAILED', 'ERR_NTLM_ACCOUNT_DISABLED']);
    } finally {
      await served.close();
    }
  });

  it('localDirectory(): its records decide', async () => {
    const served = await serveIdentity({
      verifier: localDirectory({
        domain: 'EXAMPLE',
        users: [
          { username: 'alice', password: 'Alice-Passw0rd!' },
          { username: 'carol', password: 'Carol-Passw0rd!', disabled: true },
        ],
      }),
      basic: true,
      trustedProxies: ['127.0.0.1'],
    });
    try {
      const ok = await get(served.url, undefined, { Authorization: basic(ALICE), ...overTls });
      assert.equal(ok.status, 200, ok.body);
      assert.equal(JSON.parse(ok.body).username, 'alice');
      for (const credentials of ['alice:wrong', 'nobody:Alice-Passw0rd!', 'carol:Carol-Passw0rd!']) {
        const refused = await get(served.url, undefined, { Authorization: basic(credentials), ...overTls });
        assert.equal(refused.status, 401, credentials);
      }
    } finally {
      await served.close();
    }
  });
});
