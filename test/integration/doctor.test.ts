// `ntlm-sso doctor` (the built dist/cli.js) against the real Samba DC, relaxed and strict, a
// stopped one, a silent one, and Redis up and down. Where CI is set, a DC or Redis that cannot be
// started fails the run; elsewhere those tests report themselves skipped, with why.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { netlogon, ntlm } from '../../src/index.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { curlNtlm } from '../helpers/curl.js';
import { runCli } from '../helpers/processes.js';
import { redisMissing, startRedis } from '../helpers/redis.js';
import {
  ADMIN_PASSWORD,
  DC_DIR,
  KEYTAB,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaMissing,
  sambaTool,
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
      // --dc-servername is the TLS servername, as the gateway uses it: the same URL now verifies.
      const name = /the certificate is for (\S+?), not 127\.0\.0\.1/.exec(tls)![1]!;
      const named = await doctor([
        '--dc',
        'ldaps://127.0.0.1',
        '--dc-ca',
        `${DC_DIR}/private/tls/ca.pem`,
        '--dc-servername',
        name,
      ]);
      assert.equal(named.code, 0, named.stdout);
      named.line(
        new RegExp(`^✓ ldaps://127\\.0\\.0\\.1 TLS certificate: verified for ${name.replaceAll('.', '\\.')}`),
      );
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

    it('a password written in a URL is hidden on every line, the host still named: ldap://user:***@127.0.0.1', async () => {
      const run = await doctor(
        [
          '--dc',
          'ldap://user:Url-Passw0rd@127.0.0.1',
          '--lookup-url',
          'ldap://lookup:Url-Passw0rd@127.0.0.1',
          '--lookup-user',
          'Administrator@example.test',
        ],
        { NTLM_SSO_LOOKUP_PASSWORD: ADMIN_PASSWORD },
      );
      assert.doesNotMatch(run.stdout + run.stderr, /Url-Passw0rd/);
      assert.match(run.stdout, /^… ldap:\/\/user:\*\*\*@127\.0\.0\.1: checking the LDAP relay/m);
      run.line(/^✓ ldap:\/\/user:\*\*\*@127\.0\.0\.1 TCP connect: 127\.0\.0\.1:389 answered/);
      run.line(/^✓ ldap:\/\/user:\*\*\*@127\.0\.0\.1 LDAP signing: not required/);
      run.line(/^[✓✗] ldap:\/\/lookup:\*\*\*@127\.0\.0\.1 lookup account: /);
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

    it('a wrong machine password, a missing account and an unreachable DC are told apart', async () => {
      const wrong = await doctor(NETLOGON_FLAGS, { NTLM_SSO_MACHINE_PASSWORD: 'not-the-machine-password' });
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.line(/secure channel/),
        /^✗ netlogon:\/\/127\.0\.0\.1 secure channel: the DC refused the machine password of WEB01\$ of EXAMPLE: the account exists .*0xC0000022.*: set the account’s password and --machine-password-file/,
      );
      const unknown = await doctor(
        ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE', '--machine-account', 'NOSUCH$'],
        { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD },
      );
      assert.match(
        unknown.line(/secure channel/),
        /^✗ netlogon:\/\/127\.0\.0\.1 secure channel: the DC has no computer account NOSUCH\$ in EXAMPLE .*0xC000018B.*samba-tool computer create NOSUCH/,
      );
      assert.doesNotMatch(unknown.stdout, /machine password of/, 'a missing account is not a wrong password');
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
      // What netlogon() checks, it says, with its code.
      [['--netlogon', '127.0.0.1'], /netlogon: domain must be the NetBIOS domain name.*\[ERR_NTLM_CONFIG\]/],
      [
        ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE'],
        /netlogon: machineAccount must be a computer account/,
      ],
      [
        ['--netlogon', '127.0.0.1', '--domain', 'EXAMPLE', '--machine-account', 'WEB01$'],
        /netlogon: give exactly one of machinePassword or machinePasswordFile/,
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

/**
 * A service account of the keytab tests' own (httpsvc and its KEYTAB stay as the other tests
 * need them): `name` with the SPN HTTP/`host`, AES keys unless `aes` is false, and its keytab
 * exported to a fresh file. Made again (new password, so a new kvno) on every run.
 */
async function serviceAccount(name: string, host: string, aes: boolean) {
  const password = () => `Svc-${Math.random().toString(36).slice(2)}-Passw0rd!`;
  await sambaTool('user', 'create', name, password()).catch((error) => {
    if (!/already exists/i.test(String(error.stderr ?? error))) throw error;
  });
  await sambaTool('user', 'setexpiry', name, '--noexpiry');
  await sambaTool('spn', 'add', `HTTP/${host}`, name).catch((error) => {
    if (!/already/i.test(String(error.stderr ?? error))) throw error;
  });
  if (aes) {
    await promisify(execFile)('/usr/bin/python3', [
      'test/samba-dc/set-enctypes.py',
      `${DC_DIR}/etc/smb.conf`,
      name,
      '24',
    ]);
  }
  const setPassword = () => sambaTool('user', 'setpassword', name, `--newpassword=${password()}`);
  await setPassword();
  const file = join(secrets, `${name}.keytab`);
  const exportKeytab = async () => {
    rmSync(file, { force: true });
    await sambaTool('domain', 'exportkeytab', file, `--principal=HTTP/${host}@EXAMPLE.TEST`);
    return parseKeytab(readFileSync(file));
  };
  await exportKeytab();
  return { file, spn: `HTTP/${host}`, setPassword, exportKeytab };
}

describe('ntlm-sso doctor --keytab against the Samba DC', {
  skip: missingDc ? `skipped: ${missingDc}` : false,
}, () => {
  before(() => startDc());
  after(() => stopDc());
  const lookup = [
    '--dc',
    'ldap://127.0.0.1',
    '--lookup-url',
    'ldap://127.0.0.1',
    '--lookup-user',
    'Administrator@example.test',
    '--lookup-password',
    ADMIN_PASSWORD,
  ];

  it('the test DC’s AES keytab for HTTP/localhost: every line passes, kvno equal to the directory’s: exit 0', async () => {
    const kvno = parseKeytab(readFileSync(KEYTAB))[0]!.kvno;
    const run = await doctor([...lookup, '--keytab', KEYTAB, '--spn', 'HTTP/localhost']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^… \S+http\.keytab: checking the Kerberos keytab for HTTP\/localhost/m);
    run.line(/^✓ \S+http\.keytab keytab: MIT keytab with \d+ keys$/);
    run.line(
      /^✓ \S+ principals: HTTP\/localhost is there: HTTP\/localhost@EXAMPLE\.TEST \(kvno \d+: aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96\)$/,
    );
    run.line(/^✓ \S+ enctypes: AES keys for HTTP\/localhost@EXAMPLE\.TEST$/);
    run.line(/^✓ \S+ Kerberos clock: this host and the DC agree .*more than 5 minutes off$/);
    assert.match(
      run.line(/ kvno: /),
      new RegExp(
        `^✓ \\S+ kvno: HTTP/localhost@EXAMPLE\\.TEST: kvno ${kvno} in the keytab and in the directory \\(CN=httpsvc,`,
        'i',
      ),
    );
    assert.ok(
      run.lines.every((line) => line.startsWith('✓')),
      run.stdout,
    );
  });

  it('without a lookup account the kvno and clock lines say they were not compared, and why: exit 0', async () => {
    const run = await doctor(['--keytab', KEYTAB]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^– \S+ kvno: not compared with the directory: it needs a lookup account \(--lookup-url/m,
    );
    assert.match(run.stdout, /^– \S+ Kerberos clock: Kerberos refuses .* 5 minutes off; give --dc/m);
    assert.match(run.stdout, /✓ 3 passed, 0 failed, 2 not checked/);
  });

  it('a wrong --spn fails, naming what the keytab holds', async () => {
    const run = await doctor([...lookup, '--keytab', KEYTAB, '--spn', 'HTTP/web.example.test']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.line(/principals/),
      /^✗ \S+ principals: --spn HTTP\/web\.example\.test is not in it; it holds HTTP\/localhost@EXAMPLE\.TEST \(kvno \d+: aes256.*\): export the keytab for HTTP\/web\.example\.test/,
    );
    assert.doesNotMatch(run.stdout, / kvno: /, 'nothing to compare for a principal the keytab lacks');
  });

  it('a corrupt or missing file fails with how to export a keytab', async () => {
    const truncated = secretFile('truncated.keytab', '');
    writeFileSync(truncated, readFileSync(KEYTAB).subarray(0, 40));
    const notKeytab = secretFile('text.keytab', 'HTTP/localhost password\n');
    for (const file of [truncated, notKeytab]) {
      const run = await doctor(['--keytab', file]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(
        run.line(/ keytab: /),
        /^✗ \S+ keytab: not a usable MIT keytab \(\d+ bytes\): keytab: .*: export one on a DC: `ktpass .*samba-tool domain exportkeytab/,
      );
      assert.equal(run.lines.length, 2, run.stdout);
    }
    const missing = await doctor(['--keytab', join(secrets, 'none.keytab')]);
    assert.match(missing.line(/ keytab: /), /cannot read it: ENOENT.*check --keytab/);
  });

  it('a stale keytab (password changed after the export) fails on the kvno with the fix; exported again, it passes', async () => {
    const account = await serviceAccount('doctorsvc', 'doctor.example.test', true);
    const before = await doctor([...lookup, '--keytab', account.file, '--spn', account.spn]);
    assert.equal(before.code, 0, before.stdout);
    const exported = parseKeytab(readFileSync(account.file))[0]!.kvno;
    await account.setPassword();
    const stale = await doctor([...lookup, '--keytab', account.file, '--spn', account.spn]);
    assert.equal(stale.code, 1, stale.stdout);
    assert.match(
      stale.line(/ kvno: /),
      new RegExp(
        `^✗ \\S+ kvno: HTTP/doctor\\.example\\.test@EXAMPLE\\.TEST: the keytab has kvno ${exported}, the directory ${exported + 1} \\(CN=doctorsvc,.*\\): the account’s password changed after the export, .*every Kerberos logon fails: export the keytab again`,
        'i',
      ),
    );
    assert.match(stale.stdout, /^✗ 9 passed, 1 failed$/m, 'the kvno line is the only failure');
    const reexported = await account.exportKeytab();
    assert.equal(reexported[0]!.kvno, exported + 1);
    const fixed = await doctor([...lookup, '--keytab', account.file, '--spn', account.spn]);
    assert.equal(fixed.code, 0, fixed.stdout);
  });

  it('an RC4-only keytab (exported from an account without AES enctypes) is flagged with the fix', async () => {
    const account = await serviceAccount('doctorrc4', 'rc4.example.test', false);
    const etypes = new Set(parseKeytab(readFileSync(account.file)).map((e) => e.key.etype));
    assert.deepEqual([...etypes], [23], 'samba-tool exported rc4-hmac keys only');
    const run = await doctor([...lookup, '--keytab', account.file]);
    assert.equal(run.code, 1, run.stdout);
    assert.match(
      run.line(/enctypes/),
      /^✗ \S+ enctypes: HTTP\/rc4\.example\.test@EXAMPLE\.TEST has only rc4-hmac keys: the gateway accepts AES tickets only.*: set msDS-SupportedEncryptionTypes to 24 .*export the keytab again/,
    );
    // The kvno is still compared: an RC4 keytab is not a stale one.
    run.line(
      /^✓ \S+ kvno: HTTP\/rc4\.example\.test@EXAMPLE\.TEST: kvno \d+ in the keytab and in the directory/,
    );
  });

  it('a copy of the AES keytab with an RC4 key beside it passes, saying the RC4 key is ignored', async () => {
    const copy = join(secrets, 'mixed.keytab');
    const [first] = parseKeytab(readFileSync(KEYTAB));
    const realm = Buffer.from(first!.realm);
    const parts = first!.components.map((c) => Buffer.from(c));
    const counted = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
    const tail = Buffer.alloc(11);
    tail.writeUInt32BE(1, 0); // KRB5_NT_PRINCIPAL
    tail[8] = first!.kvno;
    tail.writeUInt16BE(23, 9); // rc4-hmac
    const record = Buffer.concat([
      Buffer.from([0, parts.length]),
      counted(realm),
      ...parts.map(counted),
      tail,
      counted(Buffer.alloc(16, 7)),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(record.length);
    writeFileSync(copy, Buffer.concat([readFileSync(KEYTAB), size, record]));
    const run = await doctor(['--keytab', copy]);
    assert.equal(run.code, 0, run.stdout);
    run.line(/^✓ \S+ enctypes: AES keys for HTTP\/localhost@EXAMPLE\.TEST; rc4-hmac keys are ignored/);
  });
});
