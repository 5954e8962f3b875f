// The Fastify plugin and the Koa middleware, each started from its README example
// (demo-app/fastify.ts, demo-app/koa.ts), with real NTLM clients: curl --ntlm and headless Chromium.
// Then what Express apps have (issue 19): refusal pages for every 401, 403 and 503, setUser,
// Fastify's own logger and hooks, readiness and metrics.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyRequest } from 'fastify';
import Koa from 'koa';
import { serveFastify } from '../../demo-app/fastify.js';
import { serveKoa } from '../../demo-app/koa.js';
import { ntlmPlugin } from '../../src/fastify/index.js';
import { domainController, type NtlmOptions, type NtlmRequestInfo } from '../../src/index.js';
import { ntlm as koaNtlm } from '../../src/koa/index.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { curl, curlBearerToken, curlStatusWith } from '../helpers/curl.js';
import { recordingLogger, testDirectory } from '../helpers/servers.js';

interface Running {
  url: string;
  close(): Promise<void>;
}

/** ntlm()'s options without the refusal handlers, whose signature is each framework's own. */
type CommonOptions = Omit<NtlmOptions, 'onUnauthorized' | 'onForbidden' | 'onUnavailable'>;

const ADAPTERS: Record<string, (options: CommonOptions) => Promise<Running>> = {
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
        metrics: true,
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

    it('readiness and metrics answer without a logon, as the gateway does', async () => {
      const ready = await curl(['-w', '\n%{http_code}', `${running.url}/.ntlm-sso/ready`]);
      const [body, status] = ready.stdout.split('\n');
      assert.equal(status, '200');
      assert.deepEqual(JSON.parse(body!), { status: 'ready', checks: [] });
      assert.match(ready.stderr, /< Cache-Control: no-store/i);
      await curl(['--ntlm', '-u', ALICE, '-o', '/dev/null', `${running.url}/whoami`]);
      const metrics = await curl(['-w', '\n%{http_code}', `${running.url}/.ntlm-sso/metrics`]);
      assert.equal(metrics.stdout.split('\n').pop(), '200');
      assert.match(metrics.stdout, /^ntlm_sso_logons_total\{mechanism="NTLM",result="success"\} [1-9]/m);
      assert.match(metrics.stderr, /< Content-Type: text\/plain; version=0\.0\.4/i);
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

/** An app with refusal pages, as an application would write them in each framework. */
interface PagesApp extends Running {
  /** Every call of a refusal handler, in order. */
  readonly calls: { status: number; code?: string | undefined }[];
  /** The status of every response, as the app's own hook (Fastify onResponse, an outer Koa middleware) saw it. */
  readonly seen: number[];
  readonly logger: ReturnType<typeof recordingLogger>;
}

type PagesStart = (options: Partial<CommonOptions>, throwing?: boolean) => Promise<PagesApp>;

const TITLES: Record<number, string> = { 401: 'Please sign in', 403: 'Not for you', 503: 'Try again later' };
const page = (refusal: { status: number; code?: string | undefined }) =>
  `<h1>${TITLES[refusal.status]}</h1><p>${refusal.status} ${refusal.code ?? ''}</p>`;

const WITH_PAGES: Record<string, PagesStart> = {
  fastify: async (options, throwing = false) => {
    const calls: PagesApp['calls'] = [];
    const seen: number[] = [];
    const logger = recordingLogger();
    const app = Fastify();
    app.addHook('onResponse', async (_request, reply) => {
      seen.push(reply.statusCode);
    });
    const handler = (
      _request: FastifyRequest,
      reply: { type(type: string): unknown },
      refusal: PagesApp['calls'][number],
    ) => {
      calls.push(refusal);
      if (throwing) throw new Error('the template is missing');
      reply.type('text/html; charset=utf-8');
      return page(refusal);
    };
    await app.register(ntlmPlugin, {
      verifier: testDirectory(),
      logger,
      ...options,
      onUnauthorized: handler,
      onForbidden: handler,
      onUnavailable: handler,
    });
    app.get('/ready', { config: { ntlm: false } }, app.ntlm.readyHandler);
    app.get('/whoami', async (request) => ({
      ntlm: request.ntlm,
      user: (request as FastifyRequest & { user?: NtlmRequestInfo }).user ?? null,
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, calls, seen, logger, close: () => app.close() };
  },
  koa: async (options, throwing = false) => {
    const calls: PagesApp['calls'] = [];
    const seen: number[] = [];
    const logger = recordingLogger();
    const auth = koaNtlm({
      verifier: testDirectory(),
      logger,
      ...options,
      ...Object.fromEntries(
        ['onUnauthorized', 'onForbidden', 'onUnavailable'].map((name) => [
          name,
          (ctx: Koa.Context, refusal: PagesApp['calls'][number]) => {
            calls.push(refusal);
            if (throwing) throw new Error('the template is missing');
            ctx.type = 'html';
            ctx.body = page(refusal);
          },
        ]),
      ),
    });
    const app = new Koa();
    app.use(async (ctx, next) => {
      await next();
      seen.push(ctx.status);
    });
    app.use((ctx, next) => (ctx.path === '/ready' ? auth.readyHandler(ctx, next) : next()));
    app.use(auth);
    app.use((ctx) => {
      ctx.body = { ntlm: ctx.state.ntlm, user: ctx.state.user ?? null };
    });
    const server = app.listen(0, '127.0.0.1');
    server.keepAliveTimeout = 60_000;
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      calls,
      seen,
      logger,
      close: async () => {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
        await auth.close();
      },
    };
  },
};

/** One curl request: status, body, and the exchange (-v) for headers. */
async function fetchWith(args: string[]): Promise<{ status: number; body: string; exchange: string }> {
  const { stdout, stderr } = await curl([...args, '-w', '\n%{http_code}']);
  const lines = stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n'), exchange: stderr };
}

for (const [name, start] of Object.entries(WITH_PAGES)) {
  describe(`ntlm-sso/${name} behaves like the Express middleware (issue 19)`, () => {
    it('onUnauthorized writes every 401 it sends, the first without credentials included; status and WWW-Authenticate stay ours', async () => {
      const t = await start({});
      try {
        const first = await fetchWith([`${t.url}/whoami`]);
        assert.equal(first.status, 401);
        assert.equal(first.body, '<h1>Please sign in</h1><p>401 </p>');
        assert.match(first.exchange, /< WWW-Authenticate: NTLM\r?\n/i);
        assert.match(first.exchange, /< Content-Type: text\/html/i);

        const wrong = await fetchWith(['--ntlm', '-u', 'EXAMPLE\\alice:not-her-password', `${t.url}/whoami`]);
        assert.equal(wrong.status, 401);
        assert.equal(wrong.body, '<h1>Please sign in</h1><p>401 ERR_NTLM_LOGON_FAILED</p>');
        const challenges = wrong.exchange.match(/< WWW-Authenticate: .*/gi) ?? [];
        assert.match(challenges[0] ?? '', /^< WWW-Authenticate: NTLM TlRMTVNTUAACAAAA/i, 'the handshake leg');
        assert.match(
          challenges.at(-1) ?? '',
          /^< WWW-Authenticate: NTLM\r?$/i,
          'a fresh challenge at the end',
        );

        const sent401 = (first.exchange + wrong.exchange).match(/< HTTP\/1\.1 401/g)?.length;
        assert.equal(sent401, 3, 'no credentials, the handshake leg, the refused logon');
        assert.deepEqual(
          t.calls.map((call) => [call.status, call.code]),
          [
            [401, undefined],
            [401, undefined],
            [401, 'ERR_NTLM_LOGON_FAILED'],
          ],
        );
        assert.deepEqual(t.seen, [401, 401, 401], 'the app’s own hook saw every refusal');
      } finally {
        await t.close();
      }
    });

    it('onForbidden writes the 403 of a user outside allowUsers', async () => {
      const t = await start({ allowUsers: ['bob'] });
      try {
        const refused = await fetchWith(['--ntlm', '-u', ALICE, `${t.url}/whoami`]);
        assert.equal(refused.status, 403);
        assert.equal(refused.body, '<h1>Not for you</h1><p>403 </p>');
        assert.deepEqual(t.calls.at(-1), { status: 403, code: undefined });
        assert.equal(t.seen.at(-1), 403);
      } finally {
        await t.close();
      }
    });

    it('onUnavailable writes the 503 when no DC answers, and readiness says 503', async () => {
      const verifier = domainController({
        domains: { EXAMPLE: 'ldap://127.0.0.1:1' },
        connectTimeoutMs: 500,
      });
      const t = await start({ verifier });
      try {
        const refused = await fetchWith(['--ntlm', '-u', ALICE, `${t.url}/whoami`]);
        assert.equal(refused.status, 503);
        assert.equal(refused.body, '<h1>Try again later</h1><p>503 ERR_NTLM_DC_UNAVAILABLE</p>');
        assert.equal(t.seen.at(-1), 503);
        const ready = await fetchWith([`${t.url}/ready`]);
        assert.equal(ready.status, 503);
        assert.deepEqual(JSON.parse(ready.body), {
          status: 'unavailable',
          checks: [{ name: 'dc1', ok: false }],
        });
      } finally {
        await t.close();
      }
    });

    it('a handler that throws: our plain answer, and the failure in the log', async () => {
      const t = await start({}, true);
      try {
        const first = await fetchWith([`${t.url}/whoami`]);
        assert.equal(first.status, 401);
        assert.equal(first.body, 'Authentication required\n');
        assert.match(first.exchange, /< WWW-Authenticate: NTLM\r?\n/i);
        assert.match(first.exchange, /< Content-Type: text\/plain; charset=utf-8/i);
        const failure = t.logger.records.find((record) => record.level === 'error');
        assert.match(failure?.message ?? '', /refusal handler failed/);
        assert.equal(failure?.fields?.reason, 'the template is missing');
      } finally {
        await t.close();
      }
    });

    it(`setUser puts the identity on ${name === 'koa' ? 'ctx.state.user' : 'request.user'}; without it, nothing`, async () => {
      for (const setUser of [true, false]) {
        const t = await start({ setUser });
        try {
          const seen = JSON.parse((await curl(['--ntlm', '-u', ALICE, `${t.url}/whoami`])).stdout);
          assert.equal(seen.ntlm.username, 'alice');
          assert.deepEqual(seen.user, setUser ? seen.ntlm : null, `setUser: ${setUser}`);
        } finally {
          await t.close();
        }
      }
    });
  });
}

describe('ntlm-sso/fastify logs through the app’s logger (issue 19)', () => {
  async function withLoggingApp(options: Partial<CommonOptions>) {
    const lines: Record<string, unknown>[] = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
    const app = Fastify({ logger: { level: 'info', stream } });
    await app.register(ntlmPlugin, { verifier: testDirectory(), ...options });
    app.get('/whoami', async (request) => ({ user: request.ntlm?.username }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, lines, close: () => app.close() };
  }

  it('without a logger option: each line through request.log, with the reqId of its request', async () => {
    const t = await withLoggingApp({});
    try {
      await curl(['--ntlm', '-u', ALICE, `${t.url}/whoami`]);
      await curl(['--ntlm', '-u', 'EXAMPLE\\alice:not-her-password', `${t.url}/whoami`]);
      const accepted = t.lines.find((line) => line.msg === 'logon accepted');
      assert.ok(accepted, JSON.stringify(t.lines));
      assert.equal(accepted.user, 'alice');
      const completed = t.lines.find(
        (line) => line.msg === 'request completed' && (line.res as { statusCode: number }).statusCode === 200,
      );
      assert.ok(accepted.reqId, 'the logon line carries a reqId');
      assert.equal(accepted.reqId, completed?.reqId, 'the reqId of the request that completed the logon');
      const refused = t.lines.find((line) => line.msg === 'logon refused');
      assert.equal(refused?.code, 'ERR_NTLM_LOGON_FAILED');
      assert.ok(refused?.reqId);
      assert.notEqual(refused?.reqId, accepted.reqId);
    } finally {
      await t.close();
    }
  });

  it('with a logger option: that logger has the lines, Fastify’s does not', async () => {
    const logger = recordingLogger();
    const t = await withLoggingApp({ logger });
    try {
      await curl(['--ntlm', '-u', ALICE, `${t.url}/whoami`]);
      assert.ok(logger.records.some((record) => record.message === 'logon accepted'));
      assert.ok(!t.lines.some((line) => line.msg === 'logon accepted'));
    } finally {
      await t.close();
    }
  });
});

describe('the README examples', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const file of ['fastify.ts', 'koa.ts']) {
    it(`shows demo-app/${file}, the code these tests run, as it is`, () => {
      const source = readFileSync(new URL(`../../demo-app/${file}`, import.meta.url), 'utf8');
      assert.ok(readme.includes(`\`\`\`ts\n${source}\`\`\``), `README.md has demo-app/${file} verbatim`);
    });
  }
});
