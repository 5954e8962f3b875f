// Runs the demo (`npm run demo`) and the gateway CLI (dist/cli.js, the installed `ntlm-sso` bin)
// as their own processes on free ports, and waits until they say they are listening.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RunningProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /**
   * Resolves with the output once it matches `pattern`. A log line about a request may come
   * after its answer (the gateway writes its lines once per event-loop turn), so a test that has
   * its answer waits for the line rather than reading the output at once.
   */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node args...` and resolves once its output contains `ready`; rejects if it exits first. */
export async function startUntilReady(
  args: string[],
  env: Record<string, string>,
  ready: string,
  url: string,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start in 20 s:\n${output}`)),
      20_000,
    );
    child.stdout.on('data', () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 5000) =>
      new Promise<string>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return false;
          clearTimeout(timer);
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          resolve(output);
          return true;
        };
        const timer = setTimeout(() => {
          child.stdout.off('data', check);
          child.stderr.off('data', check);
          reject(new Error(`no output matching ${pattern} in ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        if (check()) return;
        child.stdout.on('data', check);
        child.stderr.on('data', check);
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export type DemoProcess = RunningProcess;

export async function startDemo(env: Record<string, string> = {}): Promise<DemoProcess> {
  const port = await freePort();
  return startUntilReady(
    ['--import', 'tsx', 'demo-app/server.ts'],
    { HOST: '127.0.0.1', PORT: String(port), ...env },
    'ntlm-sso demo on',
    `http://127.0.0.1:${port}`,
  );
}

/** The demo app under node:cluster with 2 workers (test/helpers/cluster-demo.ts). */
export async function startClusterDemo(env: Record<string, string>): Promise<RunningProcess> {
  const port = await freePort();
  return startUntilReady(
    ['--import', 'tsx', 'test/helpers/cluster-demo.ts'],
    { PORT: String(port), ...env },
    'cluster of 2 workers on',
    `http://127.0.0.1:${port}`,
  );
}

/** `ntlm-sso gateway --listen 127.0.0.1:<free port> ...args` from the built package (npm test builds first). */
export async function startGateway(
  args: string[],
  env: Record<string, string> = {},
  /** Start again where an earlier gateway listened (a restart behind a balancer). */
  port?: number,
): Promise<RunningProcess> {
  port ??= await freePort();
  return startUntilReady(
    ['dist/cli.js', 'gateway', '--listen', `127.0.0.1:${port}`, ...args],
    env,
    'ntlm-sso gateway (',
    `http://127.0.0.1:${port}`,
  );
}

export type GatewayMode = 'header' | 'pass-through';

/** A gateway of each mode in front of `upstream` with `args` (header mode's users: demo-app/users.json). */
export async function startGatewayPair(
  upstream: string,
  args: string[] = [],
): Promise<Record<GatewayMode, RunningProcess>> {
  const header = await startGateway(['--upstream', upstream, '--users', 'demo-app/users.json', ...args]);
  try {
    return {
      header,
      'pass-through': await startGateway(['--upstream', upstream, '--mode', 'pass-through', ...args]),
    };
  } catch (error) {
    await header.stop();
    throw error;
  }
}

/** Runs the CLI to completion: exit code and output (for --help and bad flags). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
