// The parts of the DC verifier that need no DC: option checks and which domain's DCs a
// NEGOTIATE is sent to (Apache::AuthenNTLM's defaultdomain / fallbackdomain).
import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { ConfigurationError, domainController } from '../../src/index.js';
import { NegotiateFlags as F } from '../../src/ntlm/flags.js';
import { decodeNegotiate, encodeNegotiate } from '../../src/ntlm/negotiate.js';

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `ldap://127.0.0.1:${port}`;
}

function negotiateFrom(domain: string) {
  const token = encodeNegotiate({
    flags: F.NEGOTIATE_UNICODE | F.NEGOTIATE_NTLM | F.NEGOTIATE_OEM_DOMAIN_SUPPLIED,
    domain,
  });
  return { negotiate: decodeNegotiate(token), negotiateToken: token, signal: new AbortController().signal };
}

describe('domainController options', () => {
  it('refuses configurations that cannot work', () => {
    const bad = [
      {},
      { domains: {} },
      { domains: { EXAMPLE: [] } },
      { domains: { EXAMPLE: 'http://dc1' } },
      { domains: { EXAMPLE: 'ldap://dc1' }, defaultDomain: 'OTHER' },
      { domains: { EXAMPLE: 'ldap://dc1' }, fallbackDomain: 'OTHER' },
    ];
    for (const options of bad) {
      assert.throws(() => domainController(options as never), ConfigurationError, JSON.stringify(options));
    }
  });

  it('each mistake is a ConfigurationError that says what to do (issue 10)', () => {
    const base = { domains: { EXAMPLE: 'ldap://dc1' } };
    const lookup = { url: 'ldaps://dc1', bindDN: 'svc@example.test', password: 'secret' };
    const mistakes: Array<[Record<string, unknown>, RegExp]> = [
      [
        { maxConcurrentOperations: 0 },
        /maxConcurrentOperations \(LDAP operations in flight per DC, e\.g\. 16\) must be a positive integer, got 0/,
      ],
      [{ maxConcurrentOperations: 2.5 }, /maxConcurrentOperations .* got 2\.5/],
      [
        { connectTimeoutMs: -1 },
        /connectTimeoutMs \(milliseconds, e\.g\. 2000\) must be a positive integer, got -1/,
      ],
      [
        { operationTimeoutMs: '3000' },
        /operationTimeoutMs \(milliseconds, e\.g\. 3000\) must be a positive integer, got "3000"/,
      ],
      [{ operationTimeoutMs: Number.NaN }, /operationTimeoutMs/],
      [
        { downtimeMs: '30s' },
        /downtimeMs \(milliseconds, e\.g\. 30000\) must be a positive integer, got "30s"/,
      ],
      [{ downtimeMs: 0 }, /downtimeMs/],
      [{ tls: 'yes' }, /tls must be an object of Node TLS options/],
      [{ tls: { servername: '' } }, /tls\.servername must be the DC's host name/],
      [{ cache: { ttlSeconds: -1 } }, /cache\.ttlSeconds \(seconds, e\.g\. 300\) must be a positive integer/],
      [
        { lookup: { ...lookup, url: 'https://dc1' } },
        /lookup\.url: not an LDAP URL: https:\/\/dc1 \(use ldaps:\/\/host\)/,
      ],
      [{ lookup: { ...lookup, url: [] } }, /lookup\.url must be an ldaps:\/\/ URL/],
      [{ lookup: { ...lookup, bindDN: '' } }, /lookup\.bindDN must be a non-empty string/],
      [{ lookup: { ...lookup, password: undefined } }, /lookup\.password must be a non-empty string/],
      [{ lookup: { ...lookup, poolSize: 0 } }, /lookup\.poolSize/],
      [{ lookup: { ...lookup, tls: { servername: 7 } } }, /lookup\.tls\.servername/],
      [
        { domains: { EXAMPLE: 'ldap://dc1' }, defaultDomain: 'OTHER' },
        /defaultDomain "OTHER" must be one of the domains in domains \(EXAMPLE\)/,
      ],
      [
        { domains: { EXAMPLE: 'http://dc1' } },
        /not an LDAP URL: http:\/\/dc1 \(use ldap:\/\/host or ldaps:\/\/host\)/,
      ],
      [{ domains: ['ldap://dc1'] }, /domains must map each NetBIOS domain/],
    ];
    for (const [mistake, message] of mistakes) {
      assert.throws(
        () => domainController({ ...base, ...mistake } as never),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.code.startsWith('ERR_NTLM_CONFIG') &&
          message.test(error.message),
        JSON.stringify(mistake),
      );
    }
    // And the right values pass.
    domainController({
      ...base,
      maxConcurrentOperations: 4,
      downtimeMs: 5000,
      tls: { servername: 'dc1.example.test' },
      lookup,
    });
  });

  it('sends a NEGOTIATE to its domain, the default when none is named, the fallback when unknown', async () => {
    const [example, corp] = [await closedPortUrl(), await closedPortUrl()];
    const verifier = domainController({ domains: { EXAMPLE: example, CORP: corp }, fallbackDomain: 'CORP' });
    const triedUrl = async (domain: string) => {
      const error = await verifier.startHandshake(negotiateFrom(domain)).then(
        () => assert.fail('no DC listens'),
        (e: Error & { code?: string }) => e,
      );
      assert.equal(error.code, 'ERR_NTLM_DC_UNAVAILABLE');
      return error.message;
    };
    assert.match(await triedUrl(''), new RegExp(example.replace(/[.]/g, '\\.')));
    assert.match(await triedUrl('corp'), new RegExp(corp.replace(/[.]/g, '\\.')));
    const fallback = await triedUrl('TRUSTED');
    assert.match(fallback, /no domain controller of CORP/);
    assert.match(fallback, /all failed recently/, "the breaker remembers CORP's DC");
  });

  it('without a fallback, an unknown domain is refused as a logon, not an outage', async () => {
    const verifier = domainController({ domains: { EXAMPLE: await closedPortUrl() } });
    await assert.rejects(
      verifier.startHandshake(negotiateFrom('FOO')),
      (e: Error & { code?: string; statusCode?: number }) => {
        return e.code === 'ERR_NTLM_UNKNOWN_DOMAIN' && e.statusCode === 401;
      },
    );
  });
});
