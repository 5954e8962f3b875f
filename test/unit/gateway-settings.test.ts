// The gateway's settings (flags, NTLM_SSO_* variables, config file) and the identity headers it
// sends upstream, without starting anything.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { environmentName, FLAGS } from '../../src/cli/flags.js';
import { parseListen, planGateway } from '../../src/cli/gateway-plan.js';
import { parseDuration, readSettings as readCommandSettings } from '../../src/cli/parse.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { headerValue, prepareUpstreamRequest } from '../../src/gateway/upstream-headers.js';
import { ConfigurationError, createGateway, type GatewayOptions } from '../../src/index.js';
import type { NtlmRequestInfo } from '../../src/types.js';
import { testDirectory } from '../helpers/servers.js';

const readSettings = (argv: readonly string[], env: NodeJS.ProcessEnv) =>
  readCommandSettings('gateway', argv, env);

describe('gateway settings', () => {
  test("times: ms, s, m, h; a bare number is seconds; nonsense is a UsageError (a zero is the library's to refuse)", () => {
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration('30s', 'x'), 30_000);
    assert.equal(parseDuration('5m', 'x'), 300_000);
    assert.equal(parseDuration('1h', 'x'), 3_600_000);
    assert.equal(parseDuration('90', 'x'), 90_000);
    assert.equal(parseDuration('0', 'x'), 0);
    for (const bad of ['', '-1s', '1d', 'soon', '1.5.2s'])
      assert.throws(() => parseDuration(bad, 'x'), UsageError);
  });

  test('listen addresses: IPv4, [IPv6], all interfaces; anything else is a UsageError', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
    assert.deepEqual(parseListen(':80'), { host: '0.0.0.0', port: 80 });
    for (const bad of ['8080', 'host', '127.0.0.1:99999', '::1:80'])
      assert.throws(() => parseListen(bad), UsageError);
  });

  test('every flag has its NTLM_SSO_* variable; flags win over variables, variables over the file', () => {
    assert.equal(environmentName('jwt-secret-file'), 'NTLM_SSO_JWT_SECRET_FILE');
    assert.equal(new Set(FLAGS.map((flag) => flag.name)).size, FLAGS.length, 'no flag twice');
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-settings-'));
    const file = join(dir, 'config.json');
    writeFileSync(
      file,
      JSON.stringify({
        upstream: 'http://file',
        'max-requests': 7,
        dc: ['ldap://a', 'ldap://b'],
        mode: 'header',
      }),
    );
    const settings = readSettings(['--config', file, '--mode', 'pass-through'], {
      NTLM_SSO_UPSTREAM: 'http://env',
      NTLM_SSO_MODE: 'header',
      NTLM_SSO_FORWARD_GROUPS: 'yes',
      NTLM_SSO_IDLE_TIMEOUT: '2m',
    });
    assert.equal(settings.upstream, 'http://env');
    assert.equal(settings.mode, 'pass-through');
    assert.equal(settings['max-requests'], 7);
    assert.deepEqual(settings.dc, ['ldap://a', 'ldap://b']);
    assert.equal(settings['forward-groups'], true);
    assert.equal(settings['idle-timeout'], 120_000);
    assert.deepEqual(readSettings(['--dc', 'ldap://a, ldap://b,'], {}).dc, ['ldap://a', 'ldap://b']);
  });

  test('a password written in a --dc URL stays out of the start-up line and the DC names: ldap://user:***@127.0.0.1', async () => {
    const plan = planGateway(
      readSettings(
        [
          '--upstream',
          'http://127.0.0.1:9',
          '--dc',
          'ldap://user:Url-Passw0rd@127.0.0.1',
          '--domain',
          'EXAMPLE',
        ],
        {},
      ),
    );
    const verifier = plan.options.auth!.verifier;
    try {
      assert.equal(plan.source, 'EXAMPLE via ldap://user:***@127.0.0.1');
      assert.equal(verifier.name, 'domain-controller(EXAMPLE=ldap://user:***@127.0.0.1)');
    } finally {
      await verifier.close?.();
    }
  });

  test('--operator-listen, --trusted-domains and --allow-computer-accounts', () => {
    const users = 'demo-app/users.json';
    const plan = planGateway(
      readSettings(
        [
          '--upstream',
          'http://127.0.0.1:9',
          '--users',
          users,
          '--operator-listen',
          '127.0.0.1:9100',
          '--trusted-domains',
          'OTHER,other.test',
          '--allow-computer-accounts',
        ],
        {},
      ),
    );
    assert.deepEqual(plan.options.operatorListen, { host: '127.0.0.1', port: 9100 });
    assert.deepEqual(plan.options.auth!.trustedDomains, ['OTHER', 'other.test']);
    assert.equal(plan.options.auth!.allowComputerAccounts, true);
    const plain = planGateway(readSettings(['--upstream', 'http://127.0.0.1:9', '--users', users], {}));
    assert.equal(plain.options.operatorListen, undefined);
    assert.equal(plain.options.auth!.allowComputerAccounts, undefined);
    assert.throws(
      () =>
        planGateway(
          readSettings(
            ['--upstream', 'http://127.0.0.1:9', '--users', users, '--operator-listen', '9100'],
            {},
          ),
        ),
      /--operator-listen must be HOST:PORT/,
    );
  });

  test('--access-log off turns the access line off; on, or no flag, leaves it to the default (on)', () => {
    const args = ['--upstream', 'http://127.0.0.1:9', '--users', 'demo-app/users.json'];
    assert.equal(planGateway(readSettings([...args, '--access-log', 'off'], {})).options.accessLog, false);
    assert.equal(planGateway(readSettings(args, { NTLM_SSO_ACCESS_LOG: 'off' })).options.accessLog, false);
    assert.equal(planGateway(readSettings([...args, '--access-log', 'on'], {})).options.accessLog, undefined);
    assert.equal(planGateway(readSettings(args, {})).options.accessLog, undefined);
    assert.throws(
      () => readSettings([...args, '--access-log', 'no'], {}),
      (error: unknown) =>
        error instanceof UsageError && /--access-log must be "on" or "off"/.test(error.message),
    );
  });

  test('pass-through limits come from the same flags as header mode', () => {
    const plan = planGateway(
      readSettings(
        [
          '--upstream',
          'http://127.0.0.1:9',
          '--mode',
          'pass-through',
          '--max-connections',
          '5',
          '--max-age',
          '10m',
        ],
        {},
      ),
    );
    assert.deepEqual(plan.options.pinning, {
      maxConnections: 5,
      maxConnectionsPerClient: undefined,
      idleTimeoutMs: undefined,
      maxAgeMs: 600_000,
      maxRequests: undefined,
    });
    assert.deepEqual(plan.listen, { host: '127.0.0.1', port: 8080 });
  });

  test('slow clients, forwarding and per-client limits: --header-timeout, --max-header-size, --max-unauthenticated-connections, --trusted-proxy, --max-connections-per-client', () => {
    const plan = planGateway(
      readSettings(
        [
          '--upstream',
          'http://127.0.0.1:9',
          '--mode',
          'pass-through',
          '--header-timeout',
          '5s',
          '--max-unauthenticated-connections',
          '300',
          '--max-connections-per-client',
          '7',
          '--max-unauthenticated-connections-per-client',
          '12',
          '--challenge-timeout',
          '3s',
          '--max-header-size',
          '40000',
        ],
        { NTLM_SSO_TRUSTED_PROXY: '10.0.0.1, 10.2.0.0/16' },
      ),
    );
    assert.equal(plan.options.headerTimeoutMs, 5000);
    assert.equal(plan.options.maxUnauthenticatedConnections, 300);
    assert.equal(plan.options.maxUnauthenticatedConnectionsPerClient, 12);
    assert.equal(plan.options.challengeTimeoutMs, 3000);
    assert.equal(plan.options.maxHeaderBytes, 40_000);
    assert.deepEqual(plan.options.trustedProxies, ['10.0.0.1', '10.2.0.0/16']);
    assert.equal(plan.options.pinning?.maxConnectionsPerClient, 7);
    assert.throws(
      () =>
        planGateway(
          readSettings(
            ['--upstream', 'http://x', '--users', 'u.json', '--max-connections-per-client', '3'],
            {},
          ),
        ),
      (error: unknown) => error instanceof UsageError && /pass-through mode only/.test(error.message),
    );
  });

  test('Kerberos: --keytab (checked by ntlm() at start, handed on as a path for readiness to re-read) and --spn; --spn alone is a usage error', () => {
    const keytab = new URL('../fixtures/kerberos/http.keytab', import.meta.url).pathname;
    const users = new URL('../../demo-app/users.json', import.meta.url).pathname;
    const plan = planGateway(
      readSettings(
        ['--upstream', 'http://127.0.0.1:9', '--users', users, '--keytab', keytab, '--spn', 'HTTP/localhost'],
        {},
      ),
    );
    assert.equal(plan.options.auth?.kerberos?.servicePrincipal, 'HTTP/localhost');
    assert.equal(plan.options.auth?.kerberos?.keytab, keytab);
    assert.throws(
      () =>
        createGateway(
          planGateway(
            readSettings(['--upstream', 'http://x', '--users', users, '--keytab', '/nonexistent'], {}),
          ).options,
        ),
      (error: unknown) =>
        error instanceof ConfigurationError && /cannot read the keytab \/nonexistent/.test(error.message),
    );
    assert.throws(
      () => planGateway(readSettings(['--upstream', 'http://x', '--users', users, '--spn', 'HTTP/x'], {})),
      (error: unknown) => error instanceof UsageError && /--spn needs --keytab/.test(error.message),
    );
  });

  test("--kdc: Basic's KDCs; without it the --netlogon or --dc hosts (their ports are not the KDC's), else auto", () => {
    const keytab = new URL('../fixtures/kerberos/http.keytab', import.meta.url).pathname;
    const users = new URL('../../demo-app/users.json', import.meta.url).pathname;
    const kdcOf = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      planGateway(readSettings(['--upstream', 'http://127.0.0.1:9', '--keytab', keytab, ...argv], env))
        .options.auth?.kerberos?.kdc;
    assert.deepEqual(kdcOf(['--users', users, '--kdc', 'kdc1:1088,kdc2']), ['kdc1:1088', 'kdc2']);
    assert.equal(kdcOf(['--users', users, '--kdc', 'auto']), 'auto');
    assert.equal(kdcOf(['--users', users]), 'auto');
    const netlogon = ['--netlogon', 'dc1.example.test,dc2.example.test:49152', '--domain', 'EXAMPLE'];
    assert.deepEqual(
      kdcOf([...netlogon, '--machine-account', 'WEB01$'], { NTLM_SSO_MACHINE_PASSWORD: 'secret' }),
      ['dc1.example.test', 'dc2.example.test'],
    );
    assert.deepEqual(kdcOf(['--dc', 'ldaps://dc1.example.test:636,ldap://10.0.0.2', '--domain', 'EXAMPLE']), [
      'dc1.example.test',
      '10.0.0.2',
    ]);
    assert.throws(
      () => planGateway(readSettings(['--upstream', 'http://x', '--users', users, '--kdc', 'dc1'], {})),
      (error: unknown) => error instanceof UsageError && /--kdc needs --keytab/.test(error.message),
    );
  });
});

describe('gateway settings for Netlogon (--netlogon) and LDAPS by address (--dc-servername)', () => {
  const upstream = ['--upstream', 'http://127.0.0.1:9'];
  const netlogonFlags = [
    '--netlogon',
    'dc1.example.test,dc2.example.test:49152',
    '--domain',
    'EXAMPLE',
    '--machine-account',
    'WEB01$',
  ];
  const usage = (argv: string[], env: NodeJS.ProcessEnv, message: RegExp) =>
    assert.throws(
      () => planGateway(readSettings(argv, env)),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
      argv.join(' '),
    );
  /** A mistake netlogon() finds: its ConfigurationError, not a copy of the check in the CLI. */
  const libraryRefuses = (argv: string[], env: NodeJS.ProcessEnv, message: RegExp) =>
    assert.throws(
      () => planGateway(readSettings(argv, env)),
      (error: unknown) => error instanceof ConfigurationError && message.test(error.message),
      argv.join(' '),
    );

  test('--netlogon maps to netlogon(), the password from NTLM_SSO_MACHINE_PASSWORD or --machine-password-file', async () => {
    const plan = planGateway(
      readSettings([...upstream, ...netlogonFlags], { NTLM_SSO_MACHINE_PASSWORD: 'secret' }),
    );
    assert.equal(plan.options.auth?.verifier.name, 'netlogon://dc1.example.test,dc2.example.test:49152');
    assert.equal(plan.source, 'EXAMPLE via Netlogon (dc1.example.test, dc2.example.test:49152) as WEB01$');
    await plan.options.auth?.verifier.close?.();

    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-netlogon-'));
    writeFileSync(join(dir, 'password'), 'secret\n');
    const fromFile = planGateway(
      readSettings([...upstream, ...netlogonFlags, '--machine-password-file', join(dir, 'password')], {}),
    );
    assert.match(fromFile.options.auth!.verifier.name, /^netlogon:\/\//);
    await fromFile.options.auth?.verifier.close?.();
    // Every flag has its variable, as always.
    const viaEnv = readSettings([], {
      NTLM_SSO_NETLOGON: 'dc1,dc2:1234',
      NTLM_SSO_MACHINE_ACCOUNT: 'WEB01$',
      NTLM_SSO_MACHINE_PASSWORD_FILE: '/run/secrets/pw',
      NTLM_SSO_DC_SERVERNAME: 'dc1.example.test',
    });
    assert.deepEqual(viaEnv.netlogon, ['dc1', 'dc2:1234']);
    assert.equal(viaEnv['machine-account'], 'WEB01$');
    assert.equal(viaEnv['machine-password-file'], '/run/secrets/pw');
    assert.equal(viaEnv['dc-servername'], 'dc1.example.test');
  });

  test('the machine password is never a command-line argument nor a config-file key', () => {
    for (const argv of [['--machine-password', 'secret'], ['--machine-password=secret']]) {
      assert.throws(
        () => readSettings(argv, {}),
        (error: unknown) =>
          error instanceof UsageError &&
          /never a command-line argument .*NTLM_SSO_MACHINE_PASSWORD or use --machine-password-file FILE/.test(
            error.message,
          ),
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-netlogon-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ 'machine-password': 'secret' }));
    assert.throws(
      () => readSettings(['--config', join(dir, 'config.json')], {}),
      (error: unknown) =>
        error instanceof UsageError && /is a secret: set NTLM_SSO_MACHINE_PASSWORD/.test(error.message),
    );
  });

  test('mistakes are usage errors that say what to do', () => {
    const pw = { NTLM_SSO_MACHINE_PASSWORD: 'secret' };
    usage(
      [...upstream, ...netlogonFlags, '--dc', 'ldap://dc1'],
      pw,
      /use one of --users, --dc or --netlogon, not --dc and --netlogon/,
    );
    usage([...upstream, ...netlogonFlags, '--users', 'u.json'], pw, /not --users and --netlogon/);
    libraryRefuses(
      [...upstream, '--netlogon', 'dc1', '--machine-account', 'WEB01$'],
      pw,
      /netlogon: domain must be the NetBIOS domain name/,
    );
    libraryRefuses(
      [...upstream, '--netlogon', 'dc1', '--domain', 'EXAMPLE'],
      pw,
      /netlogon: machineAccount must be a computer account name/,
    );
    libraryRefuses(
      [...upstream, ...netlogonFlags],
      {},
      /exactly one of machinePassword or machinePasswordFile/,
    );
    libraryRefuses(
      [...upstream, ...netlogonFlags, '--machine-password-file', '/x'],
      pw,
      /exactly one of machinePassword or machinePasswordFile/,
    );
    usage(
      [...upstream, ...netlogonFlags, '--dc-servername', 'dc1.example.test'],
      pw,
      /--dc-servername: only with --dc/,
    );
    usage([...upstream, ...netlogonFlags, '--lookup-url', 'ldaps://dc1'], pw, /--lookup-url: only with --dc/);
    usage(
      [...upstream, '--dc', 'ldap://dc1', '--domain', 'EXAMPLE', '--machine-account', 'WEB01$'],
      {},
      /--machine-account: only with --netlogon/,
    );
    usage([...upstream, '--users', 'u.json'], pw, /NTLM_SSO_MACHINE_PASSWORD: only with --netlogon/);
    usage([...upstream, '--mode', 'pass-through', '--netlogon', 'dc1'], {}, /--netlogon: header mode only/);
    usage([...upstream], {}, /--netlogon HOSTS --domain NAME --machine-account/);
  });

  test('--extended-protection (with --tls-cert), --service-principal-names and --dns-domain reach ntlm() and netlogon()', async () => {
    const pw = { NTLM_SSO_MACHINE_PASSWORD: 'secret' };
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-epa-'));
    writeFileSync(join(dir, 'cert.pem'), 'cert');
    writeFileSync(join(dir, 'key.pem'), 'key');
    const tls = ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')];
    const plan = planGateway(
      readSettings(
        [
          ...upstream,
          ...netlogonFlags,
          ...tls,
          '--extended-protection',
          'require',
          '--service-principal-names',
          'HTTP/web.example.test,HTTP/web',
          '--dns-domain',
          'example.test',
        ],
        pw,
      ),
    );
    assert.equal(plan.options.auth?.extendedProtection, 'require');
    assert.deepEqual(plan.options.auth?.servicePrincipalNames, ['HTTP/web.example.test', 'HTTP/web']);
    await plan.options.auth?.verifier.close?.();
    usage(
      [...upstream, ...netlogonFlags, '--extended-protection', 'allow'],
      pw,
      /needs --tls-cert and --tls-key/,
    );
    usage(
      [...upstream, ...netlogonFlags, ...tls, '--extended-protection', 'on'],
      pw,
      /"off", "allow" or "require"/,
    );
    usage(
      [...upstream, ...netlogonFlags, '--service-principal-names', 'HTTP/web'],
      pw,
      /only with --extended-protection allow or require/,
    );
    usage(
      [...upstream, '--users', 'u.json', '--dns-domain', 'example.test'],
      {},
      /--dns-domain: only with --dc or --netlogon/,
    );
    usage(
      [...upstream, '--mode', 'pass-through', '--extended-protection', 'require'],
      {},
      /--extended-protection: header mode only/,
    );
  });

  test('--dc-servername and --dc-ca go to the relay and the lookup account', async () => {
    const plan = planGateway(
      readSettings(
        [
          ...upstream,
          '--dc',
          'ldaps://10.0.0.5',
          '--domain',
          'EXAMPLE',
          '--dc-servername',
          'dc1.example.test',
          '--lookup-url',
          'ldaps://10.0.0.5',
          '--lookup-user',
          'svc',
          '--lookup-password',
          'pw',
        ],
        {},
      ),
    );
    assert.equal(plan.options.auth?.verifier.name, 'domain-controller(EXAMPLE=ldaps://10.0.0.5)');
    await plan.options.auth?.verifier.close?.();
  });
});

describe('identity headers for the upstream', () => {
  test('ASCII names pass unchanged; ",", "%" and non-ASCII are percent-encoded as UTF-8, and decode back', () => {
    for (const name of ['alice', 'R&D Paris', 'Domain Users']) assert.equal(headerValue(name), name);
    for (const name of ['Jürgen', '李雷', 'Sales, EMEA', '100% Team', 'tab\there']) {
      const value = headerValue(name);
      assert.match(value, /^[\x20-\x7e]*$/, `${name} → ${value}`);
      assert.ok(!value.includes(','));
      assert.equal(decodeURIComponent(value), name);
    }
  });

  test('the upstream request gets encoded identity headers and loses the credentials', () => {
    const info: NtlmRequestInfo = {
      username: '李雷',
      domain: 'EXAMPLE',
      remoteUser: '李雷',
      workstation: '',
      groups: ['Ingeniería', 'Sales, EMEA'],
      scheme: 'NTLM',
      authenticatedAt: 0,
      token: 'eyJ.x.y',
    };
    const req = {
      ntlm: info,
      headers: { authorization: 'NTLM abc', host: 'h' },
    } as unknown as IncomingMessage;
    prepareUpstreamRequest(req, { groups: true, token: true });
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers['x-ntlm-username'], '%E6%9D%8E%E9%9B%B7');
    assert.deepEqual(String(req.headers['x-ntlm-groups']).split(',').map(decodeURIComponent), info.groups);
    assert.equal(req.headers['x-ntlm-token'], 'eyJ.x.y');
    const without = {
      ntlm: info,
      headers: { connection: 'Upgrade, X-Ntlm-Domain' },
    } as unknown as IncomingMessage;
    prepareUpstreamRequest(without, { groups: false, token: false });
    assert.equal(without.headers.connection, 'upgrade');
    assert.equal(without.headers['x-ntlm-groups'], undefined);
    assert.equal(without.headers['x-ntlm-token'], undefined);
  });

  test("a shared frozen identity's headers are encoded once and stay right; a mutable one's follow its changes", () => {
    const identity = (remoteUser: string): NtlmRequestInfo => ({
      username: remoteUser,
      domain: 'EXAMPLE',
      remoteUser,
      workstation: '',
      groups: ['Ingeniería'],
      scheme: 'NTLM',
      authenticatedAt: 0,
    });
    const upstreamHeaders = (info: NtlmRequestInfo, groups: boolean) => {
      const req = { ntlm: info, headers: {} } as unknown as IncomingMessage;
      prepareUpstreamRequest(req, { groups, token: false });
      return [req.headers['x-ntlm-username'], req.headers['x-ntlm-domain'], req.headers['x-ntlm-groups']];
    };
    const frozen = Object.freeze(identity('Jürgen'));
    assert.deepEqual(upstreamHeaders(frozen, false), ['J%C3%BCrgen', 'EXAMPLE', undefined]);
    assert.deepEqual(upstreamHeaders(frozen, true), ['J%C3%BCrgen', 'EXAMPLE', 'Ingenier%C3%ADa']);
    assert.deepEqual(upstreamHeaders(Object.freeze(identity('bob')), true), [
      'bob',
      'EXAMPLE',
      'Ingenier%C3%ADa',
    ]);
    const mutable = identity('alice');
    assert.equal(upstreamHeaders(mutable, false)[0], 'alice');
    (mutable as { remoteUser: string }).remoteUser = 'mallory';
    assert.equal(upstreamHeaders(mutable, false)[0], 'mallory', 'not a value kept from an earlier request');
    (mutable as { domain: string }).domain = 'ÉQUIPE';
    assert.equal(upstreamHeaders(mutable, false)[1], '%C3%89QUIPE');
    // A mutable list of groups is read on every request; a frozen one replaced is read again.
    assert.equal(upstreamHeaders(mutable, true)[2], 'Ingenier%C3%ADa');
    (mutable.groups as string[]).push('Ventas, Norte');
    assert.equal(upstreamHeaders(mutable, true)[2], 'Ingenier%C3%ADa,Ventas%2C Norte');
    (mutable as { groups: readonly string[] }).groups = Object.freeze(['Ops']);
    assert.equal(upstreamHeaders(mutable, true)[2], 'Ops');
    (mutable as { groups: readonly string[] }).groups = Object.freeze(['Dev']);
    assert.equal(upstreamHeaders(mutable, true)[2], 'Dev');
    // A frozen identity may still hold a list that is not.
    const groups = ['Ops'];
    const frozenOutside = Object.freeze({ ...identity('carol'), groups });
    assert.equal(upstreamHeaders(frozenOutside, true)[2], 'Ops');
    groups.push('Dev');
    assert.equal(upstreamHeaders(frozenOutside, true)[2], 'Ops,Dev');
  });
});

describe('createGateway() options', () => {
  test('options that cannot work throw ConfigurationError at once', () => {
    const verifier = testDirectory();
    const cases: Array<[GatewayOptions, RegExp]> = [
      [{ upstream: 'http://127.0.0.1:9' }, /header mode needs auth/],
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier, otherSchemes: 'next' } },
        /unauthenticated requests/,
      ],
      [
        { upstream: 'http://127.0.0.1:9', mode: 'pass-through', auth: { verifier } },
        /auth is for header mode/,
      ],
      [{ upstream: 'not a url', auth: { verifier } }, /is not a URL/],
      [
        { upstream: 'http://127.0.0.1:9', mode: 'pass-through', pinning: { maxRequests: 0 } },
        /pinning.maxRequests/,
      ],
      [{ upstream: 'http://127.0.0.1:9', mode: 'sideways' as 'header', auth: { verifier } }, /mode must be/],
      [
        { upstream: 'http://127.0.0.1:9', mode: 'pass-through', pinning: { maxConnectionsPerClient: -1 } },
        /pinning.maxConnectionsPerClient/,
      ],
      [{ upstream: 'http://127.0.0.1:9', auth: { verifier }, headerTimeoutMs: 0 }, /headerTimeoutMs/],
      [{ upstream: 'http://127.0.0.1:9', auth: { verifier }, maxHeaderBytes: 0 }, /maxHeaderBytes/],
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, maxUnauthenticatedConnections: 1.5 },
        /maxUnauthenticatedConnections/,
      ],
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, maxUnauthenticatedConnectionsPerClient: 0 },
        /maxUnauthenticatedConnectionsPerClient/,
      ],
      [{ upstream: 'http://127.0.0.1:9', auth: { verifier }, challengeTimeoutMs: -1 }, /challengeTimeoutMs/],
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, trustedProxies: ['proxy.lan'] },
        /trustedProxies/,
      ],
      // A config file's "false" is a string, which would count as true.
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, accessLog: 'false' as unknown as boolean },
        /accessLog must be true or false, got "false"/,
      ],
      // "false" would otherwise send every user's Bearer token upstream.
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, forwardToken: 'false' as unknown as boolean },
        /forwardToken must be true or false, got "false"/,
      ],
      [
        { upstream: 'http://127.0.0.1:9', auth: { verifier }, forwardGroups: 1 as unknown as boolean },
        /forwardGroups must be true or false, got 1/,
      ],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => createGateway(options),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});
