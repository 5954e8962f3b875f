// `ntlm-sso doctor` (the built dist/cli.js) against the real Samba DC, relaxed and strict, a
// stopped one, a silent one, and Redis up and down. Where CI is set, a DC or Redis that cannot be
// started fails the run; elsewhere those tests report themselves skipped, with why.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { netlogon, ntlm } from '../../src/index.js';
import { curlNtlm } from '../helpers/curl.js';
import { runCli } from '../helpers/processes.js';
import { redisMissing, startRedis } from '../helpers/redis.js';
import {
  ADMIN_PASSWORD,
  DC_DIR,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaMissing,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { listen, recordingLogger, silentTcpServer } from '../helpers/servers.js';

const missingDc = await sambaMissing();
const missingRedis = await redisMissing();
if ((missingDc || missingRedis) && process.env.CI)
  throw new Error(`CI needs the Samba DC and Redis: ${missingDc ?? missingRedis}`);

const secrets = mkdtempSync(join(tmpdir(), 'ntlm-sso-doctor-'));
after(() => rmSync(secrets, { recursive: true, force: true }));

function secretFile(name: string, content: string): string {
  const path = join(secrets, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const NETLOGON_FLAGS = [
  '--netlogon',
  '127.0.0.1',
  '--domain',
  'EXAMPLE',
  '--machine-account',
  MACHINE_ACCOUNT,
];

/** Runs the doctor; the result lines (✓/✗), the whole output, the exit code and how long it took. */
async function doctor(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const { code, stdout, stderr } = await runCli(['doctor', ...args], env);
  const lines = stdout.split('\n').filter((line) => /^[✓✗] /.test(line));
  const line = (pattern: RegExp) => {
    const found = lines.find((l) => pattern.test(l));
    assert.ok(found, `a line matching ${pattern} in:\n${stdout}${stderr}`);
    return found;
  };
  return { code, stdout, stderr, lines, line, ms: Date.now() - started };
}

describe('ntlm-sso doctor against the Samba DC', {
  skip: missingDc ? `skipped: ${missingDc}` : false,
}, () => {
  after(() => stopDc());

  describe('relaxed DC (LDAP signing not required)', () => {
    before(() => startDc());

    it('every LDAP check passes, with settings from a config file and a variable: exit 0', async () => {
      const config = secretFile(
        'gateway.json',
        JSON.stringify({ upstream: 'http://127.0.0.1:9', dc: ['ldap://127.0.0.1'], domain: 'EXAMPLE' }),
      );
      const run = await doctor(
        [
          '--config',
          config,
          '--lookup-url',
          'ldap://127.0.0.1',
          '--lookup-user',
          'Administrator@example.test',
        ],
        { NTLM_SSO_LOOKUP_PASSWORD: ADMIN_PASSWORD },
      );
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^… ldap:\/\/127\.0\.0\.1: checking the LDAP relay/m);
      run.line(/^✓ ldap:\/\/127\.0\.0\.1 TCP connect: 127\.0\.0\.1:389 answered in \d+ ms$/);
      run.line(
        /^✓ ldap:\/\/127\.0\.0\.1 rootDSE: naming context DC=example,DC=test, DNS name \S+\.example\.test$/i,
      );
      run.line(/^✓ ldap:\/\/127\.0\.0\.1 clock: this host and the DC agree/);
      run.line(/^✓ ldap:\/\/127\.0\.0\.1 LDAP signing: not required/);
      run.line(
        /^✓ ldap:\/\/127\.0\.0\.1 lookup account: Administrator@example\.test bound and read DC=example,DC=test/,
      );
      assert.ok(
        run.lines.every((line) => line.startsWith('✓')),
        run.stdout,
      );
      assert.match(run.stdout, /✓ 5 passed, 0 failed/);
    });

    it('ldaps:// with the DC’s CA but an address the certificate does not name: the certificate line names the host and the fix', async () => {
      const run = await doctor(['--dc', 'ldaps://127.0.0.1', '--dc-ca', `${DC_DIR}/private/tls/ca.pem`]);
      assert.equal(run.code, 1, run.stdout);
      const tls = run.line(/TLS certificate/);
      assert.match(
        tls,
        /^✗ ldaps:\/\/127\.0\.0\.1 TLS certificate: the certificate is for \S+\.example\.test, not 127\.0\.0\.1: /i,
      );
      assert.match(tls, /set the TLS servername/);
      const untrusted = await doctor(['--dc', 'ldaps://127.0.0.1']);
      assert.match(
        untrusted.line(/TLS certificate/),
        /does not chain to a trusted CA .*--dc-ca FILE \(PEM\); once trusted, the name will fail too/,
      );
      // The other checks still ran, over the unverified connection.
      run.line(/^✓ ldaps:\/\/127\.0\.0\.1 LDAP signing: not required/);
    });

    it('a wrong lookup password: the bind line says so', async () => {
      const run = await doctor([
        '--lookup-url',
        'ldap://127.0.0.1',
        '--lookup-user',
        'Administrator@example.test',
        '--lookup-password',
        'wrong-password',
      ]);
      assert.equal(run.code, 1);
      assert.match(
        run.line(/lookup account/),
        /^✗ .* the DC refused the bind of Administrator@example\.test .*check --lookup-user/,
      );
    });
  });

  describe('strict DC (LDAP signing required)', () => {
    before(() => startDc({ strict: true }));

    it('the signing check fails with the fix, the Netlogon checks pass: exit 1', async () => {
      const run = await doctor([
        '--dc',
        'ldap://127.0.0.1',
        ...NETLOGON_FLAGS,
        '--machine-password-file',
        secretFile('machine', `${MACHINE_PASSWORD}\n`),
      ]);
      assert.equal(run.code, 1, run.stdout);
      const signing = run.line(/LDAP signing/);
      assert.ok(
        signing.startsWith(
          '✗ ldap://127.0.0.1 LDAP signing: this DC requires LDAP signing: the relay cannot work here; use Netlogon (--netlogon',
        ),
        signing,
      );
      assert.match(signing, /ldap server require strong auth = no/);
      assert.match(signing, /LDAP server signing requirements" = None/);
      run.line(/^✓ ldap:\/\/127\.0\.0\.1 rootDSE: /);
      assert.match(
        run.stdout,
        /^… netlogon:\/\/127\.0\.0\.1: checking the Netlogon secure channel of WEB01\$/m,
      );
      run.line(/^✓ netlogon:\/\/127\.0\.0\.1 endpoint mapper: netlogon listens on TCP \d+/);
      run.line(/^✓ netlogon:\/\/127\.0\.0\.1 secure channel: opened as WEB01\$ in \d+ ms \(AES, sealed\)/);
      assert.match(run.stdout, /1 failed/);
    });

    it('Netlogon only, machine password from NTLM_SSO_MACHINE_PASSWORD: exit 0', async () => {
      const run = await doctor(NETLOGON_FLAGS, { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD });
      assert.equal(run.code, 0, run.stdout);
      assert.equal(run.lines.length, 3, run.stdout);
    });

    it('a service logging users on with the same machine account keeps doing so after the doctor re-keys it', async () => {
      const auth = ntlm({
        verifier: netlogon({
          domain: 'EXAMPLE',
          dcs: ['127.0.0.1'],
          machineAccount: MACHINE_ACCOUNT,
          machinePassword: MACHINE_PASSWORD,
        }),
        logger: recordingLogger(),
      });
      const service = await listen(
        (req, res) => auth(req, res, () => res.end(req.ntlm!.username)),
        () => auth.close(),
      );
      try {
        assert.deepEqual(await curlNtlm(service.url, 'EXAMPLE\\alice:Alice-Passw0rd!'), {
          status: 200,
          body: 'alice',
        });
        const run = await doctor(NETLOGON_FLAGS, { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD });
        assert.equal(run.code, 0, run.stdout);
        for (let i = 0; i < 3; i++) {
          assert.deepEqual(await curlNtlm(service.url, 'EXAMPLE\\alice:Alice-Passw0rd!'), {
            status: 200,
            body: 'alice',
          });
        }
      } finally {
        await service.close();
      }
    });

    it('a wrong machine password is told apart from an unreachable DC', async () => {
      const wrong = await doctor(NETLOGON_FLAGS, { NTLM_SSO_MACHINE_PASSWORD: 'not-the-machine-password' });
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.line(/secure channel/),
        /^✗ netlogon:\/\/127\.0\.0\.1 secure channel: the DC refused computer account WEB01\$ of EXAMPLE .*check the machine password/,
      );
      const unknown = await doctor(
        ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE', '--machine-account', 'NOSUCH$'],
        { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD },
      );
      assert.match(unknown.line(/secure channel/), /the DC refused computer account NOSUCH\$/);
      const closed = await doctor(
        ['--netlogon', '127.0.0.1:1', '--domain', 'EXAMPLE', '--machine-account', MACHINE_ACCOUNT],
        {
          NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD,
        },
      );
      assert.match(
        closed.line(/secure channel/),
        /^✗ netlogon:\/\/127\.0\.0\.1:1 secure channel: netlogon on 127\.0\.0\.1:1 did not complete: .*ECONNREFUSED/,
      );
      assert.doesNotMatch(closed.stdout, /refused computer account/);
    });
  });

  describe('stopped or silent DC', () => {
    before(() => stopDc());

    it('a stopped DC fails fast, naming it, for LDAP and Netlogon', async () => {
      const run = await doctor(['--dc', 'ldap://127.0.0.1', ...NETLOGON_FLAGS], {
        NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD,
      });
      assert.equal(run.code, 1);
      assert.ok(run.ms < 5000, `took ${run.ms} ms`);
      assert.match(
        run.line(/TCP connect/),
        /^✗ ldap:\/\/127\.0\.0\.1 TCP connect: 127\.0\.0\.1 refused port 389: is the DC running/,
      );
      assert.match(
        run.line(/endpoint mapper/),
        /^✗ netlogon:\/\/127\.0\.0\.1 endpoint mapper: 127\.0\.0\.1:135 did not say where netlogon listens: .*ECONNREFUSED.*open TCP 135/,
      );
      assert.equal(
        run.lines.length,
        3,
        'nothing more is tried on a DC that does not connect, then the summary',
      );
    });

    it('a DC that accepts and never answers costs one --timeout per step', async () => {
      const silent = await silentTcpServer();
      try {
        const run = await doctor(['--dc', `ldap://127.0.0.1:${silent.port}`, '--timeout', '500ms']);
        assert.equal(run.code, 1);
        run.line(/^✓ .* TCP connect: /);
        assert.match(run.line(/rootDSE/), /^✗ .* rootDSE: cannot read it: .*no answer within 500 ms/);
        assert.match(
          run.line(/LDAP signing/),
          /^✗ .* LDAP signing: the test bind broke off: .*no answer within 500 ms/,
        );
        assert.ok(run.ms < 5000, `took ${run.ms} ms`);
      } finally {
        silent.close();
      }
    });
  });
});

describe('ntlm-sso doctor and Redis', { skip: missingRedis ? `skipped: ${missingRedis}` : false }, () => {
  it('PING answered: exit 0; Redis stopped: exit 1 with the cause', async () => {
    const redis = await startRedis();
    let stopped = false;
    try {
      const up = await doctor(['--redis', redis.url]);
      assert.equal(up.code, 0, up.stdout);
      up.line(/^✓ redis:\/\/127\.0\.0\.1:\d+ PING: PONG in \d+ ms$/);
      await redis.stop();
      stopped = true;
      const down = await doctor(['--redis', redis.url, '--timeout', '1s']);
      assert.equal(down.code, 1);
      assert.match(
        down.line(/PING/),
        /^✗ redis:\/\/127\.0\.0\.1:\d+ PING: Redis did not answer: .*ECONNREFUSED.*start Redis/,
      );
      assert.ok(down.ms < 5000, `took ${down.ms} ms`);
    } finally {
      if (!stopped) await redis.stop();
    }
  });
});

describe('ntlm-sso doctor command-line mistakes', () => {
  it('exit 2 with what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [[], /nothing to check/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--netlogon', '127.0.0.1'], /--netlogon needs --domain/],
      [['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE'], /--netlogon needs --machine-account/],
      [
        ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE', '--machine-account', 'WEB01$'],
        /needs the machine password/,
      ],
      [['--dc', 'http://dc1'], /--dc: "http:\/\/dc1" is not an ldap/],
      [['--redis', 'redis://127.0.0.1:1', '--timeout', 'soon'], /--timeout must be a time/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(['doctor', ...args]);
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, message);
      assert.match(stderr, /ntlm-sso doctor --help/);
    }
  });
});
