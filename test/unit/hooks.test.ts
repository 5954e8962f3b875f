// The hooks apps expect (issue 13): skip, custom refusal pages, req.user, res.locals, and CORS
// headers kept. On Express 5, as users of express-ntlm and passport would write it.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import express from 'express';
import { type NtlmOptions, ntlm } from '../../src/index.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1 } from '../helpers/ntlm-client.js';
import { ALICE, listen, recordingLogger, testDirectory } from '../helpers/servers.js';

async function app(options: Partial<NtlmOptions>, before?: express.RequestHandler) {
  const logger = recordingLogger();
  const auth = ntlm({ verifier: testDirectory(), logger, ...options });
  const application = express();
  if (before) application.use(before);
  application.use(auth);
  application.use((req, res) => {
    res.json({
      ntlm: req.ntlm?.username ?? null,
      user: (req as { user?: { username: string } }).user?.username ?? null,
      locals: (res.locals.ntlm as { username?: string } | undefined)?.username ?? null,
      spoofed: req.headers['x-ntlm-username'] ?? null,
    });
  });
  return { ...(await listen(application as unknown as http.RequestListener, () => auth.close())), logger };
}

describe('hooks apps expect', () => {
  it('skip lets named routes through without authentication, still without client X-Ntlm-* headers', async () => {
    const t = await app({ skip: (req) => req.url === '/health' });
    const client = new NtlmHttpClient(t.url);
    const skipped = await client.request('/health', { 'X-Ntlm-Username': 'admin' });
    assert.equal(skipped.status, 200);
    assert.deepEqual(JSON.parse(skipped.body), { ntlm: null, user: null, locals: null, spoofed: null });
    assert.equal((await client.request('/private')).status, 401, 'other routes still authenticate');
    client.close();
    await t.close();
  });

  it('onUnauthorized writes the page; the status and WWW-Authenticate stay ours', async () => {
    const t = await app({
      onUnauthorized: (_req, res, refusal) => res.end(`<h1>Please sign in</h1><p>${refusal.status}</p>`),
    });
    const client = new NtlmHttpClient(t.url);
    const first = await client.request('/');
    assert.equal(first.status, 401);
    assert.equal(first.headers['www-authenticate'], 'NTLM');
    assert.equal(first.body, '<h1>Please sign in</h1><p>401</p>');
    const wrong = await client.login('/', { ...ALICE, password: 'wrong' });
    assert.equal(wrong.status, 401);
    assert.equal(
      wrong.headers['www-authenticate'],
      'NTLM',
      'a fresh challenge, so the browser can try again',
    );
    assert.match(wrong.body, /Please sign in/);
    client.close();
    await t.close();
  });

  it('onForbidden and onUnavailable write their pages; Retry-After stays; a throwing handler falls back', async () => {
    const t = await app({
      allowUsers: ['bob'],
      onForbidden: (req, res, refusal) =>
        res.end(`no entry for ${req.ntlm?.username ?? 'you'} (${refusal.status})`),
    });
    const alice = new NtlmHttpClient(t.url);
    const denied = await alice.login('/', ALICE);
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'no entry for you (403)');
    alice.close();
    await t.close();

    const busy = await app({
      maxPendingHandshakes: 1,
      onUnavailable: (_req, res, refusal) => res.end(`busy: ${refusal.code}`),
      onUnauthorized: () => {
        throw new Error('template missing');
      },
    });
    const first = new NtlmHttpClient(busy.url);
    const second = new NtlmHttpClient(busy.url);
    const leg = await first.request('/', { Authorization: `NTLM ${type1().toString('base64')}` });
    assert.equal(leg.status, 401);
    assert.equal(leg.body, 'Authentication in progress\n', 'a throwing handler: our plain body');
    assert.ok(
      busy.logger.records.some((r) => r.level === 'error' && /refusal handler failed/.test(r.message)),
    );
    const refused = await second.request('/', { Authorization: `NTLM ${type1().toString('base64')}` });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(refused.body, 'busy: ERR_NTLM_TOO_MANY_HANDSHAKES');
    first.close();
    second.close();
    await busy.close();
  });

  it('setUser puts the identity on req.user; Express gets it on res.locals.ntlm', async () => {
    const t = await app({ setUser: true });
    const client = new NtlmHttpClient(t.url);
    const reply = await client.login('/', ALICE);
    assert.deepEqual(JSON.parse(reply.body), {
      ntlm: 'alice',
      user: 'alice',
      locals: 'alice',
      spoofed: 'alice',
    });
    client.close();
    await t.close();
    const plain = await app({});
    const other = new NtlmHttpClient(plain.url);
    assert.equal(JSON.parse((await other.login('/', ALICE)).body).user, null, 'req.user only when asked');
    other.close();
    await plain.close();
  });

  it("keeps another middleware's Access-Control-Expose-Headers and adds Authorization", async () => {
    const cors: express.RequestHandler = (_req, res, next) => {
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id, ETag');
      next();
    };
    const t = await app({ bearer: { secret: 'a-test-secret-of-at-least-32-bytes!!' } }, cors);
    const client = new NtlmHttpClient(t.url);
    const reply = await client.login('/', ALICE);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['access-control-expose-headers'], 'X-Request-Id, ETag, Authorization');
    client.close();
    await t.close();
  });

  it('refuses hooks that are not functions at start-up', () => {
    assert.throws(
      () => ntlm({ verifier: testDirectory(), skip: '/health' as never }),
      /skip must be a function/,
    );
    assert.throws(
      () => ntlm({ verifier: testDirectory(), setUser: 'yes' as never }),
      /setUser must be one of/,
    );
  });
});
