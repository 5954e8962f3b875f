import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AuthenticationError } from '../../src/errors.js';
import { AvId, type AvPair } from '../../src/ntlm/av-pairs.js';
import {
  channelBindingsHash,
  checkExtendedProtection,
  type ExtendedProtectionMode,
  endPointHashAlgorithm,
  spnAccepts,
  tlsServerEndPoint,
} from '../../src/ntlm/extended-protection.js';

// Self-signed certificates made with `openssl req -x509` (one ECDSA P-384 signed with SHA-384,
// one RSA signed with SHA-1); the expected hashes are `openssl x509 -outform der | openssl dgst`.
const der = (name: string) =>
  new X509Certificate(readFileSync(new URL(`../fixtures/${name}`, import.meta.url))).raw;
const ECDSA_SHA384 = der('ep-ecdsa-sha384.pem');
const RSA_SHA1 = der('ep-rsa-sha1.pem');

describe('tls-server-end-point (RFC 5929)', () => {
  it('hashes with the certificate’s signature hash, SHA-256 in place of SHA-1', () => {
    assert.equal(endPointHashAlgorithm(ECDSA_SHA384), 'sha384');
    assert.equal(endPointHashAlgorithm(RSA_SHA1), 'sha256');
    assert.equal(
      tlsServerEndPoint(ECDSA_SHA384).toString('hex'),
      Buffer.from('tls-server-end-point:').toString('hex') +
        'f31407ad8f789d070050b212ed8c96c8c85bd40a48bd66e4b0a18bde18bbafeea9b470b4153f4206eb81548010eaee42',
    );
    assert.equal(
      tlsServerEndPoint(RSA_SHA1).subarray(21).toString('hex'),
      '81dda065b4ab2404eef445ed37b97139bc8d422c95bac2d227554ce6bd320472',
    );
    assert.throws(() => endPointHashAlgorithm(Buffer.from('3003020100', 'hex')), RangeError);
  });

  it('reads the certificate as strict DER: no trailing bytes, no indefinite or non-minimal lengths', () => {
    assert.throws(() => endPointHashAlgorithm(Buffer.concat([RSA_SHA1, Buffer.from([0])])), RangeError);
    // The same certificate with its outer length written in the indefinite (BER) form.
    const indefinite = Buffer.concat([Buffer.from([0x30, 0x80]), RSA_SHA1.subarray(4), Buffer.from([0, 0])]);
    assert.equal(RSA_SHA1[1], 0x82, 'fixture has a two-byte outer length');
    assert.throws(() => endPointHashAlgorithm(indefinite), RangeError);
    // A long-form length where the short form fits: SEQUENCE { SEQUENCE {}, SEQUENCE { OID } }.
    const nonMinimal = Buffer.from('308109300030050603550403', 'hex');
    assert.throws(() => endPointHashAlgorithm(nonMinimal), /non-minimal DER length/);
    assert.equal(endPointHashAlgorithm(Buffer.from('3009300030050603550403', 'hex')), 'sha256');
  });

  it('MsvAvChannelBindings is MD5 of the GSS bindings with empty addresses', () => {
    const data = tlsServerEndPoint(RSA_SHA1);
    const struct = Buffer.concat([Buffer.alloc(16), Buffer.from([data.length, 0, 0, 0]), data]);
    assert.deepEqual(channelBindingsHash(data), createHash('md5').update(struct).digest());
  });
});

describe('checkExtendedProtection', () => {
  const ours = channelBindingsHash(tlsServerEndPoint(ECDSA_SHA384));
  const theirs = channelBindingsHash(tlsServerEndPoint(RSA_SHA1));
  const pairs = (bindings?: Buffer, target?: string): AvPair[] => [
    ...(bindings ? [{ id: AvId.MsvAvChannelBindings, value: bindings }] : []),
    ...(target !== undefined ? [{ id: AvId.MsvAvTargetName, value: Buffer.from(target, 'utf16le') }] : []),
  ];
  const verdict = (
    mode: ExtendedProtectionMode,
    avPairs: AvPair[],
    tls: boolean,
    spns: string[] = ['HTTP/www.example.test'],
  ): string => {
    try {
      checkExtendedProtection({
        mode,
        avPairs,
        expectedChannelBindings: tls ? ours : undefined,
        spns,
        claimedUser: 'alice',
      });
      return 'ok';
    } catch (error) {
      assert.ok(error instanceof AuthenticationError);
      return error.code;
    }
  };
  const BAD_CB = 'ERR_NTLM_CHANNEL_BINDING_MISMATCH';
  const BAD_SPN = 'ERR_NTLM_TARGET_NAME_MISMATCH';

  it("'off' checks nothing", () => {
    assert.equal(verdict('off', pairs(theirs, 'HTTP/evil'), true), 'ok');
  });

  it('over TLS: the right binding passes; a wrong one never does; none only under allow', () => {
    for (const mode of ['allow', 'require'] as const) {
      assert.equal(verdict(mode, pairs(ours), true), 'ok', mode);
      assert.equal(verdict(mode, pairs(theirs), true), BAD_CB, mode);
      assert.equal(verdict(mode, pairs(Buffer.alloc(8, 1)), true), BAD_CB, mode);
    }
    assert.equal(verdict('allow', pairs(), true), 'ok');
    assert.equal(verdict('allow', pairs(Buffer.alloc(16)), true), 'ok', 'all-zero bindings are "none"');
    assert.equal(verdict('require', pairs(), true), BAD_CB);
    assert.equal(verdict('require', pairs(Buffer.alloc(16)), true), BAD_CB);
  });

  it('the target name must be one of our SPNs when the client names one (any case)', () => {
    assert.equal(verdict('allow', pairs(ours, 'http/WWW.example.test'), true), 'ok');
    assert.equal(verdict('allow', pairs(ours, 'HTTP/other.example.test'), true), BAD_SPN);
    assert.equal(verdict('allow', pairs(undefined, 'HTTP/other.example.test'), false), BAD_SPN);
    assert.equal(verdict('allow', pairs(undefined, 'HTTP/anything'), false, []), 'ok', 'no SPNs configured');
  });

  it("over plain HTTP, 'require' needs a target name that is one of our SPNs", () => {
    assert.equal(verdict('require', pairs(undefined, 'HTTP/www.example.test'), false), 'ok');
    assert.equal(verdict('require', pairs(), false), BAD_SPN);
    assert.equal(verdict('require', pairs(undefined, 'HTTP/www.example.test'), false, []), BAD_SPN);
    assert.equal(verdict('allow', pairs(), false), 'ok');
  });
});

// Issue 19: Chromium signs `HTTP/localhost:3443` for https://localhost:3443/, which the SPN
// `HTTP/localhost` used to refuse.
describe('target names as browsers send them (spnAccepts)', () => {
  it('an SPN without a port names its host on any port, or none', () => {
    for (const target of [
      'HTTP/localhost:3443',
      'HTTP/localhost',
      'http/LOCALHOST:1',
      'HTTP/localhost:03443',
    ])
      assert.equal(spnAccepts('HTTP/localhost', target), true, target);
    assert.equal(spnAccepts('HTTP/[::1]', 'HTTP/[::1]:3443'), true);
    assert.equal(spnAccepts('HTTP/www.example.test/svc', 'http/www.example.test:8443/SVC'), true);
  });

  it('an SPN with a port names that port only', () => {
    assert.equal(spnAccepts('HTTP/www.example.test:8443', 'HTTP/www.example.test:8443'), true);
    assert.equal(spnAccepts('HTTP/www.example.test:8443', 'HTTP/www.example.test:443'), false);
    assert.equal(spnAccepts('HTTP/www.example.test:8443', 'HTTP/www.example.test'), false);
  });

  it('another host, service class or service name is refused, however alike', () => {
    for (const target of [
      'HTTP/127.0.0.1:3443',
      'HTTP/localhost.evil.test:3443',
      'HTTP/localhostx',
      'HTTP/evil/localhost',
      'HOST/localhost',
      'HTTP/localhost:3443/other',
      'HTTP/localhost:abc',
      'HTTP/localhost:',
      'HTTP/localhost:99999999',
      'HTTP/localhost/a/b',
      'HTTP',
      '',
    ])
      assert.equal(spnAccepts('HTTP/localhost', target), false, target);
    assert.equal(spnAccepts('HTTP/[::1]', 'HTTP/[::2]:3443'), false);
  });

  it("'require' over HTTPS: Chromium's HTTP/localhost:3443 passes HTTP/localhost; another host's does not", () => {
    const ours = channelBindingsHash(tlsServerEndPoint(ECDSA_SHA384));
    const check = (target: string) => () =>
      checkExtendedProtection({
        mode: 'require',
        avPairs: [
          { id: AvId.MsvAvChannelBindings, value: ours },
          { id: AvId.MsvAvTargetName, value: Buffer.from(target, 'utf16le') },
        ],
        expectedChannelBindings: ours,
        spns: ['HTTP/localhost'],
        claimedUser: 'alice',
      });
    assert.doesNotThrow(check('HTTP/localhost:3443'));
    assert.throws(check('HTTP/intranet.example.test:3443'), { code: 'ERR_NTLM_TARGET_NAME_MISMATCH' });
  });
});
