// The processes the bench starts: benchmark servers (bench/servers/app.ts, with an IPC channel
// for heap readings), the gateway CLI, nginx. Every child is tracked and killed if the bench
// itself exits early, so no server outlives a run.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nginxConfig } from '../../test/helpers/nginx.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Child {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

export interface ServerChild extends Child {
  /** heapUsed after two full GCs. */
  heap(): Promise<number>;
  /** The server's monotonic clock in µs, the one its CPU profile's timestamps use. */
  mark(): Promise<number>;
}

function track(child: ChildProcess): { output: () => string; exited: Promise<void> } {
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer) => {
    // Keep the tail only: a noisy child must not grow the bench's memory.
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );
  return { output: () => output, exited };
}

async function stopChild(child: ChildProcess, exited: Promise<void>, ask: () => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  ask();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/** Sends `{ type }` over IPC and resolves with the first reply of the same type. */
function ask(child: ChildProcess, type: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${type} in 60 s`)), 60_000);
    const onMessage = (message: Record<string, unknown>) => {
      if (message.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

export interface ServerOptions {
  mode: string;
  env?: Record<string, string>;
  /** Write a V8 CPU profile (--cpu-prof) into this directory when the server stops. */
  cpuProfileDir?: string;
}

/** Starts bench/servers/app.ts in its own process; resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<ServerChild> {
  const args = ['--expose-gc'];
  if (options.cpuProfileDir) {
    mkdirSync(options.cpuProfileDir, { recursive: true });
    args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`);
  }
  args.push('--import', 'tsx', join(ROOT, 'bench/servers/app.ts'));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env, BENCH_MODE: options.mode },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const { output, exited } = track(child);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.mode} server did not start:\n${output()}`)),
      30_000,
    );
    child.on('message', (message: { type: string; port?: number }) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message.port!);
      }
    });
    exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${options.mode} server exited:\n${output()}`));
    });
  });
  return {
    child,
    port,
    output,
    heap: async () => {
      const reply = await ask(child, 'heap');
      if (!reply.gc) throw new Error('the server has no gc(): start it with --expose-gc');
      return reply.heapUsed as number;
    },
    mark: async () => (await ask(child, 'mark')).at as number,
    stop: () => stopChild(child, exited, () => child.send({ type: 'stop' })),
  };
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs any command as a tracked child and waits until it listens on `port`. */
export async function startListening(
  command: string,
  args: string[],
  port: number,
  env: Record<string, string> = {},
): Promise<Child> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output, exited } = track(child);
  const failed = exited.then(() => {
    throw new Error(`${command} exited before listening:\n${output()}`);
  });
  await Promise.race([waitForPort(port), failed]);
  failed.catch(() => {});
  return { child, port, output, stop: () => stopChild(child, exited, () => child.kill('SIGTERM')) };
}

/**
 * `ntlm-sso gateway` in header mode from the built package (dist/cli.js), in front of `upstream`;
 * with `cpuProfileDir`, under --cpu-prof (written when SIGTERM makes it exit).
 */
export interface GatewayChildOptions {
  /** Where `node --cpu-prof` writes the process's profile. */
  readonly cpuProfileDir?: string;
  readonly mode?: 'header' | 'pass-through';
  /** `--workers`: node:cluster processes on the one port. */
  readonly workers?: number;
  /** false: `--access-log off`. */
  readonly accessLog?: boolean;
}

export async function startGateway(
  upstream: string,
  dcUrl: string,
  { cpuProfileDir, mode = 'header', workers = 1, accessLog = true }: GatewayChildOptions = {},
): Promise<Child> {
  const port = await freePort();
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  const auth = mode === 'header' ? ['--dc', dcUrl, '--domain', 'EXAMPLE'] : ['--mode', 'pass-through'];
  return startListening(
    process.execPath,
    [
      ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : []),
      'dist/cli.js',
      'gateway',
      '--listen',
      `127.0.0.1:${port}`,
      '--upstream',
      upstream,
      ...auth,
      '--debug',
      '0',
      ...(workers > 1 ? ['--workers', String(workers)] : []),
      ...(accessLog ? [] : ['--access-log', 'off']),
    ],
    port,
  );
}

/** bench/servers/plain-proxy.ts: a minimal Node reverse proxy, on node:http's client or undici's (request or dispatch, with or without the gateway's headers). */
export async function startPlainProxy(
  upstream: string,
  client: 'node' | 'undici' | 'undici-dispatch' | 'undici-dispatch-headers',
): Promise<Child> {
  const port = await freePort();
  return startListening(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench/servers/plain-proxy.ts')],
    port,
    {
      UPSTREAM: upstream,
      PORT: String(port),
      PROXY_CLIENT: client,
    },
  );
}

/**
 * Debian's nginx as a plain reverse proxy (keep-alive to the upstream, no auth), with a config
 * of its own in `dir`: one worker, like the single-process gateway it is compared with.
 */
export async function startNginx(upstreamPort: number, dir: string): Promise<Child> {
  const port = await freePort();
  const conf = nginxConfig(
    dir,
    `  # Node's servers never close a keep-alive connection after N requests; nor does nginx here.
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 32; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
    4096,
  );
  return startListening('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], port);
}
