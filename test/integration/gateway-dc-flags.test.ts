// The gateway's flags for domain controllers, against the real Samba DC: --netlogon (issue 11)
// on a DC that requires LDAP signing, with curl --ntlm; --dc-servername for a lookup account
// reached over ldaps:// by address (issue 10: this was a "500 Internal gateway error").
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { startGateway } from '../helpers/processes.js';
import { pythonNtlmGet } from '../helpers/python.js';
import {
  ADMIN_PASSWORD,
  DC_DIR,
  DC_URL,
  netlogonGatewayFlags,
  sambaSkip,
  startDc,
  stopDc,
} from '../helpers/samba.js';

const skip = await sambaSkip();

const certificateName = () =>
  /(?:^|\n)CN=([^\n]+)/.exec(
    new X509Certificate(readFileSync(`${DC_DIR}/private/tls/cert.pem`)).subject,
  )![1]!;

describe('gateway --netlogon and --dc-servername (Samba AD DC)', { skip }, () => {
  before(() => startDc({ strict: true }));
  after(() => stopDc());

  it('--netlogon on a DC that requires LDAP signing: curl --ntlm logs in, the upstream sees alice', async () => {
    const upstream = await startEchoUpstream();
    const gateway = await startGateway(
      ['--upstream', upstream.url, ...netlogonGatewayFlags(), '--forward-groups', '--forward-token'],
      { NTLM_SSO_JWT_SECRET: 'a-test-secret-of-at-least-32-bytes!!' },
    );
    try {
      assert.match(gateway.output(), /EXAMPLE via Netlogon \(127\.0\.0\.1\) as WEB01\$/);
      const reply = await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(reply.status, 200, reply.body);
      const { headers } = JSON.parse(reply.body);
      assert.equal(headers['x-ntlm-username'], 'alice');
      assert.equal(headers['x-ntlm-domain'], 'EXAMPLE');
      // Netlogon's answer carries group SIDs; the machine account names them through LSA
      // (LsarLookupSids3), so X-Ntlm-Groups has names on the first logon. The Bearer token the
      // upstream gets (--forward-token) names alice and her SID.
      assert.ok(
        String(headers['x-ntlm-groups']).split(',').includes('Engineering'),
        headers['x-ntlm-groups'],
      );
      const claims = JSON.parse(
        Buffer.from(String(headers['x-ntlm-token']).split('.')[1]!, 'base64url').toString(),
      );
      assert.equal(claims.username, 'alice');
      assert.match(claims.sid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
      assert.equal((await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\alice:wrong')).status, 401);
      // python requests-ntlm (a signing client) needs no lookup account with Netlogon.
      const python = await pythonNtlmGet(`${gateway.url}/`, 'EXAMPLE\\bob', 'Bob-Passw0rd!');
      assert.equal(python.status, 200, python.body);
      assert.equal(JSON.parse(python.body).headers['x-ntlm-username'], 'bob');
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });

  it('--lookup-url ldaps:// by address: 503 with its code without --dc-servername, 200 with it', async () => {
    const upstream = await startEchoUpstream();
    const args = [
      '--upstream',
      upstream.url,
      '--dc',
      DC_URL,
      '--domain',
      'EXAMPLE',
      '--dc-ca',
      `${DC_DIR}/private/tls/ca.pem`,
      '--lookup-url',
      'ldaps://127.0.0.1',
      '--lookup-user',
      'Administrator@example.test',
    ];
    const env = { NTLM_SSO_LOOKUP_PASSWORD: ADMIN_PASSWORD };
    const without = await startGateway(args, env);
    try {
      const reply = await pythonNtlmGet(`${without.url}/`, 'EXAMPLE\\alice', 'Alice-Passw0rd!');
      assert.equal(reply.status, 503, reply.body);
      assert.match(reply.body, /ERR_NTLM_LOOKUP_UNAVAILABLE/);
    } finally {
      await without.stop();
    }
    const withName = await startGateway([...args, '--dc-servername', certificateName()], env);
    try {
      const reply = await pythonNtlmGet(`${withName.url}/`, 'EXAMPLE\\alice', 'Alice-Passw0rd!');
      assert.equal(reply.status, 200, reply.body);
      const { headers } = JSON.parse(reply.body);
      assert.equal(headers['x-ntlm-username'], 'alice');
    } finally {
      await withName.stop();
      await upstream.close();
    }
  });
});
