// Extended Protection over HTTPS (issue 11): the client signs the TLS channel it logs on over.
// Our own client with the right, a wrong or no binding; then real clients (Chromium, python
// requests-ntlm) under 'require'.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NtlmOptions, ntlm } from '../../src/index.js';
import { channelBindingsHash, tlsServerEndPoint } from '../../src/ntlm/extended-protection.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { pythonNtlmGet } from '../helpers/python.js';
import { ALICE, recordingLogger, testDirectory } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-epa-'));
const keyPath = join(dir, 'cert-key.pem');
const certPath = join(dir, 'cert.pem');

async function serveHttps(options: Partial<NtlmOptions>) {
  const logger = recordingLogger();
  const auth = ntlm({ verifier: testDirectory(), logger, ...options });
  const server = https.createServer(
    { key: readFileSync(keyPath), cert: readFileSync(certPath) },
    (req, res) => auth(req, res, () => res.end(JSON.stringify(req.ntlm))),
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://localhost:${(server.address() as AddressInfo).port}`,
    logger,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await auth.close();
    },
  };
}

describe('Extended Protection over HTTPS', () => {
  let bindings: Buffer;
  before(async () => {
    const { der } = await selfSignedCertificate(dir);
    bindings = channelBindingsHash(tlsServerEndPoint(der));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("'require': the right binding → 200; a wrong or missing one → 401 with its code", async () => {
    const t = await serveHttps({ extendedProtection: 'require' });
    try {
      const right = new NtlmHttpClient(t.url);
      assert.equal((await right.login('/', ALICE, { channelBindings: bindings })).status, 200);
      right.close();

      const wrong = new NtlmHttpClient(t.url);
      const relayed = Buffer.from(bindings);
      relayed[0]! ^= 0xff; // what a client bound to another TLS channel (a relay's) would sign
      const refused = await wrong.login('/', ALICE, { channelBindings: relayed });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers['www-authenticate'], 'NTLM');
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_CHANNEL_BINDING_MISMATCH');
      wrong.close();

      const none = new NtlmHttpClient(t.url);
      assert.equal((await none.login('/', ALICE)).status, 401);
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_CHANNEL_BINDING_MISMATCH');
      none.close();
    } finally {
      await t.close();
    }
  });

  it("'allow' lets a client without a binding in, never one with a wrong binding; 'off' checks nothing", async () => {
    const allow = await serveHttps({ extendedProtection: 'allow' });
    const relayed = Buffer.alloc(16, 7);
    try {
      const none = new NtlmHttpClient(allow.url);
      assert.equal((await none.login('/', ALICE)).status, 200);
      none.close();
      const wrong = new NtlmHttpClient(allow.url);
      assert.equal((await wrong.login('/', ALICE, { channelBindings: relayed })).status, 401);
      wrong.close();
    } finally {
      await allow.close();
    }
    const off = await serveHttps({});
    try {
      const wrong = new NtlmHttpClient(off.url);
      assert.equal((await wrong.login('/', ALICE, { channelBindings: relayed })).status, 200);
      wrong.close();
    } finally {
      await off.close();
    }
  });

  it("'require' with a target name: one of our SPNs → 200, another service's → 401", async () => {
    const t = await serveHttps({ extendedProtection: 'require', servicePrincipalNames: ['HTTP/localhost'] });
    try {
      const ours = new NtlmHttpClient(t.url);
      const options = { channelBindings: bindings, targetName: 'HTTP/localhost' };
      assert.equal((await ours.login('/', ALICE, options)).status, 200);
      ours.close();
      const theirs = new NtlmHttpClient(t.url);
      const elsewhere = { channelBindings: bindings, targetName: 'HTTP/intranet.example.test' };
      assert.equal((await theirs.login('/', ALICE, elsewhere)).status, 401);
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_TARGET_NAME_MISMATCH');
      theirs.close();
    } finally {
      await t.close();
    }
  });

  it("Chromium under 'require' with servicePrincipalNames ['HTTP/localhost']: its HTTP/localhost:<port> passes, another host's does not", async () => {
    const t = await serveHttps({ extendedProtection: 'require', servicePrincipalNames: ['HTTP/localhost'] });
    const visit = (url: string) =>
      withChromiumPage({ username: 'EXAMPLE\\alice', password: ALICE.password }, async (page) => {
        const response = await page.goto(`${url}/`);
        return { status: response?.status(), body: await response?.text() };
      });
    try {
      const port = new URL(t.url).port;
      const ours = await visit(t.url);
      assert.equal(ours.status, 200, `Chromium: ${ours.body}; log: ${JSON.stringify(t.logger.codes())}`);
      assert.equal(JSON.parse(ours.body!).username, 'alice');
      // The same server by address: Chromium signs HTTP/127.0.0.1:<port>, not one of our SPNs.
      const byAddress = await visit(`https://127.0.0.1:${port}`);
      assert.equal(byAddress.status, 401);
      assert.equal(t.logger.codes().at(-1), 'ERR_NTLM_TARGET_NAME_MISMATCH');
      const refusal = t.logger.records.at(-1)?.fields?.reason;
      assert.match(String(refusal), new RegExp(`HTTP/127\\.0\\.0\\.1:${port}`), 'Chromium names the port');
    } finally {
      await t.close();
    }
  });

  it("real clients under 'require': Chromium and python requests-ntlm bind their logon to our certificate", async () => {
    const t = await serveHttps({ extendedProtection: 'require' });
    try {
      const fromChromium = await withChromiumPage(
        { username: 'EXAMPLE\\alice', password: ALICE.password },
        async (page) => {
          const response = await page.goto(`${t.url}/`);
          return { status: response?.status(), body: await response?.text() };
        },
      );
      assert.equal(
        fromChromium.status,
        200,
        `Chromium: ${fromChromium.body}; log: ${JSON.stringify(t.logger.codes())}`,
      );
      assert.equal(JSON.parse(fromChromium.body!).username, 'alice');
      const fromPython = await pythonNtlmGet(`${t.url}/`, 'EXAMPLE\\alice', ALICE.password);
      assert.equal(
        fromPython.status,
        200,
        `python: ${fromPython.body}; log: ${JSON.stringify(t.logger.codes())}`,
      );
    } finally {
      await t.close();
    }
  });
});
