// A Redis primary, one replica and one Sentinel (Debian's redis-server run with --sentinel), all
// on 127.0.0.1, for RedisStore with an ioredis Sentinel client.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.js';
import { startRedis } from './redis.js';

export const SENTINEL_NAME = 'ntlm-sso';

export interface SentinelSet {
  readonly sentinelPort: number;
  readonly primaryPort: number;
  readonly replicaPort: number;
  /** Stops the primary (SIGKILL): the Sentinel promotes the replica. */
  killPrimary(): Promise<void>;
  stop(): Promise<void>;
}

function spawnUntil(args: string[], ready: string): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: it would keep the test file's process alive.
      child.kill('SIGKILL');
      reject(new Error(`redis-server ${args[0]} did not start:\n${output}`));
    }, 10_000);
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

export async function startSentinelSet(): Promise<SentinelSet> {
  const primary = await startRedis();
  try {
    return await withReplicaAndSentinel(primary);
  } catch (error) {
    await primary.stop();
    throw error;
  }
}

async function withReplicaAndSentinel(primary: Awaited<ReturnType<typeof startRedis>>): Promise<SentinelSet> {
  const replicaPort = await freePort();
  // Sentinel rewrites its configuration file, and a full resync writes an RDB: a directory of
  // their own, never the working directory (a left-over dump.rdb would be loaded next time).
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-'));
  const replica = await spawnUntil(
    [
      '--port',
      String(replicaPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--replicaof',
      '127.0.0.1',
      String(primary.port),
    ],
    'MASTER <-> REPLICA sync: Finished with success',
  );
  const sentinelPort = await freePort();
  const config = join(dir, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${primary.port} 1`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
      '',
    ].join('\n'),
  );
  const sentinel = await spawnUntil([config, '--sentinel'], '+monitor master');
  return {
    sentinelPort,
    primaryPort: primary.port,
    replicaPort,
    killPrimary: () => primary.stop('SIGKILL'),
    stop: async () => {
      await stopChild(sentinel);
      await stopChild(replica);
      await primary.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
