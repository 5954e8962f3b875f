// The demo process with NTLM_NETLOGON against the strict Samba DC (LDAP signing required): curl
// logs in through the demo's Netlogon secure channel. Where CI is set, a DC that cannot be
// started fails the run; elsewhere these tests report themselves skipped, with why.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { curlNtlm } from '../helpers/curl.js';
import { type DemoProcess, startDemo } from '../helpers/processes.js';
import {
  accountSid,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaSkip,
  startDc,
  stopDc,
} from '../helpers/samba.js';

const skip = await sambaSkip();

describe('demo app with NTLM_NETLOGON (strict Samba AD DC)', { skip }, () => {
  let demo: DemoProcess;
  let engineering: string;
  const secrets = mkdtempSync(join(tmpdir(), 'ntlm-sso-demo-'));
  before(async () => {
    await startDc({ strict: true });
    engineering = await accountSid('Engineering');
    const passwordFile = join(secrets, 'machine-password');
    writeFileSync(passwordFile, `${MACHINE_PASSWORD}\n`, { mode: 0o600 });
    demo = await startDemo({
      NTLM_NETLOGON: '127.0.0.1',
      NTLM_MACHINE_ACCOUNT: MACHINE_ACCOUNT,
      NTLM_MACHINE_PASSWORD_FILE: passwordFile,
      NTLM_DOMAIN: 'EXAMPLE',
      NTLM_DNS_DOMAIN: 'example.test',
      // Netlogon wins over the LDAP relay, which this strict DC would refuse for curl.
      NTLM_DC_URL: 'ldap://127.0.0.1',
    });
  });
  after(async () => {
    await demo?.stop();
    rmSync(secrets, { recursive: true, force: true });
    await stopDc();
  });

  it('curl --ntlm logs in as alice, with the SID of group Engineering', async () => {
    const reply = await curlNtlm(`${demo.url}/api/whoami`, 'EXAMPLE\\alice:Alice-Passw0rd!');
    assert.equal(reply.status, 200, reply.body);
    const who = JSON.parse(reply.body);
    assert.deepEqual([who.username, who.domain, who.displayName], ['alice', 'EXAMPLE', 'Alice']);
    assert.ok(who.groupSids.includes(engineering), `${engineering} in ${who.groupSids}`);
    assert.match(demo.output(), /users from EXAMPLE via Netlogon to 127\.0\.0\.1/);
  });

  it('a wrong password gets 401', async () => {
    const reply = await curlNtlm(`${demo.url}/api/whoami`, 'EXAMPLE\\alice:wrong-password');
    assert.equal(reply.status, 401);
  });
});
