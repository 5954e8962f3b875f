// The identity policy (issue 18 items 9 and 10): one check, after any mechanism, of who may log on
// at all: anonymous, Guest, computer accounts, users of a domain nobody configured. A Kerberos
// PAC from another realm needs a second KDC; here a verifier hands the authenticator such an
// identity, as a PAC for OTHERDM\alice would. test/integration/identity-policy.test.ts shows the
// defaults against the real DC and KDC.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError, isNtlmError, localDirectory, type NtlmIdentity, ntlm } from '../../src/index.js';
import { IdentityPolicy } from '../../src/session/identity-policy.js';
import type { NtlmOptions, Verifier } from '../../src/types.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { ALICE, listen, recordingLogger, testDirectory } from '../helpers/servers.js';

const DOMAIN_SID = 'S-1-5-21-1-2-3';
const alice: NtlmIdentity = {
  username: 'alice',
  domain: 'EXAMPLE',
  workstation: '',
  sid: `${DOMAIN_SID}-1104`,
};

function policy(options: Partial<ConstructorParameters<typeof IdentityPolicy>[0]> = {}) {
  return new IdentityPolicy({
    ownDomains: ['EXAMPLE', 'example.test'],
    trustedDomains: [],
    allowComputerAccounts: false,
    ...options,
  });
}

/** The code `check` refuses `identity` with, or 'accepted'. */
function verdict(identityPolicy: IdentityPolicy, identity: NtlmIdentity): string {
  try {
    identityPolicy.check(identity);
    return 'accepted';
  } catch (error) {
    assert.ok(isNtlmError(error));
    assert.equal(error.statusCode, 401);
    return error.code;
  }
}

/** testDirectory(), with every identity it proves relabelled as `relabel` makes it (what a trust's PAC would say). */
function relabelling(relabel: (identity: NtlmIdentity) => NtlmIdentity): Verifier {
  const directory = testDirectory();
  return {
    name: 'relabelling',
    domains: directory.domains,
    async startHandshake(start) {
      const pending = await directory.startHandshake(start);
      return { ...pending, complete: async (finish) => relabel(await pending.complete(finish)) };
    },
  };
}

async function serve(options: Partial<NtlmOptions>) {
  const logger = recordingLogger();
  const auth = ntlm({ verifier: testDirectory(), logger, ...options });
  const served = await listen(
    (req, res) => auth(req, res, () => res.end(`${req.ntlm!.domain}\\${req.ntlm!.username}`)),
    () => auth.close(),
  );
  return { ...served, logger };
}

async function logonAs(options: Partial<NtlmOptions>) {
  const served = await serve(options);
  const client = new NtlmHttpClient(served.url);
  try {
    const reply = await client.login('/', ALICE);
    return { status: reply.status, body: reply.body, code: served.logger.codes().at(-1) };
  } finally {
    client.close();
    await served.close();
  }
}

const asOtherDomain = relabelling((identity) => ({ ...identity, domain: 'OTHERDM' }));

describe('identity policy', () => {
  it('accepts a user of a configured domain, by NetBIOS or DNS name, in any case', () => {
    assert.equal(verdict(policy(), alice), 'accepted');
    assert.equal(verdict(policy(), { ...alice, domain: 'example', realm: 'EXAMPLE.TEST' }), 'accepted');
  });

  it('OTHERDM\\alice: 401 ERR_NTLM_UNKNOWN_DOMAIN by default; accepted once OTHERDM is in trustedDomains', () => {
    const otherAlice = { ...alice, domain: 'OTHERDM' };
    assert.equal(verdict(policy(), otherAlice), 'ERR_NTLM_UNKNOWN_DOMAIN');
    assert.equal(verdict(policy({ trustedDomains: ['otherdm'] }), otherAlice), 'accepted');
  });

  it('a Kerberos identity from a realm nobody configured is refused, even with our NetBIOS name in its PAC', () => {
    assert.equal(verdict(policy(), { ...alice, realm: 'OTHER.TEST' }), 'ERR_NTLM_UNKNOWN_DOMAIN');
    assert.equal(
      verdict(policy({ trustedDomains: ['OTHERDM', 'other.test'] }), {
        ...alice,
        domain: 'OTHERDM',
        realm: 'OTHER.TEST',
      }),
      'accepted',
    );
  });

  it('WEB01$: 401 ERR_NTLM_COMPUTER_ACCOUNT_REFUSED unless allowComputerAccounts', () => {
    const computer = { ...alice, username: 'WEB01$' };
    assert.equal(verdict(policy(), computer), 'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED');
    assert.equal(verdict(policy({ allowComputerAccounts: true }), computer), 'accepted');
  });

  it('anonymous and Guest (by RID, whatever its name) are refused', () => {
    assert.equal(verdict(policy(), { ...alice, username: '' }), 'ERR_NTLM_ANONYMOUS_REFUSED');
    assert.equal(verdict(policy(), { ...alice, sid: 'S-1-5-7' }), 'ERR_NTLM_ANONYMOUS_REFUSED');
    assert.equal(
      verdict(policy(), { ...alice, username: 'visitor', sid: `${DOMAIN_SID}-501` }),
      'ERR_NTLM_GUEST_REFUSED',
    );
    assert.equal(verdict(policy(), { ...alice, sid: `${DOMAIN_SID}-1501` }), 'accepted');
  });
});

describe('identity policy in the authenticator', () => {
  it('a verifier that proves OTHERDM\\alice: 401 by default, even with allowUsers: [alice]', async () => {
    const reply = await logonAs({ verifier: asOtherDomain, allowUsers: ['alice'] });
    assert.equal(reply.status, 401, reply.body);
    assert.equal(reply.code, 'ERR_NTLM_UNKNOWN_DOMAIN');
  });

  it('OTHERDM trusted: a bare "alice" in allowUsers still means EXAMPLE\\alice (403); OTHERDM\\alice names her', async () => {
    const trusted = { verifier: asOtherDomain, trustedDomains: ['OTHERDM'] };
    assert.equal((await logonAs({ ...trusted, allowUsers: ['alice'] })).status, 403);
    const named = await logonAs({ ...trusted, allowUsers: ['otherdm\\ALICE'] });
    assert.equal(named.status, 200);
    assert.equal(named.body, 'OTHERDM\\alice');
    assert.equal((await logonAs({ ...trusted })).status, 200, 'no allowUsers: every accepted user');
    assert.equal((await logonAs({ allowUsers: ['alice'] })).status, 200, 'EXAMPLE\\alice is alice');
  });

  it('a computer account from any verifier: 401, and 200 with allowComputerAccounts', async () => {
    const asComputer = relabelling((identity) => ({ ...identity, username: 'WEB01$' }));
    const refused = await logonAs({ verifier: asComputer });
    assert.equal(refused.status, 401);
    assert.equal(refused.code, 'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED');
    assert.equal((await logonAs({ verifier: asComputer, allowComputerAccounts: true })).status, 200);
  });

  it('a verifier that names no domain is refused at start-up, with what to give', () => {
    const directory = localDirectory({ domain: 'EXAMPLE', users: [] });
    const nameless: Verifier = { name: 'custom', startHandshake: (start) => directory.startHandshake(start) };
    assert.throws(
      () => ntlm({ verifier: nameless }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        error.code === 'ERR_NTLM_CONFIG_MISSING' &&
        /verifier\.domains/.test(error.message),
    );
    assert.throws(
      () => ntlm({ verifier: testDirectory(), trustedDomains: 'OTHER' as never }),
      ConfigurationError,
    );
    assert.throws(
      () => ntlm({ verifier: testDirectory(), allowComputerAccounts: 'yes' as never }),
      ConfigurationError,
    );
  });
});
