// Basic's pieces without a DC (issue 22 §1, §2): the failure limits, the TLS rule, the offers of
// the registry, the credentials parser, the OWF encryption, and that no password reaches a log.
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { AuthenticationError, ServiceUnavailableError } from '../../src/errors.js';
import { localDirectory } from '../../src/index.js';
import { readBasicCredentials } from '../../src/mechanisms/basic-credentials.js';
import { FailureLimits } from '../../src/mechanisms/failure-limits.js';
import { buildRegistry } from '../../src/mechanisms/registry.js';
import { isSecureRequest } from '../../src/mechanisms/secure-request.js';
import { TrustedProxies } from '../../src/net/client-address.js';
import { encryptOwf } from '../../src/netlogon/interactive-logon.js';
import { serveIdentity } from '../helpers/servers.js';

const limits = { maxFailuresPerUser: 3, maxFailuresPerClient: 5, windowMs: 60_000, maxKeys: 100 };
const wrong = () => Promise.reject(new AuthenticationError('ERR_NTLM_LOGON_FAILED', 'wrong'));
const code = (error: unknown) => (error as { code?: string }).code;

describe('Basic failure limits', () => {
  it('per user: after 3 failures the DC is not asked again, whatever the spelling of the name', async () => {
    const failures = new FailureLimits(limits);
    let asked = 0;
    const check = () => {
      asked++;
      return wrong();
    };
    for (const name of ['alice', 'EXAMPLE\\alice', 'ALICE@example.test'])
      await assert.rejects(failures.run(name, '10.0.0.1', check), (e) => code(e) === 'ERR_NTLM_LOGON_FAILED');
    await assert.rejects(
      failures.run('Alice', '10.0.0.2', check),
      (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
    );
    assert.equal(asked, 3);
    // bob is not alice.
    await assert.rejects(failures.run('bob', '10.0.0.3', check), (e) => code(e) === 'ERR_NTLM_LOGON_FAILED');
  });

  it('a burst of concurrent attempts cannot all pass the per-user limit', async () => {
    const failures = new FailureLimits(limits);
    let asked = 0;
    const slow = () => {
      asked++;
      return new Promise<never>((_, reject) =>
        setImmediate(() => reject(new AuthenticationError('ERR_NTLM_LOGON_FAILED', 'wrong'))),
      );
    };
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => failures.run('alice', `10.0.1.${i}`, slow)),
    );
    assert.equal(asked, 3);
    assert.equal(
      results.filter((r) => r.status === 'rejected' && code(r.reason) === 'ERR_NTLM_TOO_MANY_FAILURES')
        .length,
      7,
    );
  });

  it('per client (IPv6 by its /64): 5 failures over several names, then refused; a right password does not clear it', async () => {
    const failures = new FailureLimits(limits);
    const ok = () => Promise.resolve('ok');
    for (let i = 0; i < 5; i++)
      await assert.rejects(
        failures.run(`user${i}`, `2001:db8::${i + 1}`, wrong),
        (e) => code(e) === 'ERR_NTLM_LOGON_FAILED',
      );
    assert.equal(await failures.run('mallory', '10.9.9.9', ok), 'ok');
    await assert.rejects(
      failures.run('mallory', '2001:db8::99', ok),
      (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
    );
  });

  it("a request refused for its client's count leaves the user's count as it was (it checked no password)", async () => {
    const failures = new FailureLimits(limits);
    let asked = 0;
    const check = () => {
      asked++;
      return wrong();
    };
    // Client A spends its 5 failures; 2 of them on alice.
    for (const name of ['alice', 'alice', 'x1', 'x2', 'x3'])
      await assert.rejects(failures.run(name, '10.2.0.1', check), (e) => code(e) === 'ERR_NTLM_LOGON_FAILED');
    // A's next attempt at alice is refused for A's count, and must not clear alice's 2 failures.
    await assert.rejects(
      failures.run('alice', '10.2.0.1', check),
      (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
    );
    // So from another client alice has 1 guess left before her own limit (3), not 3.
    await assert.rejects(
      failures.run('alice', '10.2.0.2', check),
      (e) => code(e) === 'ERR_NTLM_LOGON_FAILED',
    );
    await assert.rejects(
      failures.run('alice', '10.2.0.3', check),
      (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
    );
    assert.equal(asked, 6);
  });

  it("a flood of new names cannot push a user's failures out of the bounded table", async () => {
    const failures = new FailureLimits(limits); // maxKeys 100
    let asked = 0;
    const check = () => {
      asked++;
      return wrong();
    };
    for (let i = 0; i < 3; i++) await assert.rejects(failures.run('alice', `10.3.0.${i}`, check));
    // A client over its own limit sends 200 names: refused, and no user window made for them.
    for (let i = 0; i < 5; i++) await assert.rejects(failures.run(`x${i}`, '10.3.1.1', check));
    for (let i = 0; i < 200; i++)
      await assert.rejects(
        failures.run(`flood${i}`, '10.3.1.1', check),
        (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
      );
    // Clients within their limits log 150 other users on with right passwords: windows that hold
    // nothing, forgotten first when the table is full.
    for (let i = 0; i < 150; i++)
      assert.equal(await failures.run(`ok${i}`, `10.3.2.${i}`, () => Promise.resolve(i)), i);
    const before = asked;
    await assert.rejects(
      failures.run('alice', '10.3.3.1', check),
      (e) => code(e) === 'ERR_NTLM_TOO_MANY_FAILURES',
    );
    assert.equal(asked, before, "alice's failures were still counted: the DC was not asked");
  });

  it("a right password clears the user's count; a DC that did not answer (503) is no failure", async () => {
    const failures = new FailureLimits(limits);
    const down = () => Promise.reject(new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', 'down'));
    for (let i = 0; i < 5; i++) await assert.rejects(failures.run('alice', `10.1.0.${i}`, down));
    await assert.rejects(failures.run('alice', '10.1.1.1', wrong));
    await assert.rejects(failures.run('alice', '10.1.1.2', wrong));
    assert.equal(await failures.run('alice', '10.1.1.3', () => Promise.resolve(1)), 1);
    for (let i = 0; i < 3; i++)
      await assert.rejects(
        failures.run('alice', `10.1.2.${i}`, wrong),
        (e) => code(e) === 'ERR_NTLM_LOGON_FAILED',
      );
  });
});

describe('the TLS rule (isSecureRequest)', () => {
  const request = (remoteAddress: string, proto?: string, encrypted = false) =>
    ({
      socket: { remoteAddress, encrypted },
      headers: proto === undefined ? {} : { 'x-forwarded-proto': proto },
    }) as unknown as IncomingMessage;
  const trusted = new TrustedProxies(['10.0.0.5']);

  it('a TLS socket is secure; plain HTTP is not, whatever a client says', () => {
    assert.equal(isSecureRequest(request('192.0.2.1', undefined, true), trusted), true);
    assert.equal(isSecureRequest(request('192.0.2.1'), trusted), false);
    assert.equal(isSecureRequest(request('192.0.2.1', 'https'), trusted), false);
  });

  it('a trusted proxy: every X-Forwarded-Proto value must be https', () => {
    assert.equal(isSecureRequest(request('10.0.0.5', 'https'), trusted), true);
    assert.equal(isSecureRequest(request('::ffff:10.0.0.5', 'HTTPS, https'), trusted), true);
    assert.equal(isSecureRequest(request('10.0.0.5', 'https, http'), trusted), false);
    assert.equal(isSecureRequest(request('10.0.0.5', 'http'), trusted), false);
    assert.equal(isSecureRequest(request('10.0.0.5'), trusted), false);
  });
});

describe('the mechanism registry', () => {
  const verifier = localDirectory({ domain: 'EXAMPLE', users: [] });
  const base = {
    verifier,
    kerberos: undefined,
    extendedProtection: 'off' as const,
    servicePrincipalNames: [],
  };

  it('Basic last, over TLS only, each challenge a value of its own', () => {
    const registry = buildRegistry({ ...base, schemes: ['Negotiate', 'NTLM'], basic: { realm: 'EXAMPLE' } });
    assert.deepEqual(registry.offers(true), ['Negotiate', 'NTLM', 'Basic realm="EXAMPLE", charset="UTF-8"']);
    assert.deepEqual(registry.offers(false), ['Negotiate', 'NTLM']);
    assert.equal(registry.find('basic')?.loggableTokens, false);
  });

  it('without basic, Basic is no scheme of ours (the application may take it)', () => {
    const registry = buildRegistry({ ...base, schemes: ['NTLM'], basic: undefined });
    assert.equal(registry.find('Basic'), undefined);
    assert.deepEqual(registry.offers(true), ['NTLM']);
    // Negotiate is accepted (raw NTLMSSP) without being offered.
    assert.equal(registry.find('Negotiate')?.challenge, undefined);
  });

  it('basic with a verifier that cannot check passwords is a configuration error', () => {
    const ntlmOnly = { ...verifier, name: 'ntlm-only', startHandshake: verifier.startHandshake };
    assert.throws(
      () => buildRegistry({ ...base, verifier: ntlmOnly, schemes: ['NTLM'], basic: { realm: 'EXAMPLE' } }),
      /basic needs a keytab \(kerberos\) or a verifier that checks passwords/,
    );
  });
});

describe('Basic credentials and the Netlogon OWF', () => {
  it('reads DOMAIN\\user, UPNs and passwords with colons; refuses an empty user or password', () => {
    const read = (text: string) => readBasicCredentials(Buffer.from(text, 'utf8'));
    assert.deepEqual(read('EXAMPLE\\alice:pa:ss'), {
      domain: 'EXAMPLE',
      username: 'alice',
      password: 'pa:ss',
    });
    assert.deepEqual(read('alice@example.test:pässword'), {
      domain: '',
      username: 'alice@example.test',
      password: 'pässword',
    });
    for (const bad of ['alice', ':password', 'alice:', 'EXAMPLE\\:x'])
      assert.throws(
        () => read(bad),
        (e) => code(e) === 'ERR_NTLM_INVALID_HEADER',
        bad,
      );
  });

  it('each OWF is AES-128-CFB8 under the session key with a zero IV; an all-zero OWF stays zero', () => {
    const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const owf = Buffer.from('8846f7eaee8fb117ad06bdd830b7586c', 'hex');
    const sealed = encryptOwf(owf, key);
    assert.notDeepEqual(sealed, owf);
    const decipher = createDecipheriv('aes-128-cfb8', key, Buffer.alloc(16));
    assert.deepEqual(Buffer.concat([decipher.update(sealed), decipher.final()]), owf);
    assert.deepEqual(encryptOwf(Buffer.alloc(16), key), Buffer.alloc(16));
  });
});

describe('Basic and the identity policy', () => {
  it('the policy checked after every mechanism refuses a computer account that proved its password by Basic', async () => {
    const served = await serveIdentity({
      verifier: localDirectory({
        domain: 'EXAMPLE',
        users: [{ username: 'kiosk$', password: 'Kiosk-Passw0rd!' }],
      }),
      basic: true,
      trustedProxies: ['127.0.0.1'],
    });
    try {
      const token = Buffer.from('kiosk$:Kiosk-Passw0rd!').toString('base64');
      const res = await fetch(served.url, {
        headers: { Authorization: `Basic ${token}`, 'X-Forwarded-Proto': 'https' },
      });
      assert.equal(res.status, 401);
      assert.deepEqual(served.logger.codes(), ['ERR_NTLM_COMPUTER_ACCOUNT_REFUSED']);
    } finally {
      await served.close();
    }
  });
});

describe('Basic and the logs', () => {
  it('debug: 2 logs tokens, never a Basic one (it is the password)', async () => {
    const served = await serveIdentity({
      verifier: localDirectory({
        domain: 'EXAMPLE',
        users: [{ username: 'alice', password: 'Alice-Passw0rd!' }],
      }),
      basic: true,
      trustedProxies: ['127.0.0.1'],
      debug: 2,
    });
    try {
      const token = Buffer.from('alice:Alice-Passw0rd!').toString('base64');
      const res = await fetch(served.url, {
        headers: { Authorization: `Basic ${token}`, 'X-Forwarded-Proto': 'https' },
      });
      assert.equal(res.status, 200);
      const logged = JSON.stringify(served.logger.records);
      assert.ok(logged.includes('logon accepted'), logged);
      assert.ok(!logged.includes(token) && !logged.includes('Alice-Passw0rd!'), logged);
    } finally {
      await served.close();
    }
  });
});
