// Scenario 8's probe, run in a process of its own (with --expose-gc): the revocation store
// (one lookup per Bearer request: is this jti revoked?) and the directory cache (one lookup per
// logon: what the directory said about this user), each filled with BENCH_ENTRIES entries, in
// memory and in the Redis at BENCH_REDIS_URL. Prints one JSON line: cost per lookup, memory per entry.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { DirectoryCache } from '../../src/dc/directory-cache.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { MemoryStore, type Store } from '../../src/store/store.js';

const entries = Number(process.env.BENCH_ENTRIES ?? 100_000);
const redisUrl = process.env.BENCH_REDIS_URL!;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function redisMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** Mean time per call over `count` calls, `inFlight` at a time (1: one round trip after another). */
async function perLookup(
  count: number,
  inFlight: number,
  lookup: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await lookup(next++);
    }),
  );
  return Number(process.hrtime.bigint() - started) / count / 1000; // µs
}

/** Fills `count` entries through `put`, 1000 at a time (a Redis pipeline's worth). */
async function fill(count: number, put: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) batch.push(put(i));
    await Promise.all(batch);
  }
}

const REVOKED = 'ntlm-sso:revoked:';
const sid = (i: number) => `S-1-5-21-3623811015-3361044348-30300820-${100_000 + i}`;
/** What the relay caches per user (src/verifiers/domain-controller.ts, Described), at a typical size. */
function described(i: number) {
  return {
    account: {
      username: `user${i}`,
      sid: sid(i),
      displayName: `User Number ${i}`,
      mail: `user${i}@example.test`,
      userPrincipalName: `user${i}@example.test`,
    },
    groupSids: [513, 1104, 1105, 1106, 1107].map((rid) => `S-1-5-21-3623811015-3361044348-30300820-${rid}`),
    groups: ['Domain Users', 'Engineering', 'VPN Users', 'Intranet Readers', 'Building 4'],
  };
}

interface Figures {
  bytesPerEntry: number;
  /** µs per lookup, one after another. */
  hitUs: number;
  missUs: number;
  /** µs per lookup with 64 in flight (throughput, not latency). */
  concurrentUs: number;
}

async function revocation(store: Store, memory: () => Promise<number>): Promise<Figures> {
  const ids = Array.from({ length: entries }, () => randomUUID());
  const before = await memory();
  await fill(entries, (i) => store.set(REVOKED + ids[i], '1', 3600));
  const bytesPerEntry = ((await memory()) - before) / entries;
  const lookups = Math.min(entries, 50_000);
  const hitUs = await perLookup(lookups, 1, (i) => store.get(REVOKED + ids[(i * 7919) % entries]));
  const missUs = await perLookup(lookups, 1, () => store.get(REVOKED + randomUUID()));
  const concurrentUs = await perLookup(lookups, 64, () => store.get(REVOKED + randomUUID()));
  return { bytesPerEntry, hitUs, missUs, concurrentUs };
}

async function directory(store: Store, memory: () => Promise<number>): Promise<Figures> {
  const cache = new DirectoryCache(store, 300);
  const key = (i: number) => `sid:EXAMPLE:${sid(i)}:digest${i}`;
  const before = await memory();
  await fill(entries, (i) => cache.remember(key(i), async () => described(i)));
  const bytesPerEntry = ((await memory()) - before) / entries;
  const lookups = Math.min(entries, 50_000);
  const unexpected = async () => {
    throw new Error('a filled entry was not in the cache');
  };
  const hitUs = await perLookup(lookups, 1, (i) => cache.remember(key((i * 7919) % entries), unexpected));
  const missUs = await perLookup(lookups, 1, (i) => store.get(`directory:${key(entries + i)}`));
  const concurrentUs = await perLookup(lookups, 64, (i) =>
    cache.remember(key((i * 7919) % entries), unexpected),
  );
  return { bytesPerEntry, hitUs, missUs, concurrentUs };
}

const admin = new Redis(redisUrl);
const heap = async () => heapUsed();
const redis = () => redisMemory(admin);
const results = {
  entries,
  revocationMemory: await revocation(new MemoryStore({ maxEntries: entries }), heap),
  directoryMemory: await directory(new MemoryStore({ maxEntries: entries }), heap),
  revocationRedis: await (async () => {
    await admin.flushall();
    const store = new RedisStore({ redis: redisUrl });
    try {
      return await revocation(store, redis);
    } finally {
      await store.close();
    }
  })(),
  directoryRedis: await (async () => {
    await admin.flushall();
    const store = new RedisStore({ redis: redisUrl });
    try {
      return await directory(store, redis);
    } finally {
      await store.close();
    }
  })(),
};
await admin.quit();
console.log(JSON.stringify(results));
