// The doctor's pure parts: settings from flags, variables and a config file (with doctor-only
// keys the gateway's reader would refuse), the plan's checks, the clock and certificate helpers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { planDoctor } from '../../src/cli/doctor-plan.js';
import { readSettings } from '../../src/cli/parse.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { fail, formatResult, notChecked, pass } from '../../src/doctor/check.js';
import { checkClockSkew, parseGeneralizedTime } from '../../src/doctor/clock-skew.js';
import { checkKeytabFile } from '../../src/doctor/keytab.js';
import { certificateNames } from '../../src/doctor/ldap-tls.js';
import { ConfigurationError } from '../../src/errors.js';
import { hideUrlPasswords } from '../../src/url-credentials.js';

const readDoctorSettings = (argv: readonly string[], env: NodeJS.ProcessEnv) =>
  readSettings('doctor', argv, env);

const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-doctor-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('doctor settings', () => {
  it('reads the gateway keys and the doctor-only keys of one config file; flags over variables over the file', () => {
    const config = file(
      'all.json',
      JSON.stringify({
        upstream: 'http://127.0.0.1:9000',
        dc: ['ldap://dc1', 'ldap://dc2'],
        domain: 'EXAMPLE',
        'forward-groups': true,
        netlogon: ['dc1', 'dc2:49152'],
        'machine-account': 'WEB01$',
        timeout: '2s',
      }),
    );
    const settings = readDoctorSettings(['--config', config, '--timeout', '750ms'], {
      NTLM_SSO_MACHINE_ACCOUNT: 'WEB02$',
      NTLM_SSO_REDIS: 'redis://127.0.0.1:6379',
    });
    assert.deepEqual(settings.dc, ['ldap://dc1', 'ldap://dc2']);
    assert.equal(settings['forward-groups'], true);
    assert.deepEqual(settings.netlogon, ['dc1', 'dc2:49152']);
    assert.equal(settings['machine-account'], 'WEB02$', 'the variable wins over the file');
    assert.equal(settings.timeout, 750, 'the flag wins over the file');
    assert.equal(settings.redis, 'redis://127.0.0.1:6379');
    assert.equal(settings.upstream, 'http://127.0.0.1:9000');
  });

  it('a bad or unknown config key names the file', () => {
    const bad = file('bad.json', JSON.stringify({ 'max-requests': 'many' }));
    assert.throws(
      () => readDoctorSettings(['--config', bad], {}),
      (error: Error) => {
        assert.ok(error instanceof UsageError);
        assert.match(
          error.message,
          new RegExp(`^config file ${bad}: --max-requests must be a positive whole number`),
        );
        return true;
      },
    );
    const unknown = file('unknown.json', JSON.stringify({ nonsense: 1 }));
    assert.throws(() => readDoctorSettings(['--config', unknown], {}), /unknown key "nonsense"/);
  });

  it('the plan: Netlogon endpoints, the machine password from a file, the lookup account', () => {
    const password = file('machine', 'Secret-1!\n');
    const plan = planDoctor(
      readDoctorSettings(
        [
          '--netlogon',
          'dc1.example.test,[::1]:49152',
          '--domain',
          'example',
          '--machine-account',
          'web01',
          '--machine-password-file',
          password,
          '--lookup-url',
          'ldaps://dc1',
          '--lookup-user',
          'svc@example.test',
          '--lookup-password',
          'x',
        ],
        {},
      ),
    );
    assert.deepEqual(plan.netlogon?.endpoints, [
      { host: 'dc1.example.test', port: undefined },
      { host: '::1', port: 49152 },
    ]);
    assert.equal(plan.netlogon?.machine.computerName, 'WEB01');
    assert.equal(plan.netlogon?.machine.domain, 'EXAMPLE');
    assert.deepEqual(plan.lookup?.urls, ['ldaps://dc1']);
    assert.equal(plan.timeoutMs, 3000);
  });

  it("mistakes: UsageErrors for the command line, the library's ConfigurationErrors for what netlogon() and domainController() check", () => {
    const plan =
      (argv: string[], env: NodeJS.ProcessEnv = {}) =>
      () =>
        planDoctor(readDoctorSettings(argv, env));
    assert.throws(plan(['--upstream', 'http://x', '--users', 'demo-app/users.json']), /nothing to check/);
    assert.throws(
      plan(['--netlogon', 'dc1:99999', '--domain', 'EXAMPLE', '--machine-account', 'W$'], {
        NTLM_SSO_MACHINE_PASSWORD: 'x',
      }),
      /not HOST or HOST:PORT/,
    );
    assert.throws(
      plan(
        [
          '--netlogon',
          'dc1',
          '--domain',
          'EXAMPLE',
          '--machine-account',
          'W$',
          '--machine-password-file',
          file('m', 'x'),
        ],
        {
          NTLM_SSO_MACHINE_PASSWORD: 'x',
        },
      ),
      /netlogon: give exactly one of machinePassword or machinePasswordFile/,
    );
    assert.throws(
      plan(['--lookup-url', 'ldaps://dc1']),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        /lookup\.bindDN must be a non-empty string/.test(error.message),
    );
    assert.throws(plan(['--dc', 'ldap://dc1', '--dc-ca', join(dir, 'missing.pem')]), /--dc-ca: cannot read/);
    assert.throws(plan(['--dc', 'ldap://dc1', '--spn', 'HTTP/web']), /--spn needs --keytab FILE/);
    assert.throws(plan(['--dc', 'auto']), /--dc auto needs --dns-domain NAME/);
    const auto = planDoctor(
      readDoctorSettings(['--dc', 'auto', '--dns-domain', 'example.test', '--dns-server', '10.0.0.53'], {}),
    );
    assert.deepEqual(auto.dcs, [], 'auto is found in DNS, not dialled');
    assert.deepEqual(auto.dns, {
      domain: 'example.test',
      servers: ['10.0.0.53'],
      kerberosNeeded: false,
      dc: true,
      netlogon: false,
    });
    assert.deepEqual(planDoctor(readDoctorSettings(['--keytab', 'k', '--spn', 'HTTP/web'], {})).keytab, {
      path: 'k',
      spn: 'HTTP/web',
    });
  });
});

/** An MIT keytab (0x0502) with the given entries (realm EXAMPLE.TEST). */
function keytab(entries: { name: string; kvno: number; etype: number; keyBytes: number }[]): Buffer {
  const counted = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  const records = entries.map((e) => {
    const parts = e.name.split('/').map((part) => Buffer.from(part));
    const tail = Buffer.alloc(11);
    tail.writeUInt32BE(1, 0);
    tail[8] = e.kvno;
    tail.writeUInt16BE(e.etype, 9);
    const record = Buffer.concat([
      Buffer.from([0, parts.length]),
      counted(Buffer.from('EXAMPLE.TEST')),
      ...parts.map(counted),
      tail,
      counted(Buffer.alloc(e.keyBytes, 1)),
    ]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(record.length);
    return Buffer.concat([size, record]);
  });
  return Buffer.concat([Buffer.from([5, 2]), ...records]);
}

describe('doctor keytab file check', () => {
  const aes = { name: 'HTTP/web', kvno: 4, etype: 18, keyBytes: 32 };
  const lines = (path: string, spn?: string) =>
    checkKeytabFile(path, spn).results.map((r) => formatResult('kt', r));

  it('the --spn is matched without realm and case-insensitively; the principals go on to the kvno check', () => {
    const path = file('web.keytab', '');
    writeFileSync(path, keytab([aes, { name: 'HTTP/other', kvno: 1, etype: 23, keyBytes: 16 }]));
    const { results, principals } = checkKeytabFile(path, 'http/WEB');
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(
      principals.map((p) => p.text),
      ['HTTP/web@EXAMPLE.TEST'],
    );
    assert.match(
      lines(path, 'HTTP/web@EXAMPLE.TEST')[1]!,
      /^✓ kt principals: HTTP\/web@EXAMPLE\.TEST is there/,
    );
    // Without --spn every principal counts, and one without AES fails the run.
    assert.match(lines(path)[2]!, /^✗ kt enctypes: HTTP\/other@EXAMPLE\.TEST has only rc4-hmac keys/);
    assert.match(
      lines(path, 'HTTP/web@OTHER.REALM')[1]!,
      /^✗ kt principals: --spn HTTP\/web@OTHER\.REALM is not in it/,
    );
  });

  it('DES or a key of the wrong length is no AES key', () => {
    const path = file('des.keytab', '');
    writeFileSync(
      path,
      keytab([
        { ...aes, keyBytes: 16 },
        { name: 'HTTP/web', kvno: 4, etype: 3, keyBytes: 8 },
      ]),
    );
    assert.match(
      lines(path)[2]!,
      /^✗ kt enctypes: HTTP\/web@EXAMPLE\.TEST has no AES key \(only aes256-cts-hmac-sha1-96, des-cbc-md5\)/,
    );
    assert.match(lines(path)[1]!, /aes256-cts-hmac-sha1-96 \(key of a wrong length\), des-cbc-md5/);
  });

  it('an empty keytab or another format fails with how to export one', () => {
    const empty = file('empty.keytab', '');
    writeFileSync(empty, Buffer.from([5, 2]));
    assert.match(lines(empty)[0]!, /^✗ kt keytab: the file holds no keys: export one on a DC/);
    const old = file('old.keytab', '');
    writeFileSync(old, Buffer.from([5, 1, 0, 0]));
    assert.match(lines(old)[0]!, /^✗ kt keytab: not a usable MIT keytab \(4 bytes\): keytab: format 0x0501/);
  });
});

describe('doctor helpers', () => {
  it('parseGeneralizedTime reads the rootDSE currentTime, and nothing else', () => {
    assert.equal(parseGeneralizedTime('20261130022114.0Z'), Date.UTC(2026, 10, 30, 2, 21, 14));
    assert.equal(parseGeneralizedTime('20261130022114Z'), Date.UTC(2026, 10, 30, 2, 21, 14));
    assert.equal(parseGeneralizedTime('2026-11-30T02:21:14Z'), undefined);
    assert.equal(parseGeneralizedTime('20261130022114.0+0100'), undefined);
  });

  it('checkClockSkew: within the DC’s second, within 5 minutes, beyond', () => {
    const dc = '20261130120000.0Z';
    const at = Date.UTC(2026, 10, 30, 12, 0, 0);
    assert.match(checkClockSkew(dc, at + 400, at + 600).detail, /agree/);
    const behind = checkClockSkew(dc, at - 120_000, at - 120_000);
    assert.equal(behind.ok, true);
    assert.match(behind.detail, /this host is 120 s behind the DC/);
    const far = checkClockSkew(dc, at + 600_000, at + 600_000);
    assert.equal(far.ok, false);
    assert.match(far.detail, /600 s ahead of the DC, more than the 5 minutes/);
    assert.match(far.fix!, /NTP/);
    assert.equal(checkClockSkew(undefined, at, at).ok, false);
  });

  it('certificateNames: subjectAltNames first, else the subject CN', () => {
    const withSan = { subjectaltname: 'DNS:dc1.example.test, IP Address:10.0.0.1', subject: { CN: 'x' } };
    assert.deepEqual(certificateNames(withSan as unknown as PeerCertificate), [
      'dc1.example.test',
      '10.0.0.1',
    ]);
    assert.deepEqual(certificateNames({ subject: { CN: 'VM.example.test' } } as unknown as PeerCertificate), [
      'VM.example.test',
    ]);
  });

  it('formatResult: one line, ✓ or ✗, the cause and the fix', () => {
    assert.equal(formatResult('ldap://dc1', pass('TCP connect', 'ok')), '✓ ldap://dc1 TCP connect: ok');
    assert.equal(
      formatResult('ldap://dc1', fail('LDAP signing', 'this DC requires LDAP signing', 'use Netlogon')),
      '✗ ldap://dc1 LDAP signing: this DC requires LDAP signing: use Netlogon',
    );
    assert.equal(
      formatResult('kt', notChecked('kvno', 'not compared: no lookup account')),
      '– kt kvno: not compared: no lookup account',
    );
  });

  it('hideUrlPasswords: the password of every URL in a line, the user and host kept', () => {
    const cases: [string, string][] = [
      ['ldap://user:pass@127.0.0.1', 'ldap://user:***@127.0.0.1'],
      [
        '✗ ldaps://u:p@ss@dc1:636/dc=x TLS: ldap://v:q@dc2 too',
        '✗ ldaps://u:***@dc1:636/dc=x TLS: ldap://v:***@dc2 too',
      ],
      ['redis://:secret@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'],
      [
        'ldap://127.0.0.1:389 and ldap://user@dc1, alice@example.test',
        'ldap://127.0.0.1:389 and ldap://user@dc1, alice@example.test',
      ],
    ];
    for (const [text, shown] of cases) assert.equal(hideUrlPasswords(text), shown);
  });
});

describe('doctor: who answered', () => {
  it('an error is "never answered" only for a refused, unreachable or silent peer, never for an answer', async () => {
    const { neverAnswered } = await import('../../src/doctor/check.js');
    const { TransportError } = await import('../../src/rpc/transport.js');
    const { RpcFault, RpcProtocolError } = await import('../../src/rpc/pdu.js');
    const { LdapTransportError } = await import('../../src/dc/ldap-connection.js');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    assert.equal(neverAnswered(refused), true);
    assert.equal(neverAnswered(new TransportError('cannot connect to dc:135: refused')), true);
    assert.equal(neverAnswered(new TransportError('no answer within 500 ms')), true);
    assert.equal(neverAnswered(new LdapTransportError('operation-timeout', 'ldap://dc: no answer')), true);
    assert.equal(neverAnswered(new Error('wrapped', { cause: refused })), true);
    assert.equal(neverAnswered(new RpcFault('bind refused (bind_nak)', 0x1c010003)), false);
    assert.equal(
      neverAnswered(new RpcProtocolError('ept_map: status 0x16c9a0d6 (interface not registered?)')),
      false,
    );
    const certificate = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    assert.equal(
      neverAnswered(new LdapTransportError('connect-failed', 'ldaps://dc: tls', { cause: certificate })),
      false,
    );
    assert.equal(
      neverAnswered(Object.assign(new Error('NOAUTH Authentication required.'), { name: 'ReplyError' })),
      false,
    );
  });
});
