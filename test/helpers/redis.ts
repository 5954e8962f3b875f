// A throwaway redis-server on 127.0.0.1 (Debian's redis-server package), no persistence.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './processes.js';

export async function redisMissing(): Promise<string | undefined> {
  try {
    await promisify(execFile)('redis-server', ['--version']);
    return undefined;
  } catch {
    return 'redis-server is not installed (apt-get install redis-server, as .ci/run does)';
  }
}

/** `port`: start it again where an earlier one ran (a Redis restart); a free port by default. */
export async function startRedis(
  port?: number,
): Promise<{ url: string; port: number; stop: (signal?: NodeJS.Signals) => Promise<void>; pid: number }> {
  port ??= await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
