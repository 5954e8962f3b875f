// The Fastify plugin and the Koa middleware, each started from its README example
// (demo-app/fastify.ts, demo-app/koa.ts), with real NTLM clients: curl --ntlm and headless Chromium.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serveFastify } from '../../demo-app/fastify.js';
import { serveKoa } from '../../demo-app/koa.js';
import type { NtlmOptions } from '../../src/index.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { curl, curlBearerToken, curlStatusWith } from '../helpers/curl.js';
import { recordingLogger, testDirectory } from '../helpers/servers.js';

interface Running {
  url: string;
  close(): Promise<void>;
}

const ADAPTERS: Record<string, (options: NtlmOptions) => Promise<Running>> = {
  fastify: async (options) => {
    const app = await serveFastify(options, 0);
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  koa: async (options) => {
    const server = serveKoa(options, 0);
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
};

const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';

for (const [name, start] of Object.entries(ADAPTERS)) {
  describe(`ntlm-sso/${name} with real NTLM clients`, () => {
    let running: Running;
    let closed = false;
    const logger = recordingLogger();
    before(async () => {
      const verifier = testDirectory();
      const close = verifier.close?.bind(verifier);
      verifier.close = async () => {
        closed = true;
        await close?.();
      };
      running = await start({
        verifier,
        logger,
        bearer: { secret: 'x'.repeat(32), cookie: { secure: false } },
      });
    });
    after(async () => {
      await running.close();
      assert.ok(closed, 'closing the server closes the verifier');
    });

    it('curl --ntlm: alice gets her identity over one keep-alive connection', async () => {
      const { stdout, stderr } = await curl(['--ntlm', '-u', ALICE, `${running.url}/whoami`]);
      const seen = JSON.parse(stdout);
      assert.equal(seen.ntlm.username, 'alice');
      assert.equal(seen.ntlm.domain, 'EXAMPLE');
      assert.equal(seen.ntlm.scheme, 'NTLM');
      assert.deepEqual(seen.ntlm.groups, ['Engineering']);
      assert.equal(seen.headers['x-ntlm-username'], 'alice');
      assert.equal(seen.headers['x-ntlm-domain'], 'EXAMPLE');
      assert.equal(stderr.match(/Connected to/g)?.length, 1, 'exactly one TCP connection');
      assert.match(stderr, /< HTTP\/1\.1 401[\s\S]*< HTTP\/1\.1 200/);
      assert.match(stderr, /< access-control-expose-headers: Authorization/i);
    });

    it('curl --ntlm: a wrong password gets 401 with a fresh challenge', async () => {
      const { stdout, stderr } = await curl([
        '--ntlm',
        '-u',
        'EXAMPLE\\alice:not-her-password',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${running.url}/whoami`,
      ]);
      assert.equal(stdout, '401');
      const challenges = stderr.match(/< WWW-Authenticate: .*/gi) ?? [];
      assert.match(
        challenges.at(-1) ?? '',
        /^< WWW-Authenticate: NTLM\r?$/i,
        'the refusal carries a fresh challenge',
      );
      assert.ok(logger.codes().includes('ERR_NTLM_LOGON_FAILED'), 'refused as a logon failure, not a 500');
    });

    it('curl --ntlm: X-Ntlm-Username and X_Ntlm_Username from the client never reach the handler', async () => {
      const { stdout } = await curl([
        '--ntlm',
        '-u',
        ALICE,
        '-H',
        'X-Ntlm-Username: admin',
        '-H',
        'X_Ntlm_Username: admin',
        '-H',
        'X-Ntlm-Domain: CORP',
        `${running.url}/whoami`,
      ]);
      const seen = JSON.parse(stdout);
      const identityHeaders = Object.fromEntries(
        Object.entries(seen.headers).filter(([header]) => /^x[-_]ntlm[-_]/i.test(header)),
      );
      assert.deepEqual(identityHeaders, { 'x-ntlm-username': 'alice', 'x-ntlm-domain': 'EXAMPLE' });
      assert.equal(seen.ntlm.username, 'alice');
    });

    it('curl: unauthenticated, even a spoofed header gets only a challenge', async () => {
      const { stdout, stderr } = await curl([
        '-H',
        'X-Ntlm-Username: admin',
        '-w',
        '\n%{http_code}',
        `${running.url}/whoami`,
      ]);
      assert.equal(stdout.split('\n').pop(), '401');
      assert.match(stderr, /< WWW-Authenticate: NTLM\r?\n/i);
    });

    it('curl: the Bearer token from the completing response works on a new connection, until logout', async () => {
      const token = await curlBearerToken(`${running.url}/whoami`, ALICE);
      assert.ok(token, 'the 200 carries Authorization: Bearer');
      const { stdout, stderr } = await curl(['-H', `Authorization: ${token}`, `${running.url}/whoami`]);
      assert.equal(stderr.match(/Connected to/g)?.length, 1);
      const seen = JSON.parse(stdout);
      assert.deepEqual([seen.ntlm.username, seen.ntlm.scheme], ['alice', 'Bearer']);
      const logout = await curl(['-X', 'POST', '-H', `Authorization: ${token}`, `${running.url}/logout`]);
      assert.equal(logout.stdout, 'Logged out\n');
      assert.equal(await curlStatusWith(`${running.url}/whoami`, token), 401);
    });

    it('curl: the token cookie set on the completing response works, and logout clears and revokes it', async () => {
      const { stderr } = await curl(['--ntlm', '-u', ALICE, '-o', '/dev/null', `${running.url}/whoami`]);
      const cookie = /< Set-Cookie: (ntlm_sso_token=[^;]+)/i.exec(stderr)?.[1];
      assert.ok(cookie, 'the 200 sets the token cookie');
      assert.equal(stderr.match(/< Set-Cookie:/gi)?.length, 1, 'on the completing 200 only, not on the 401');
      const seen = JSON.parse((await curl(['-b', cookie, `${running.url}/whoami`])).stdout);
      assert.deepEqual([seen.ntlm.username, seen.ntlm.scheme], ['alice', 'Bearer']);
      const logout = await curl(['-X', 'POST', '-b', cookie, `${running.url}/logout`]);
      assert.match(logout.stderr, /< Set-Cookie: ntlm_sso_token=;.*Max-Age=0/i);
      const afterLogout = await curl([
        '-b',
        cookie,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        `${running.url}/whoami`,
      ]);
      assert.equal(afterLogout.stdout, '401');
    });

    it('curl: a malformed token gets 400 with its code only', async () => {
      for (const value of ['NTLM !!!notbase64', 'NTLM AAAA']) {
        const { stdout } = await curl([
          '-H',
          `Authorization: ${value}`,
          '-w',
          '\n%{http_code}',
          `${running.url}/whoami`,
        ]);
        const lines = stdout.split('\n');
        assert.equal(lines.pop(), '400', value);
        assert.match(lines.join('\n'), /^Bad authentication token \(ERR_NTLM_[A-Z_]+\)\n$/, value);
      }
    });

    it('headless Chromium: logs in as alice', async () => {
      await withChromiumPage({ username: 'EXAMPLE\\alice', password: 'Alice-Passw0rd!' }, async (page) => {
        const reply = await page.goto(`${running.url}/whoami`);
        assert.equal(reply?.status(), 200);
        const seen = await reply!.json();
        assert.deepEqual([seen.ntlm.username, seen.ntlm.scheme], ['alice', 'NTLM']);
      });
    });
  });
}

describe('the README examples', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const file of ['fastify.ts', 'koa.ts']) {
    it(`shows demo-app/${file}, the code these tests run, as it is`, () => {
      const source = readFileSync(new URL(`../../demo-app/${file}`, import.meta.url), 'utf8');
      assert.ok(readme.includes(`\`\`\`ts\n${source}\`\`\``), `README.md has demo-app/${file} verbatim`);
    });
  }
});
