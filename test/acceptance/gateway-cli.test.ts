// The `ntlm-sso gateway` command itself: help, mistakes, env/config-file settings, TLS, upstream
// failures and a graceful SIGTERM.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { curl, curlNtlm } from '../helpers/curl.js';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { linesWith } from '../helpers/log-lines.js';
import { freePort, ROOT, runCli, startGateway } from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
import { ALICE } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const ALICE_CREDENTIALS = `EXAMPLE\\alice:${ALICE.password}`;
const USERS = 'demo-app/users.json';

describe('ntlm-sso gateway command line', () => {
  let upstream: EchoUpstream;
  before(async () => {
    upstream = await startEchoUpstream();
  });
  after(() => upstream?.close());

  test('--help lists every flag and exits 0', async () => {
    const { code, stdout } = await runCli(['gateway', '--help']);
    assert.equal(code, 0);
    for (const flag of [
      '--listen',
      '--upstream',
      '--users',
      '--dc',
      '--domain',
      '--mode',
      '--tls-cert',
      '--config',
    ])
      assert.ok(stdout.includes(flag), `help mentions ${flag}`);
    assert.match(stdout, /NTLM_SSO_JWT_SECRET/);
    // The same through the package's bin, the way users type it.
    const { stdout: viaNpx } = await promisify(execFile)(
      'npx',
      ['--no-install', 'ntlm-sso', 'gateway', '--help'],
      {
        cwd: ROOT,
      },
    );
    assert.equal(viaNpx, stdout);
  });

  test('-h and --help: usage on stdout and exit 0, on gateway, doctor and the bare command, whatever the environment holds', async () => {
    const usage: Array<[string[], RegExp]> = [
      [['gateway'], /^Usage:\n {2}ntlm-sso gateway --upstream URL/m],
      [['doctor'], /^Usage:\n {2}ntlm-sso doctor /m],
      [[], /^Commands:\n {2}gateway .*\n {2}doctor /m],
    ];
    for (const [command, shows] of usage) {
      for (const flag of ['-h', '--help']) {
        const args = [...command, flag];
        // A malformed variable does not stand in the way of the help.
        const { code, stdout, stderr } = await runCli(args, { NTLM_SSO_MAX_REQUESTS: 'many' });
        assert.equal(code, 0, `${args.join(' ')}: ${stderr}`);
        assert.match(stdout, shows, args.join(' '));
        assert.match(stdout, /-h, --help +show this help/, args.join(' '));
        assert.equal(stderr, '');
      }
    }
    const version = await runCli(['gateway', '-v']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });

  test("a mistake is one line on stderr and exit 2: an unknown flag from the parser, a library-checked one with the library's code", async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['gateway', '--bogus'],
        /^ntlm-sso gateway: Unknown option '--bogus' \(ntlm-sso gateway --help lists the options\)\n$/,
      ],
      [
        ['doctor', '-x'],
        /^ntlm-sso doctor: Unknown option '-x' \(ntlm-sso doctor --help lists the options\)\n$/,
      ],
      // The doctor's own flag is not the gateway's.
      [['gateway', '--timeout', '3s'], /^ntlm-sso gateway: Unknown option '--timeout'/],
      // Ranges are ntlm()'s and createGateway()'s to check, and their codes reach the user.
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--max-connections', '0'],
        /^ntlm-sso gateway: ntlm\(\): maxConnections must be a positive integer, got 0 \[ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER\]/,
      ],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--header-timeout', '0s'],
        /headerTimeoutMs must be a positive integer.*\[ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER\]/,
      ],
      // The keytab is read by ntlm(), not first by the command line.
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--keytab', 'missing.keytab'],
        /kerberosAcceptor\(\): cannot read the keytab missing\.keytab \[ERR_NTLM_CONFIG\]/,
      ],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--netlogon', '127.0.0.1', '--domain', 'EXAMPLE'],
        /netlogon: machineAccount must be a computer account name/,
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stdout, stderr } = await runCli(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.equal(stderr.split('\n').length, 2, `one line: ${stderr}`);
      assert.equal(stdout, '');
    }
  });

  test('mistakes exit 2 with a message that says what is wrong', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['gateway', '--upstrem', 'http://x'], /Unknown option '--upstrem'/],
      [['gateway', '--users', USERS], /^ntlm-sso gateway: upstream is required.*\[ERR_NTLM_CONFIG_MISSING\]/],
      [['gateway', '--upstream', 'http://127.0.0.1:1'], /needs --users FILE or --dc URLS --domain NAME/],
      [['gateway', '--upstream', 'http://127.0.0.1:1', '--dc', 'ldap://127.0.0.1'], /--dc needs --domain/],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--mode', 'proxy'],
        /--mode must be/,
      ],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--idle-timeout', 'soon'],
        /--idle-timeout must be a time/,
      ],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', USERS, '--listen', '8080'],
        /--listen must be HOST:PORT/,
      ],
      [['gateway', '--upstream', 'ftp://x', '--users', USERS], /http:\/\/ or https:\/\//],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--mode', 'pass-through', '--users', USERS],
        /--users: header mode only/,
      ],
      [
        ['gateway', '--upstream', 'http://127.0.0.1:1', '--users', 'missing.json'],
        /cannot read missing\.json/,
      ],
      [['gateway', '--config', 'missing.json'], /config file: cannot read missing\.json/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await runCli(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.match(stderr, /--help/);
    }
  });

  test('NTLM_SSO_* variables and a JSON config file, flags winning over both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-cli-'));
    const config = join(dir, 'gateway.json');
    writeFileSync(
      config,
      JSON.stringify({ upstream: 'http://127.0.0.1:1', users: USERS, 'forward-groups': true }),
    );
    // The config file's upstream is overridden by the variable; --forward-groups comes from the file.
    const gateway = await startGateway(['--config', config], {
      NTLM_SSO_UPSTREAM: upstream.url,
      NTLM_SSO_DEBUG: '0',
    });
    try {
      const { status, body } = await curlNtlm(`${gateway.url}/`, ALICE_CREDENTIALS);
      assert.equal(status, 200, body);
      assert.equal(JSON.parse(body).headers['x-ntlm-groups'], 'Engineering');
    } finally {
      await gateway.stop();
    }
    const { code, stderr } = await runCli(['gateway', '--config', config], { NTLM_SSO_MAX_REQUESTS: 'many' });
    assert.equal(code, 2);
    assert.match(stderr, /NTLM_SSO_MAX_REQUESTS: --max-requests must be a positive whole number/);
    writeFileSync(config, JSON.stringify({ upstream: upstream.url, user: USERS }));
    assert.match((await runCli(['gateway', '--config', config])).stderr, /unknown key "user"/);
  });

  test('a port in use: exit 1 with the reason', async () => {
    const gateway = await startGateway(['--upstream', upstream.url, '--users', USERS]);
    try {
      const taken = new URL(gateway.url).host;
      const { code, stderr } = await runCli([
        'gateway',
        '--listen',
        taken,
        '--upstream',
        upstream.url,
        '--users',
        USERS,
      ]);
      assert.equal(code, 1);
      assert.match(stderr, /EADDRINUSE/);
    } finally {
      await gateway.stop();
    }
  });

  test('an upstream that refuses connections: 502 with a reason, and the gateway keeps serving', async () => {
    const closedPort = await freePort();
    const gateway = await startGateway([
      '--upstream',
      `http://127.0.0.1:${closedPort}`,
      '--users',
      USERS,
      '--debug',
      '0',
    ]);
    try {
      for (let i = 0; i < 2; i++) {
        const { status, body } = await curlNtlm(`${gateway.url}/`, ALICE_CREDENTIALS);
        assert.equal(status, 502);
        assert.equal(
          body,
          'Bad gateway: the upstream could not be reached.\n',
          'no cause or address for strangers',
        );
      }
      const failures = linesWith(gateway.output(), 'upstream request failed');
      assert.equal(failures[0]?.code, 'ECONNREFUSED');
      assert.equal(failures[0]?.level, 'error');
    } finally {
      await gateway.stop();
    }
  });

  test('an upstream that does not answer in --upstream-timeout: 504, no hang', async () => {
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--users',
      USERS,
      '--upstream-timeout',
      '300ms',
    ]);
    try {
      const started = Date.now();
      const { status, body } = await curlNtlm(`${gateway.url}/slow?ms=5000`, ALICE_CREDENTIALS);
      assert.equal(status, 504);
      assert.equal(body, 'Gateway timeout: the upstream did not answer in time.\n');
      assert.equal(linesWith(gateway.output(), 'upstream request failed')[0]?.reason, 'no answer in 300 ms');
      assert.ok(Date.now() - started < 3000, `answered after ${Date.now() - started} ms`);
    } finally {
      await gateway.stop();
    }
  });

  test('--max-client-connections: connections beyond it are closed as they arrive', async () => {
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--users',
      USERS,
      '--max-client-connections',
      '2',
      // (Both may be unauthenticated: the share of those is tested in gateway-slow-clients.)
      '--max-unauthenticated-connections',
      '2',
    ]);
    const open = [await RawConnection.open(gateway.url), await RawConnection.open(gateway.url)];
    try {
      const third = await RawConnection.open(gateway.url);
      await eventually(
        () => third.socket.destroyed || third.socket.readableEnded,
        'the third connection closed',
      );
      for (const connection of open) {
        assert.equal((await connection.request(['GET /.ntlm-sso/health HTTP/1.1', 'Host: x'])).status, 200);
      }
    } finally {
      for (const connection of open) connection.close();
      await gateway.stop();
    }
  });

  test('SIGTERM: in-flight requests finish, quiet connections close at once, new ones are refused, exit 0', async () => {
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--users',
      USERS,
      '--shutdown-timeout',
      '5s',
    ]);
    // A connection that never sends a request (a browser's pre-connect) and an idle keep-alive one.
    const quiet = await RawConnection.open(gateway.url);
    const idle = await RawConnection.open(gateway.url);
    assert.equal((await idle.request(['GET /.ntlm-sso/health HTTP/1.1', 'Host: x'])).status, 200);
    const slow = curlNtlm(`${gateway.url}/slow?ms=1000`, ALICE_CREDENTIALS);
    // Wait until the slow request has reached the upstream, then stop the gateway.
    const deadline = Date.now() + 5000;
    while (!upstream.seen.some((r) => r.url === '/slow?ms=1000') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = Date.now();
    const exit = gateway.stop();
    const { status, body } = await slow;
    assert.equal(status, 200, body);
    assert.equal(JSON.parse(body).headers['x-ntlm-username'], 'alice');
    assert.equal(await exit, 0);
    // Not held up to --shutdown-timeout by the quiet connections.
    assert.ok(Date.now() - stoppedAt < 3000, `exited ${Date.now() - stoppedAt} ms after SIGTERM`);
    assert.ok(quiet.socket.destroyed || quiet.socket.readableEnded);
    quiet.close();
    idle.close();
    assert.match(gateway.output(), /SIGTERM, finishing in-flight requests/);
    // Its access line, answered just before exit, was written (the log batches routine lines).
    const slowLines = linesWith(gateway.output(), 'request').filter(
      (line) => line.path === '/slow' && line.status === 200,
    );
    assert.deepEqual(
      slowLines.map((line) => [line.status, line.user]),
      [[200, 'alice']],
      gateway.output(),
    );
    await assert.rejects(
      curl([`${gateway.url}/.ntlm-sso/health`]),
      /Couldn't connect|Connection refused|exit code 7/i,
    );
  });

  test('--access-log off: no access line, while logons are still logged', async () => {
    const gateway = await startGateway(['--upstream', upstream.url, '--users', USERS, '--access-log', 'off']);
    const { status, body } = await curlNtlm(`${gateway.url}/quiet-please`, ALICE_CREDENTIALS);
    assert.equal(status, 200, body);
    assert.equal(JSON.parse(body).headers['x-ntlm-username'], 'alice');
    // Stopped, so that every line it had batched is written.
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(
      linesWith(gateway.output(), 'logon accepted').map((line) => line.user),
      ['alice'],
      gateway.output(),
    );
    assert.deepEqual(linesWith(gateway.output(), 'request'), [], gateway.output());
  });

  test('--tls-cert/--tls-key: curl --ntlm logs in over HTTPS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-tls-'));
    const { cert, key } = await selfSignedCertificate(dir, {
      commonName: '127.0.0.1',
      altNames: 'IP:127.0.0.1',
    });
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--users',
      USERS,
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      assert.match(gateway.output(), /listening on https:\/\//);
      const url = gateway.url.replace('http:', 'https:');
      const { stdout } = await curl(['--cacert', cert, '--ntlm', '-u', ALICE_CREDENTIALS, `${url}/over-tls`]);
      const seen = JSON.parse(stdout);
      assert.equal(seen.headers['x-ntlm-username'], 'alice');
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
    } finally {
      await gateway.stop();
    }
  });
});
