// Every public factory checks its options when it is called (issue 10): each mistake is a
// ConfigurationError with a code for its kind, the option at fault, and a message saying what to give.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigurationError,
  createGateway,
  domainController,
  localDirectory,
  netlogon,
  ntlm,
  RedisStore,
} from '../../src/index.js';
import { testDirectory } from '../helpers/servers.js';

const verifier = testDirectory();
const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

/** Asserts `make` throws a ConfigurationError with this code, option and message. */
function refuses(make: () => unknown, code: string, option: string | undefined, message: RegExp): void {
  assert.throws(make, (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.equal(error.code, code);
    assert.equal(error.option, option);
    assert.match(error.message, message);
    return true;
  });
}

describe('options checked at construction, one code per mistake', () => {
  it('ntlm()', () => {
    refuses(() => ntlm({} as never), 'ERR_NTLM_CONFIG_MISSING', 'ntlm().verifier', /verifier is required/);
    refuses(
      () => ntlm({ verifier, maxPendingHandshakes: 0 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'ntlm().maxPendingHandshakes',
      /maxPendingHandshakes must be a positive integer, got 0/,
    );
    refuses(
      () => ntlm({ verifier, handshakeTimeoutMs: -5 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'ntlm().handshakeTimeoutMs',
      /got -5/,
    );
    refuses(
      () => ntlm({ verifier, extendedProtection: 'on' as never }),
      'ERR_NTLM_CONFIG_NOT_ONE_OF',
      'ntlm().extendedProtection',
      /"off", "allow", "require"/,
    );
    refuses(
      () => ntlm({ verifier, allowGroups: 'Engineering' as never }),
      'ERR_NTLM_CONFIG_NOT_A_LIST',
      'ntlm().allowGroups',
      /array of non-empty strings/,
    );
    refuses(
      () => ntlm({ verifier, onForbidden: 'forbidden.html' as never }),
      'ERR_NTLM_CONFIG_NOT_A_FUNCTION',
      'ntlm().onForbidden',
      /must be a function/,
    );
  });

  it('bearer options: bearer.expiresInSeconds: -1', () => {
    refuses(
      () => ntlm({ verifier, bearer: { secret: SECRET, expiresInSeconds: -1 } }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'ntlm().bearer.expiresInSeconds',
      /got -1/,
    );
  });

  it("domainController(): maxConcurrentOperations: 0, a negative timeout, downtimeMs: '30s'", () => {
    const domains = { EXAMPLE: 'ldap://127.0.0.1' };
    refuses(
      () => domainController({ domains, maxConcurrentOperations: 0 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'domainController().maxConcurrentOperations',
      /maxConcurrentOperations/,
    );
    refuses(
      () => domainController({ domains, operationTimeoutMs: -1 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'domainController().operationTimeoutMs',
      /milliseconds/,
    );
    refuses(
      () => domainController({ domains, downtimeMs: '30s' as never }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'domainController().downtimeMs',
      /got "30s"/,
    );
  });

  it('netlogon(), RedisStore and createGateway()', () => {
    refuses(
      () =>
        netlogon({
          domain: 'EXAMPLE',
          dcs: ['127.0.0.1'],
          machineAccount: 'WEB01$',
          machinePassword: 'x',
          callTimeoutMs: 0,
        }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'netlogon().callTimeoutMs',
      /callTimeoutMs/,
    );
    refuses(
      () => new RedisStore({ redis: 'redis://127.0.0.1:1', timeoutMs: 0 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'RedisStore.timeoutMs',
      /timeoutMs/,
    );
    refuses(
      () => createGateway({ upstream: 'http://127.0.0.1:1', auth: { verifier }, headerTimeoutMs: 0 }),
      'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER',
      'gateway.headerTimeoutMs',
      /headerTimeoutMs/,
    );
    refuses(
      () =>
        createGateway({
          upstream: 'http://127.0.0.1:1',
          auth: { verifier },
          operatorListen: { host: '127.0.0.1', port: 70_000 },
        }),
      'ERR_NTLM_CONFIG',
      'gateway.operatorListen',
      /operatorListen must be \{ host, port \}/,
    );
    refuses(
      () => createGateway({ upstream: 'http://127.0.0.1:1', mode: 'proxy' as never }),
      'ERR_NTLM_CONFIG_NOT_ONE_OF',
      'gateway.mode',
      /"header", "pass-through"/,
    );
    refuses(
      () =>
        createGateway({ upstream: 'http://127.0.0.1:1', auth: { verifier }, forwardToken: 'false' as never }),
      'ERR_NTLM_CONFIG',
      'gateway.forwardToken',
      /forwardToken must be true or false, got "false"/,
    );
    assert.throws(() => localDirectory({ domain: '', users: [] }), ConfigurationError);
  });
});

// Issue 19: a misspelt key used to be ignored without a word, and its default used instead.
describe('unknown option keys are refused, naming the key and the nearest known one', () => {
  const UNKNOWN = 'ERR_NTLM_CONFIG_UNKNOWN_OPTION';
  const netlogonOptions = { domain: 'EXAMPLE', machineAccount: 'WEB01$', machinePassword: 'x' };

  it('the five of issue 19, each at the call, before anything starts', () => {
    refuses(
      () => ntlm({ verifier, debgu: 1 } as never),
      UNKNOWN,
      'ntlm().debgu',
      /debgu; did you mean debug\?/,
    );
    refuses(
      () => domainController({ domains: { EXAMPLE: 'ldap://127.0.0.1' }, timeout: 500 } as never),
      UNKNOWN,
      'domainController().timeout',
      /unknown option timeout; did you mean connectTimeoutMs\?/,
    );
    refuses(
      () => netlogon({ ...netlogonOptions, dc: '127.0.0.1' } as never),
      UNKNOWN,
      'netlogon().dc',
      /unknown option dc; did you mean dcs\?/,
    );
    refuses(
      () =>
        createGateway({ upstream: 'http://127.0.0.1:1', auth: { verifier }, forwardGroup: true } as never),
      UNKNOWN,
      'gateway.forwardGroup',
      /unknown option forwardGroup; did you mean forwardGroups\?/,
    );
    refuses(
      () => ntlm({ verifier, bearer: { secret: SECRET, expiresIn: 60 } } as never),
      UNKNOWN,
      'ntlm().bearer.expiresIn',
      /unknown option bearer\.expiresIn; did you mean bearer\.expiresInSeconds\?/,
    );
  });

  it('nested options and the other factories too', () => {
    refuses(() => ntlm({ verfier: verifier } as never), UNKNOWN, 'ntlm().verfier', /did you mean verifier\?/);
    refuses(
      () => ntlm({ verifier, bearer: { secret: SECRET, cookie: { secur: false } } } as never),
      UNKNOWN,
      'ntlm().bearer.cookie.secur',
      /did you mean bearer\.cookie\.secure\?/,
    );
    refuses(
      () => ntlm({ verifier, bearer: { keys: [{ kid: 'a', algorithm: 'ES256', publickey: 'x' }] } } as never),
      UNKNOWN,
      'ntlm().bearer.keys[0].publickey',
      /did you mean bearer\.keys\[0\]\.publicKey\?/,
    );
    refuses(
      () => ntlm({ verifier, kerberos: { keytab: Buffer.alloc(0), allowRC4: true } } as never),
      UNKNOWN,
      'ntlm().kerberos.allowRC4',
      /did you mean kerberos\.allowRc4\?/,
    );
    refuses(
      () => ntlm({ verifier, metrics: { prefx: 'x_' } } as never),
      UNKNOWN,
      'ntlm().metrics.prefx',
      /did you mean metrics\.prefix\?/,
    );
    refuses(
      () => domainController({ domains: { EXAMPLE: 'ldap://127.0.0.1' }, cache: { ttl: 5 } } as never),
      UNKNOWN,
      'domainController().cache.ttl',
      /did you mean cache\.ttlSeconds\?/,
    );
    refuses(
      () =>
        domainController({
          domains: { EXAMPLE: 'ldap://127.0.0.1' },
          lookup: { url: 'ldaps://127.0.0.1', bindDn: 'svc', password: 'x' },
        } as never),
      UNKNOWN,
      'domainController().lookup.bindDn',
      /did you mean lookup\.bindDN\?/,
    );
    refuses(
      () =>
        localDirectory({
          domain: 'EXAMPLE',
          users: [{ username: 'a', password: 'x', group: ['G'] }],
        } as never),
      UNKNOWN,
      'localDirectory().users[0].group',
      /did you mean users\[0\]\.groups\?/,
    );
    refuses(
      () => new RedisStore({ redis: 'redis://127.0.0.1:1', timeout: 5 } as never),
      UNKNOWN,
      'RedisStore.timeout',
      /did you mean timeoutMs\?/,
    );
    refuses(
      () =>
        createGateway({
          upstream: 'http://127.0.0.1:1',
          mode: 'pass-through',
          pinning: { maxAge: 5 },
        } as never),
      UNKNOWN,
      'gateway.pinning.maxAge',
      /did you mean pinning\.maxAgeMs\?/,
    );
  });

  it('every key a type declares is accepted (the lists come from one place, checked by the compiler)', async () => {
    const auth = ntlm({
      verifier,
      usernameFormat: 'user',
      debug: 0,
      setUser: true,
      bearer: { secret: SECRET, expiresInSeconds: 60, cookie: { name: 'n', secure: false, sameSite: 'Lax' } },
      onUnauthorized: undefined,
    });
    await auth.close();
    await netlogon({ ...netlogonOptions, dcs: ['127.0.0.1'], dnsDomain: 'example.test' }).close();
  });
});
