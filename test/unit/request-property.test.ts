// req.ntlm and req.user on Express live in an accessor on the app's request prototype (see
// src/http/request-property.ts). These check that it behaves as an own property would where an
// application can tell: per request, visible through mounted apps, assignable, and never on
// Node's own IncomingMessage.prototype.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import express5 from 'express';
import express4 from 'express4';
import { requestProperty } from '../../src/http/request-property.js';
import { ntlm } from '../../src/index.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { ALICE, listen, testDirectory } from '../helpers/servers.js';

type Req = http.IncomingMessage & { user?: unknown };
type Res = http.ServerResponse & { locals: Record<string, unknown>; json(body: unknown): void };

for (const [name, express] of [
  ['express5', express5],
  ['express4', express4],
] as const) {
  describe(`req.ntlm and req.user on ${name}`, () => {
    let server: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      const auth = ntlm({
        verifier: testDirectory(),
        setUser: true,
        skip: (req) => req.url?.includes('/public') ?? false,
      });
      // The middleware sits in a mounted app; the parent reads what it set after the mount.
      const parent = express();
      const child = express();
      child.use(auth);
      child.get('/inner', (req: Req, res: Res) => res.json({ ntlm: req.ntlm?.username ?? null }));
      child.use('/assign', (req: Req, _res: Res, next: () => void) => {
        req.ntlm = { ...req.ntlm!, username: 'changed' };
        next();
      });
      child.use('/derived', (req: Req, res: Res) =>
        res.json({ ntlm: Object.create(req).ntlm?.username ?? null }),
      );
      // Replacing res.locals (not adding to it) takes the request's value with it (request-property.ts).
      child.use('/new-locals', (_req: Req, res: Res, next: () => void) => {
        res.locals = {};
        next();
      });
      child.use('/logout', (req: Req, _res: Res, next: () => void) => {
        delete req.user;
        req.ntlm = undefined;
        next();
      });
      // A res.locals shared by every request (as some apps do): one request's value must not reach another.
      const shared = Object.create(null);
      parent.use('/shared', (_req: Req, res: Res, next: () => void) => {
        res.locals = shared;
        next();
      });
      // A wrapper with a response of its own borrowed from the request: its value is its own.
      child.use('/wrap', (req: Req, res: Res, next: () => void) => {
        const wrapper = Object.create(req) as Req & { res: Res };
        wrapper.res = res;
        wrapper.ntlm = { ...req.ntlm!, username: 'wrapper' };
        res.setHeader('X-Wrapper-Saw', wrapper.ntlm.username);
        next();
      });
      parent.use(child);
      parent.use((req: Req, res: Res) =>
        res.json({
          ntlm: req.ntlm?.username ?? null,
          user: (req.user as { username?: string } | undefined)?.username ?? null,
          locals: (res.locals.ntlm as { username?: string } | undefined)?.username ?? null,
          own: Object.keys(req).includes('ntlm'),
          // What a template, a spread or a logger sees of res.locals: `ntlm`, and nothing of ours besides.
          localsKeys: Reflect.ownKeys({ ...res.locals }).map(String),
          inspected: inspect(res.locals),
        }),
      );
      server = await listen(parent as unknown as http.RequestListener, () => auth.close());
    });
    after(() => server.close());

    it('is set on the requests the middleware lets through, inside and after the mounted app', async () => {
      const client = new NtlmHttpClient(server.url);
      const login = await client.login('/inner', ALICE);
      assert.equal(login.status, 200);
      assert.deepEqual(JSON.parse(login.body), { ntlm: 'alice' });
      const outer = await client.request('/outer');
      const seen = JSON.parse(outer.body);
      assert.deepEqual(
        { ntlm: seen.ntlm, user: seen.user, locals: seen.locals, own: seen.own, localsKeys: seen.localsKeys },
        { ntlm: 'alice', user: 'alice', locals: 'alice', own: false, localsKeys: ['ntlm'] },
      );
      assert.doesNotMatch(seen.inspected, /Symbol/);
      // An object made from the request (a wrapper) reads it through its prototype.
      assert.deepEqual(JSON.parse((await client.request('/derived')).body), { ntlm: 'alice' });
      client.close();
    });

    it('reads undefined on a skipped request of an authenticated connection', async () => {
      const client = new NtlmHttpClient(server.url);
      assert.equal((await client.login('/outer', ALICE)).status, 200);
      const skipped = await client.request('/public');
      const seen = JSON.parse(skipped.body);
      assert.deepEqual(
        { ntlm: seen.ntlm, user: seen.user, locals: seen.locals, own: seen.own },
        { ntlm: null, user: null, locals: null, own: false },
      );
      client.close();
    });

    it('never hands one request’s value to another through a shared res.locals', async () => {
      const client = new NtlmHttpClient(server.url);
      assert.equal((await client.login('/shared/outer', ALICE)).status, 200);
      assert.equal(JSON.parse((await client.request('/shared/outer')).body).ntlm, 'alice');
      const skipped = JSON.parse((await client.request('/shared/public')).body);
      assert.deepEqual([skipped.ntlm, skipped.user], [null, null]);
      client.close();
    });

    it('takes an assignment by the application, for that request only', async () => {
      const client = new NtlmHttpClient(server.url);
      assert.equal((await client.login('/outer', ALICE)).status, 200);
      assert.equal(JSON.parse((await client.request('/assign')).body).ntlm, 'changed');
      assert.equal(JSON.parse((await client.request('/outer')).body).ntlm, 'alice');
      // req.user is an own property (passport-style logouts delete it); req.ntlm is cleared by assignment.
      assert.equal(JSON.parse((await client.request('/new-locals')).body).ntlm, null);
      const wrapped = await client.request('/wrap');
      assert.equal(wrapped.headers['x-wrapper-saw'], 'wrapper');
      assert.equal(JSON.parse(wrapped.body).ntlm, 'alice');
      assert.equal(JSON.parse((await client.request('/outer')).body).ntlm, 'alice');
      const out = JSON.parse((await client.request('/logout')).body);
      assert.deepEqual([out.ntlm, out.user], [null, null]);
      client.close();
    });
  });
}

it('touches no prototype of a request that is not an IncomingMessage (Fastify inject, mocks)', () => {
  const set = requestProperty<number>('probeProperty');
  const request = Object.create(new Readable()) as http.IncomingMessage;
  set(request, 1);
  assert.equal(Object.hasOwn(request, 'probeProperty'), true);
  assert.equal(Object.getOwnPropertyDescriptor(Object.prototype, 'probeProperty'), undefined);
  assert.equal(({} as { probeProperty?: number }).probeProperty, undefined);
});

it("leaves Node's IncomingMessage.prototype alone: plain node:http requests get own properties", async () => {
  const auth = ntlm({ verifier: testDirectory() });
  let own: boolean | undefined;
  const server = await listen(
    (req, res) =>
      auth(req, res, () => {
        own = Object.hasOwn(req, 'ntlm');
        res.end();
      }),
    () => auth.close(),
  );
  const client = new NtlmHttpClient(server.url);
  assert.equal((await client.login('/', ALICE)).status, 200);
  client.close();
  await server.close();
  assert.equal(own, true);
  assert.equal(Object.getOwnPropertyDescriptor(http.IncomingMessage.prototype, 'ntlm'), undefined);
});
