// The Netlogon verifier against a real Samba AD DC that requires LDAP signing (strict), with real
// clients. Where CI is set, a DC that cannot be started fails the run; elsewhere these tests
// report themselves skipped, with why.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type NetlogonOptions, netlogon } from '../../src/index.js';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import type { Verifier } from '../../src/types.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { curlNtlm } from '../helpers/curl.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { pythonNtlmGet } from '../helpers/python.js';
import {
  accountSid,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaSkip,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { serveIdentity, silentTcpServer } from '../helpers/servers.js';

const skip = await sambaSkip();

const ALICE = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };
const DOMAIN_SID = /^S-1-5-21-\d+-\d+-\d+$/;

function options(overrides: Partial<NetlogonOptions> = {}): NetlogonOptions {
  return {
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
    ...overrides,
  };
}

/** One handshake straight through a verifier, with the test client: the identity or the error. */
async function logon(verifier: Verifier, credentials: { user: string; domain: string; password: string }) {
  const negotiateToken = type1();
  const pending = await verifier.startHandshake({
    negotiate: decodeNegotiate(negotiateToken),
    negotiateToken,
    signal: new AbortController().signal,
  });
  const authenticateToken = await type3(negotiateToken, pending.challengeToken, credentials);
  const authenticate = decodeAuthenticate(authenticateToken);
  return pending.complete({ authenticate, authenticateToken, ntlmV2: checkLogonPolicy(authenticate) });
}

function serve(verifier: Verifier) {
  return serveIdentity({ verifier });
}

type Served = Awaited<ReturnType<typeof serve>>;

describe('netlogon verifier (strict Samba AD DC)', { skip }, () => {
  let engineering: string;
  let served: Served;
  before(async () => {
    await startDc({ strict: true });
    engineering = await accountSid('Engineering');
    served = await serve(netlogon(options()));
  });
  after(async () => {
    await served?.close();
  });

  it('opens a secure channel and validates alice: identity and group SIDs from the DC', async () => {
    const verifier = netlogon(options());
    try {
      const identity = await logon(verifier, ALICE);
      assert.equal(identity.username, 'alice');
      assert.equal(identity.domain, 'EXAMPLE');
      assert.equal(identity.displayName, 'Alice');
      assert.equal(identity.userPrincipalName, 'alice@example.test');
      const domainSid = identity.sid!.replace(/-\d+$/, '');
      assert.match(domainSid, DOMAIN_SID);
      assert.ok(identity.groupSids!.includes(`${domainSid}-513`));
      assert.equal(identity.groupSids!.length >= 2, true);
    } finally {
      await verifier.close();
    }
  });

  // Issue 19: a machine account named without its `$` is completed (`web01` is `WEB01$`), as
  // `samba-tool computer create WEB01` and AD's Name field spell it; the DC sees the same account.
  it('machineAccount without its $ (web01) opens the channel of WEB01$ and validates alice', async () => {
    const verifier = netlogon(options({ machineAccount: MACHINE_ACCOUNT.replace(/\$$/, '').toLowerCase() }));
    try {
      assert.equal((await logon(verifier, ALICE)).username, 'alice');
    } finally {
      await verifier.close();
    }
  });

  it('curl --ntlm logs in as alice, with the group SID of Engineering', async () => {
    const reply = await curlNtlm(served.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
    assert.equal(reply.status, 200, reply.body);
    const identity = JSON.parse(reply.body);
    assert.equal(identity.username, 'alice');
    assert.equal(identity.domain, 'EXAMPLE');
    assert.ok(identity.groupSids.includes(engineering), `${engineering} in ${identity.groupSids}`);
  });

  it('python requests-ntlm (a signing client, no service account) logs in as alice', async () => {
    const reply = await pythonNtlmGet(served.url, 'EXAMPLE\\alice', 'Alice-Passw0rd!');
    assert.equal(reply.status, 200, reply.body);
    const identity = JSON.parse(reply.body);
    assert.equal(identity.username, 'alice');
    assert.ok(identity.groupSids.includes(engineering));
  });

  it('Chromium logs in as alice', async () => {
    const identity = await withChromiumPage(
      { username: 'EXAMPLE\\alice', password: 'Alice-Passw0rd!' },
      async (page) => {
        const response = await page.goto(served.url);
        assert.equal(response?.status(), 200);
        return JSON.parse(await response!.text());
      },
    );
    assert.equal(identity.username, 'alice');
    assert.equal(identity.userPrincipalName, 'alice@example.test');
    assert.ok(identity.groupSids.includes(engineering));
  });

  it('wrong password, unknown user, disabled and must-change users get 401 with their codes', async () => {
    const cases = [
      ['EXAMPLE\\alice:wrong-password', 'ERR_NTLM_LOGON_FAILED'],
      ['EXAMPLE\\nobody:Whatever-1!', 'ERR_NTLM_LOGON_FAILED'],
      ['EXAMPLE\\carol:Carol-Passw0rd!', 'ERR_NTLM_ACCOUNT_DISABLED'],
      ['EXAMPLE\\dave:Dave-Passw0rd!', 'ERR_NTLM_PASSWORD_EXPIRED'],
    ] as const;
    for (const [credentials, code] of cases) {
      const before = served.logger.codes().length;
      const reply = await curlNtlm(served.url, credentials);
      assert.equal(reply.status, 401, credentials);
      assert.deepEqual(served.logger.codes().slice(before), [code], credentials);
    }
  });

  it('a DC that does not answer is skipped for the next one, then by the breaker', async () => {
    const silent = await silentTcpServer();
    const verifier = netlogon(
      options({ dcs: [`127.0.0.1:${silent.port}`, '127.0.0.1'], callTimeoutMs: 1000 }),
    );
    try {
      const first = await logon(verifier, ALICE);
      assert.equal(first.username, 'alice');
      const started = Date.now();
      assert.equal((await logon(verifier, ALICE)).username, 'alice');
      assert.ok(Date.now() - started < 1000, 'the silent DC is not waited for again');
    } finally {
      await verifier.close();
      silent.close();
    }
  });

  it('refuses a wrong machine password with its own code (503)', async () => {
    const verifier = netlogon(options({ machinePassword: 'not-the-machine-password' }));
    try {
      await assert.rejects(logon(verifier, ALICE), {
        code: 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED',
        statusCode: 503,
      });
    } finally {
      await verifier.close();
    }
  });

  it('a stopped DC gives 503; after a restart the same verifier logs on again', async () => {
    const verifier = netlogon(options({ downtimeMs: 500, callTimeoutMs: 2000 }));
    const server = await serve(verifier);
    try {
      assert.equal((await curlNtlm(server.url, 'EXAMPLE\\alice:Alice-Passw0rd!')).status, 200);
      await stopDc();
      const down = await curlNtlm(server.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(down.status, 503);
      assert.ok(server.logger.codes().includes('ERR_NTLM_DC_UNAVAILABLE'), String(server.logger.codes()));
      await startDc({ strict: true });
      await sleep(600);
      const again = await curlNtlm(server.url, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(again.status, 200, again.body);
      assert.ok(JSON.parse(again.body).groupSids.includes(engineering));
    } finally {
      await server.close();
      await stopDc();
    }
  });
});
