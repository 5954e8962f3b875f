// RedisStore with an ioredis Sentinel client (a primary, a replica and a Sentinel from Debian's
// redis-server): revocations and replay-cache keys are written through the Sentinel's primary,
// survive a failover (the replica is promoted), and the store works again on the new primary.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisStore } from '../../src/index.js';
import { eventually } from '../helpers/eventually.js';
import { redisMissing } from '../helpers/redis.js';
import { SENTINEL_NAME, type SentinelSet, startSentinelSet } from '../helpers/redis-sentinel.js';

const missing = await redisMissing();
if (missing && process.env.CI) throw new Error(`CI needs redis-server: ${missing}`);

describe('RedisStore over Redis Sentinel', { skip: missing ? `skipped: ${missing}` : false }, () => {
  let set: SentinelSet;
  let client: Redis;
  let store: RedisStore;
  before(async () => {
    set = await startSentinelSet();
    client = new Redis({
      sentinels: [{ host: '127.0.0.1', port: set.sentinelPort }],
      name: SENTINEL_NAME,
      maxRetriesPerRequest: 1,
      connectTimeout: 1000,
      commandTimeout: 1000,
    });
    client.on('error', () => {});
    store = new RedisStore({ redis: client, prefix: 'sentinel-test:' });
  });
  after(async () => {
    await store?.close();
    client?.disconnect();
    await set?.stop();
  });

  it('writes through the primary the Sentinel names, and keeps them across a failover', async () => {
    await eventually(async () => client.status === 'ready', 'the Sentinel client is ready', 5000);
    assert.equal(await store.setIfAbsent('replay:a', '1', 60), true);
    assert.equal(await store.setIfAbsent('replay:a', '1', 60), false);
    await store.set('revoked:t1', '1', 60);
    // On the primary itself, not a replica: the Sentinel gave the client the primary's address.
    const direct = new Redis({ port: set.primaryPort, host: '127.0.0.1' });
    assert.equal(await direct.get('sentinel-test:revoked:t1'), '1');
    // Wait until the replica has both keys, so that the failover cannot lose them.
    const replica = new Redis({ port: set.replicaPort, host: '127.0.0.1' });
    await eventually(async () => (await replica.get('sentinel-test:revoked:t1')) === '1', 'replicated');
    direct.disconnect();

    await set.killPrimary();
    // Sentinel notices after 1 s and promotes the replica; ioredis asks the Sentinel again.
    await eventually(
      async () => {
        try {
          return (await store.get('revoked:t1')) === '1';
        } catch {
          return false;
        }
      },
      'the store reads the revocation from the promoted replica',
      20_000,
    );
    assert.equal((await replica.info('replication')).match(/role:(\w+)/)?.[1], 'master');
    assert.equal(await store.setIfAbsent('replay:a', '1', 60), false, 'the replay key survived');
    assert.equal(await store.setIfAbsent('replay:b', '1', 60), true, 'and new keys are written');
    replica.disconnect();
  });
});
