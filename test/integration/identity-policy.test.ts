// The identity policy's defaults against the real Samba DC and KDC (issue 18 items 9 and 10):
// users of the configured domain log on by Netlogon and by Kerberos without any new option, and
// the computer account WEB01$ is refused by both unless allowComputerAccounts lets it in. The
// other-domain refusal needs a second KDC; test/unit/identity-policy.test.ts feeds it instead.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NtlmOptions, netlogon } from '../../src/index.js';
import { curlNtlm } from '../helpers/curl.js';
import { curlNegotiate, KerberosClientEnv } from '../helpers/kerberos.js';
import {
  KEYTAB,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaMissing,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { serveIdentity } from '../helpers/servers.js';

const missing = await sambaMissing();
if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);

const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';
const COMPUTER = `EXAMPLE\\${MACHINE_ACCOUNT}:${MACHINE_PASSWORD}`;

/**
 * Netlogon for NTLM (no dnsDomain given: the realm comes from the keytab alone) and Kerberos
 * from the keytab, as `ntlm-sso gateway --netlogon ... --keytab` sets them up.
 */
async function serve(options: Partial<NtlmOptions> = {}) {
  const verifier = netlogon({
    domain: 'EXAMPLE',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
  });
  const served = await serveIdentity({ verifier, kerberos: { keytab: KEYTAB }, ...options });
  // curl --negotiate asks for HTTP/<host>: the keytab's principal is HTTP/localhost.
  return { ...served, url: served.url.replace('127.0.0.1', 'localhost') };
}

describe('identity policy against the Samba DC and KDC', {
  skip: missing ? `skipped: ${missing}` : false,
}, () => {
  const alice = new KerberosClientEnv();
  const computer = new KerberosClientEnv();
  before(async () => {
    await startDc({ strict: true });
    await alice.kinit('alice@EXAMPLE.TEST', 'Alice-Passw0rd!');
    await computer.kinit(`${MACHINE_ACCOUNT}@EXAMPLE.TEST`, MACHINE_PASSWORD);
  });
  after(async () => {
    alice.remove();
    computer.remove();
    await stopDc();
  });

  it('by default the configured domain logs on: EXAMPLE\\alice by Netlogon, alice@EXAMPLE.TEST by Kerberos', async () => {
    const served = await serve({ allowUsers: ['alice'] });
    try {
      const byNetlogon = await curlNtlm(served.url, ALICE);
      assert.equal(byNetlogon.status, 200, byNetlogon.body);
      assert.equal(JSON.parse(byNetlogon.body).domain, 'EXAMPLE');
      const byKerberos = await curlNegotiate(served.url, alice.env);
      assert.equal(byKerberos.status, 200, byKerberos.stderr);
      const identity = JSON.parse(byKerberos.body);
      assert.equal(identity.mechanism, 'Kerberos');
      assert.equal(identity.domain, 'EXAMPLE');
      assert.equal(identity.realm, 'EXAMPLE.TEST');
    } finally {
      await served.close();
    }
  });

  it('WEB01$ logging on by Netlogon or by Kerberos: 401 ERR_NTLM_COMPUTER_ACCOUNT_REFUSED', async () => {
    const served = await serve();
    try {
      const byNetlogon = await curlNtlm(served.url, COMPUTER);
      assert.equal(byNetlogon.status, 401, byNetlogon.body);
      assert.equal(served.logger.codes().at(-1), 'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED');
      const byKerberos = await curlNegotiate(served.url, computer.env);
      assert.equal(byKerberos.status, 401, byKerberos.body);
      assert.equal(served.logger.codes().at(-1), 'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED');
    } finally {
      await served.close();
    }
  });

  it('allowComputerAccounts: true lets WEB01$ in by both', async () => {
    const served = await serve({ allowComputerAccounts: true });
    try {
      const byNetlogon = await curlNtlm(served.url, COMPUTER);
      assert.equal(byNetlogon.status, 200, byNetlogon.body);
      assert.equal(JSON.parse(byNetlogon.body).username, MACHINE_ACCOUNT);
      const byKerberos = await curlNegotiate(served.url, computer.env);
      assert.equal(byKerberos.status, 200, byKerberos.stderr);
      assert.equal(JSON.parse(byKerberos.body).username, MACHINE_ACCOUNT);
    } finally {
      await served.close();
    }
  });
});
