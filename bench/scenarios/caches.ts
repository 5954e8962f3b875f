// Scenario 8: the revocation store and the directory cache with 100,000 entries, in memory and in
// a real redis-server (started here): cost per lookup and memory per entry. Report only.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { redisMissing, startRedis } from '../../test/helpers/redis.js';
import { ROOT } from '../lib/children.js';
import type { Context } from '../lib/context.js';
import { notRun, type Row } from '../lib/report.js';

interface Figures {
  bytesPerEntry: number;
  hitUs: number;
  missUs: number;
  concurrentUs: number;
}

export async function cachesScenario(ctx: Context): Promise<Row[]> {
  const missing = await redisMissing();
  if (missing) return [notRun('8', 'revocation and directory caches', 'report', 'unavailable', missing)];
  const redis = await startRedis();
  let figures: Record<'revocationMemory' | 'directoryMemory' | 'revocationRedis' | 'directoryRedis', Figures>;
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench/probes/caches.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, BENCH_ENTRIES: String(ctx.sizes.cacheEntries), BENCH_REDIS_URL: redis.url },
        timeout: 240_000,
        maxBuffer: 1 << 20,
      },
    );
    figures = JSON.parse(stdout.trim().split('\n').at(-1)!);
  } finally {
    await redis.stop();
  }
  const n = ctx.sizes.cacheEntries.toLocaleString('en-US');
  const row = (id: string, scenario: string, f: Figures, where: string, lookup: string): Row => ({
    id,
    scenario: `${scenario}, ${n} entries, ${where}`,
    unit: 'µs/lookup',
    ours: Math.round(f.hitUs * 100) / 100,
    baselineName: null,
    baseline: null,
    ratio: null,
    compare: `${Math.round(f.bytesPerEntry)} B/entry`,
    goal: 'report',
    met: null,
    status: 'measured',
    detail:
      `${lookup}: ${f.hitUs.toFixed(2)} µs per hit, ${f.missUs.toFixed(2)} µs per miss (one after another), ` +
      `${f.concurrentUs.toFixed(2)} µs each with 64 in flight; ${Math.round(f.bytesPerEntry)} bytes per entry ` +
      `(${where === 'memory' ? 'heapUsed after GC' : 'redis-server used_memory'}).`,
  });
  return [
    row(
      '8a',
      'revocation store',
      figures.revocationMemory,
      'memory',
      'store.get of a revoked jti (MemoryStore)',
    ),
    row(
      '8b',
      'revocation store',
      figures.revocationRedis,
      'Redis',
      'store.get of a revoked jti (RedisStore, ioredis)',
    ),
    row(
      '8c',
      'directory cache',
      figures.directoryMemory,
      'memory',
      "DirectoryCache.remember hit (get and JSON.parse; MemoryStore sized to hold them all: the relay's default holds 10,000)",
    ),
    row('8d', 'directory cache', figures.directoryRedis, 'Redis', 'DirectoryCache.remember hit (RedisStore)'),
  ];
}
