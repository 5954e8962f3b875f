// Issue 14, defect 8: Redis goes away. A logout must still end what it can end (the connection
// here, the token in this process at once, in Redis when it is back), and reading around the
// store (the directory cache) must not cost a timeout per logon.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectoryCache } from '../../src/dc/directory-cache.js';
import { ntlm, RedisStore } from '../../src/index.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { redisMissing, startRedis } from '../helpers/redis.js';
import { ALICE, listen, recordingLogger, testDirectory } from '../helpers/servers.js';

const missing = await redisMissing();
if (missing && process.env.CI) throw new Error(`CI needs redis-server: ${missing}`);

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

/** An app whose /logout calls auth.logout; everything else answers who it sees. */
async function serve(redisUrl: string) {
  const store = new RedisStore({ redis: redisUrl, timeoutMs: 1000 });
  const logger = recordingLogger();
  const auth = ntlm({ verifier: testDirectory(), bearer: { secret: SECRET }, store, logger });
  const served = await listen(
    (req, res) =>
      auth(req, res, () => {
        if (req.url === '/logout') {
          auth.logout(req, res).then(() => res.end('bye'));
          return;
        }
        res.end(req.ntlm?.username ?? '');
      }),
    () => auth.close(),
  );
  return { ...served, logger };
}

describe('Redis down', { skip: missing ? `skipped: ${missing}` : false }, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());

  it('a logout while Redis is down ends the session here at once and reaches Redis when it is back', async () => {
    const a = await serve(redis.url);
    const b = await serve(redis.url);
    const client = new NtlmHttpClient(a.url);
    try {
      const login = await client.login('/', ALICE);
      assert.equal(login.status, 200);
      const bearer = String(login.headers.authorization);
      const onB = new NtlmHttpClient(b.url);
      assert.equal((await onB.request('/', { Authorization: bearer })).status, 200);
      onB.close();

      await redis.stop('SIGKILL');
      const started = Date.now();
      const logout = await client.request('/logout');
      assert.equal(logout.status, 200);
      assert.ok(Date.now() - started < 1500, `logout took ${Date.now() - started} ms`);
      assert.equal((await client.request('/')).status, 401, 'the connection is no longer alice');
      const again = new NtlmHttpClient(a.url);
      assert.equal(
        (await again.request('/', { Authorization: bearer })).status,
        401,
        'the token is refused here',
      );
      again.close();
      assert.ok(
        a.logger.records.some((r) => r.level === 'warn' && /did not take the revocation/.test(r.message)),
      );

      redis = await startRedis(redis.port);
      // Instance b never saw the logout: it learns of it from Redis once a has written it there.
      await eventually(
        async () => {
          const fromB = new NtlmHttpClient(b.url);
          try {
            return (await fromB.request('/', { Authorization: bearer })).status === 401;
          } finally {
            fromB.close();
          }
        },
        'instance b refuses the token once Redis is back',
        10_000,
      );
    } finally {
      client.close();
      await a.close();
      await b.close();
    }
  });

  it('reading around a dead or silent Redis costs no timeout per logon', async () => {
    const store = new RedisStore({ redis: redis.url, timeoutMs: 1000 });
    const cache = new DirectoryCache(store, 300);
    const read = async () => ({ mail: 'alice@example.test' });
    assert.deepEqual(await cache.remember('alice', read), { mail: 'alice@example.test' });
    await eventually(async () => (await store.get('directory:alice')) !== undefined, 'the entry is in Redis');

    // Silent: the process is stopped, its socket stays open. The first command waits its
    // timeout; the next ones do not wait at all.
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const first = Date.now();
      await cache.remember('bob', read);
      const firstMs = Date.now() - first;
      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = Date.now();
        await cache.remember(`user${i}`, read);
        timings.push(Date.now() - started);
      }
      console.log(`silent Redis: first logon ${firstMs} ms, next 20 at most ${Math.max(...timings)} ms`);
      assert.ok(firstMs < 2500, `the first read waited ${firstMs} ms`);
      assert.ok(Math.max(...timings) < 100, `later reads waited ${timings.join(', ')} ms`);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }

    // Dead: the connection is gone; commands fail at once, with no timeout at all.
    await redis.stop('SIGKILL');
    await sleep(100);
    const started = Date.now();
    for (let i = 0; i < 20; i++) await cache.remember(`dead${i}`, read);
    const total = Date.now() - started;
    console.log(`dead Redis: 20 logons read around it in ${total} ms`);
    assert.ok(total < 200, `20 reads around a dead Redis took ${total} ms`);
    await store.close();
    redis = await startRedis(redis.port);
  });
});
