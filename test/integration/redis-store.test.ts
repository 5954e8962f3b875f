// Two demo processes, then a node:cluster of 2 workers, sharing one real redis-server: a token
// issued by one is accepted by the others, and a logout on one is seen by all.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MemoryStore, RedisStore } from '../../src/index.js';
import { curl, curlBearerToken, curlStatusWith } from '../helpers/curl.js';
import { type DemoProcess, type RunningProcess, startClusterDemo, startDemo } from '../helpers/processes.js';
import { redisMissing, startRedis } from '../helpers/redis.js';

const missing = await redisMissing();
if (missing && process.env.CI) throw new Error(`CI needs redis-server: ${missing}`);

describe('RedisStore shared by two processes', { skip: missing ? `skipped: ${missing}` : false }, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let a: DemoProcess;
  let b: DemoProcess;
  before(async () => {
    redis = await startRedis();
    const env = { NTLM_REDIS_URL: redis.url, NTLM_JWT_SECRET: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startDemo(env), startDemo(env)]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('a token from one instance works on the other, and a logout on either reaches both', async () => {
    const token = await curlBearerToken(`${a.url}/api/whoami`, 'EXAMPLE\\alice:Alice-Passw0rd!');
    assert.ok(token);
    const onB = await curl(['-H', `Authorization: ${token}`, `${b.url}/api/whoami`]);
    assert.equal(JSON.parse(onB.stdout).username, 'alice');
    await curl(['-X', 'POST', '-H', `Authorization: ${token}`, `${b.url}/api/logout`]);
    for (const instance of [a, b]) {
      assert.equal(await curlStatusWith(`${instance.url}/api/whoami`, token), 401);
    }
  });

  it('keys expire in Redis, and a Redis that is gone fails fast instead of hanging', async () => {
    const store = new RedisStore({ redis: redis.url, timeoutMs: 500 });
    await store.set('probe', 'x', 1);
    assert.equal(await store.get('probe'), 'x');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.equal(await store.get('probe'), undefined);
    await store.close();
    const dead = new RedisStore({ redis: 'redis://127.0.0.1:1', timeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(dead.get('x'));
    assert.ok(Date.now() - started < 3000, 'no hang');
    await dead.close();
  });
});

describe('node:cluster with 2 workers sharing Redis', {
  skip: missing ? `skipped: ${missing}` : false,
}, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let cluster: RunningProcess;
  before(async () => {
    redis = await startRedis();
    cluster = await startClusterDemo({
      NTLM_REDIS_URL: redis.url,
      NTLM_JWT_SECRET: randomBytes(32).toString('base64'),
    });
  });
  after(async () => {
    await cluster?.stop();
    await redis?.stop();
  });

  /** One request on a new connection: status, user and the worker that answered. */
  const ask = async (authorization?: string, method = 'GET', path = '/api/whoami') => {
    const headers = authorization ? ['-H', `Authorization: ${authorization}`] : [];
    const { stdout, stderr } = await curl([
      '-X',
      method,
      ...headers,
      '-w',
      '\n%{http_code}',
      `${cluster.url}${path}`,
    ]);
    const lines = stdout.split('\n');
    const status = Number(lines.pop());
    const worker = /< X-Worker-Pid: (\d+)/i.exec(stderr)?.[1];
    return { status, worker, body: lines.join('\n') };
  };

  it('handshakes complete on whichever worker holds the connection; tokens and logouts hold across workers', async () => {
    // Every NTLM handshake runs on one connection, so on one worker, whichever it is.
    const logons = await Promise.all(
      Array.from({ length: 8 }, () =>
        curl([
          '--ntlm',
          '-u',
          'EXAMPLE\\alice:Alice-Passw0rd!',
          '-w',
          '\n%{http_code}',
          `${cluster.url}/api/whoami`,
        ]),
      ),
    );
    for (const { stdout } of logons) assert.match(stdout, /"username":"alice"[\s\S]*\n200$/);

    const token = await curlBearerToken(`${cluster.url}/api/whoami`, 'EXAMPLE\\alice:Alice-Passw0rd!');
    assert.ok(token);
    const withToken = await Promise.all(Array.from({ length: 10 }, () => ask(token)));
    for (const reply of withToken) {
      assert.equal(reply.status, 200);
      assert.equal(JSON.parse(reply.body).username, 'alice');
    }
    assert.equal(new Set(withToken.map((reply) => reply.worker)).size, 2, 'both workers accepted the token');

    assert.equal((await ask(token, 'POST', '/api/logout')).status, 200);
    const afterLogout = await Promise.all(Array.from({ length: 10 }, () => ask(token)));
    for (const reply of afterLogout) assert.equal(reply.status, 401);
    assert.equal(new Set(afterLogout.map((reply) => reply.worker)).size, 2, 'both workers refused it');
  });
});

describe('Store.setIfAbsent (the replay cache primitive)', {
  skip: missing ? `skipped: ${missing}` : false,
}, () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('only one of many concurrent callers on two clients wins a key, and it is free again after its TTL', async () => {
    const [one, two] = [new RedisStore({ redis: redis.url }), new RedisStore({ redis: redis.url })];
    const wins = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? one : two).setIfAbsent('replay:x', String(i), 1)),
    );
    assert.equal(wins.filter(Boolean).length, 1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await one.setIfAbsent('replay:x', 'again', 1), true);
    await Promise.all([one.close(), two.close()]);
  });
});

describe('MemoryStore.setIfAbsent', () => {
  it('wins once per key until the TTL ends', async () => {
    const store = new MemoryStore();
    const wins = await Promise.all(Array.from({ length: 10 }, () => store.setIfAbsent('k', 'v', 1)));
    assert.equal(wins.filter(Boolean).length, 1);
    assert.equal(await store.setIfAbsent('other', 'v', 1), true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await store.setIfAbsent('k', 'v', 1), true);
  });
});
