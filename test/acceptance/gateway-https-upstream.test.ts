// The gateway in front of an https:// upstream (header mode, undici's Pool): the upstream's
// certificate is checked against `upstreamTls.ca`, and one nobody vouched for is a 502.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createGateway, localDirectory } from '../../src/index.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { ALICE, recordingLogger } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

describe('gateway, https:// upstream', () => {
  let upstream: https.Server;
  let cert: Buffer;
  let origin: string;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ntlm-sso-upstream-tls-'));
    const tls = await selfSignedCertificate(dir);
    cert = Buffer.from(tls.pem);
    upstream = https.createServer({ cert, key: readFileSync(tls.key) }, (req, res) =>
      res.end(JSON.stringify({ user: req.headers['x-ntlm-username'], url: req.url })),
    );
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => upstream.close(resolve)));

  async function through(ca: Buffer | undefined) {
    const logger = recordingLogger();
    const gateway = createGateway({
      upstream: `${origin}/base`,
      upstreamTls: ca ? { ca } : undefined,
      auth: {
        verifier: localDirectory({
          domain: 'EXAMPLE',
          dnsDomain: 'example.test',
          users: [{ username: 'alice', password: ALICE.password }],
        }),
      },
      logger,
    });
    const { port } = await gateway.listen(0, '127.0.0.1');
    const client = new NtlmHttpClient(`http://127.0.0.1:${port}`);
    try {
      return { reply: await client.login('/page?x=1', ALICE), logger };
    } finally {
      client.close();
      await gateway.close();
    }
  }

  test('with the upstream CA: the request arrives, path prefixed, with the verified user', async () => {
    const { reply } = await through(cert);
    assert.equal(reply.status, 200);
    assert.deepEqual(JSON.parse(reply.body), { user: 'alice', url: '/base/page?x=1' });
  });

  test('without it: 502, and the log says why', async () => {
    const { reply, logger } = await through(undefined);
    assert.equal(reply.status, 502);
    const line = logger.records.find((record) => record.message === 'upstream request failed');
    assert.equal(line?.fields?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });
});
