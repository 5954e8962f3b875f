// Readiness with a shared store (issue 13): auth.ready() is false while Redis does not answer,
// true once it does again; the local directory itself is always ready.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ntlm, RedisStore } from '../../src/index.js';
import { eventually } from '../helpers/eventually.js';
import { redisMissing, startRedis } from '../helpers/redis.js';
import { recordingLogger, testDirectory } from '../helpers/servers.js';

const missing = await redisMissing();
if (missing && process.env.CI) throw new Error(`CI needs redis-server: ${missing}`);

describe('readiness with a RedisStore', { skip: missing ? `skipped: ${missing}` : false }, () => {
  it('follows Redis: ready, stopped → not ready, started again → ready; each change logged once', async () => {
    let redis = await startRedis();
    const store = new RedisStore({ redis: redis.url });
    const logger = recordingLogger();
    const auth = ntlm({ verifier: testDirectory(), store, logger });
    try {
      await eventually(async () => (await auth.ready()).ready, 'ready with Redis up', 5000);
      assert.deepEqual((await auth.ready()).checks, [{ name: 'store', ok: true }]);
      await redis.stop();
      await eventually(async () => !(await auth.ready()).ready, 'not ready with Redis stopped', 5000);
      assert.equal((await auth.ready()).checks[0]?.ok, false);
      redis = await startRedis(redis.port);
      await eventually(async () => (await auth.ready()).ready, 'ready again', 10_000);
      const changes = logger.records.filter((record) => /^(not )?ready:/.test(record.message));
      assert.deepEqual(
        changes.map((record) => record.level),
        ['warn', 'info'],
        'not ready once, ready again once (the first answer, ready, is no change)',
      );
    } finally {
      await auth.close();
      await redis.stop();
    }
  });
});
