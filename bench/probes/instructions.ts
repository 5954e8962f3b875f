// Instructions per request instead of time: each mode of bench/servers/app.ts (local users, no
// DC) runs under valgrind's callgrind, is warmed uncounted, and then counts the instructions of its
// main thread over a load on 8 keep-alive connections that logged on during the warm-up (no
// handshake, no new connection in the counted part). Deterministic to ~1%, where the timed rounds
// spread ~±2 µs: it tells a change of a few hundred nanoseconds (bench/analysis.md, session 11).
// Needs valgrind (apt-get install valgrind); slow (a mode takes ~1.5 min). In a network namespace:
//   unshare -n bash -c 'ip link set lo up; node --import tsx bench/probes/instructions.ts noop ours'
//   ... instructions.ts --bearer ours-bearer noop   (every request carries the Bearer token that
//   ours-bearer, listed first, issues)
//   ... instructions.ts ours@.tmp/distB/index.js ours   (a mode on another build, index.js absolute
//   or relative to the repository: two builds counted in one run)
//   ... instructions.ts --kerberos ours-kerberos negotiate-contract   (every request a Kerberos
//   logon: a fresh authenticator for the saved token of test/fixtures/kerberos, on the same
//   keep-alive connections, with the servers' clocks at the token's capture time; no DC)
//   ... instructions.ts --gateway proxy-headers gateway   (row 7: proxies in front of one bare
//   Express upstream, itself not counted: gateway is `ntlm-sso gateway` in header mode with local
//   users, its connections logged on during the warm-up; gateway-quiet the same with
//   --access-log off; gateway@.tmp/distB/cli.js another build's; proxy and proxy-headers
//   bench/servers/plain-proxy.ts's undici-dispatch and undici-dispatch-headers, rows 7g and 7h)
// Prints per mode: requests counted, main-thread instructions per request, those outside the
// garbage collector (whose share moves with when it happens to run), and the other threads' (V8's
// compiler and GC helpers: they moved by 10–35 thousand a request between runs of one build, with
// no side in the lead). With two modes, also the functions whose instructions per request differ
// most (JIT code named from --perf-basic-prof; a code address reused after V8 freed old code can
// carry a stale name, as RegExp and module-lexer names do here: read the totals first).
// PROBE_WARM_MS (45000) and PROBE_MS (10000) set the warm-up and the counted load; PROBE_RECONNECT_MS
// (none) has the warm-up replace its connections (new ones, logged on again) that often; PROBE_TOP (30)
// how many of the largest per-function changes two modes print; PROBE_INCLUSIVE=1 prints those
// changes with each function's callees counted in (callgrind's inclusive cost: what a function of
// ours costs with the builtins and node:crypto calls it makes); PROBE_KEEP=1 keeps the callgrind
// files and V8's perf maps, and prints where (for callgrind_annotate --tree=caller). PROBE_SIMULATE=1
// adds callgrind's cache and branch simulation (the host's cache sizes) and prints the main
// thread's events per request: I1mr (instruction-cache misses) and Bcm + Bim (mispredicted
// branches), which account for most of ours' time beyond its instructions (bench/analysis.md,
// session 12).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The user BENCH_LOCAL_DIRECTORY logs on (bench/servers/app.ts).
import { ALICE } from '../../test/helpers/servers.js';
import { type BuildSpec, parseBuildSpec } from '../lib/build-spec.js';
import { freePort, ROOT, startServer, waitForPort } from '../lib/children.js';
import { HttpConnection, requestBytes } from '../lib/http-conn.js';
import { FIXTURE_CLOCK, FIXTURE_SERVER_ENV, fixtureMint } from '../lib/kerberos-fixture.js';
import { handshake } from '../lib/ntlm-load.js';

const args = process.argv.slice(2);
const bearer = args.includes('--bearer');
const kerberos = args.includes('--kerberos');
const gateway = args.includes('--gateway');
const modes = args.filter((arg) => !arg.startsWith('--'));
const warmMs = Number(process.env.PROBE_WARM_MS ?? 45_000);
const countedMs = Number(process.env.PROBE_MS ?? 10_000);
const reconnectMs = Number(process.env.PROBE_RECONNECT_MS ?? Number.POSITIVE_INFINITY);
/** PROBE_SIMULATE=1: callgrind also simulates the caches and branch predictors (about twice as slow). */
const simulate = process.env.PROBE_SIMULATE === '1';
const GC =
  /Scaveng|Heap::|MarkCompact|Marking|Sweep|Evacuat|BodyDescriptor|Remembered|SlotSet|Worklist|PagedSpace|FreeList/;
const dir = mkdtempSync(join(tmpdir(), 'instructions-'));
let token: string | undefined;

/** --kerberos: fresh Negotiate tokens, minted on this process's clock moved to the token's capture time. */
const mint = kerberos ? await fixtureMint() : undefined;

interface Counted {
  readonly mode: string;
  readonly requests: number;
  readonly pid: number;
  /** Instructions per function (callgrind_annotate's self cost), whole counted load. */
  readonly byFunction: Map<string, number>;
  /** With PROBE_INCLUSIVE=1: the same with each function's callees counted in; else byFunction. */
  readonly listed: Map<string, number>;
  /** The main thread's totals per event (Ir; with PROBE_SIMULATE also cache and branch misses). */
  readonly events: Map<string, number>;
  /** Instructions of every other thread (the compiler's and the garbage collector's helpers), whole counted load. */
  readonly otherThreads: number;
}

/** --gateway: the bare upstream the proxies forward to (not counted). */
const upstream = gateway ? await startServer({ mode: 'bare', env: {} }) : undefined;

/** callgrind's command line for one counted process, writing `output`-01 (main thread), -02... */
function callgrind(output: string, nodeArgs: string[]): string[] {
  return [
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    '--smc-check=all-non-file',
    ...(simulate ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
    `--callgrind-out-file=${join(dir, output)}`,
    process.execPath,
    '--perf-basic-prof',
    ...nodeArgs,
  ];
}

/** --gateway: `spec` (gateway, gateway-quiet, proxy, proxy-headers; a gateway on another build after @) under callgrind. */
async function startProxy(spec: string, output: string): Promise<{ child: ChildProcess; port: number }> {
  const [mode, build = 'dist/cli.js'] = spec.split('@') as [string, string?];
  const port = await freePort();
  const upstreamUrl = `http://127.0.0.1:${upstream!.port}`;
  const proxyClient = { proxy: 'undici-dispatch', 'proxy-headers': 'undici-dispatch-headers' }[mode];
  if (!proxyClient && mode !== 'gateway' && mode !== 'gateway-quiet')
    throw new Error(`--gateway: unknown mode ${mode}`);
  const nodeArgs = proxyClient
    ? ['--import', 'tsx', join(ROOT, 'bench/servers/plain-proxy.ts')]
    : [
        ...[build, 'gateway', '--listen', `127.0.0.1:${port}`, '--upstream', upstreamUrl],
        ...['--users', 'demo-app/users.json', '--debug', '0'],
        ...(mode === 'gateway-quiet' ? ['--access-log', 'off'] : []),
      ];
  const child = spawn('valgrind', callgrind(output, nodeArgs), {
    cwd: ROOT,
    env: { ...process.env, UPSTREAM: upstreamUrl, PORT: String(port), PROXY_CLIENT: proxyClient ?? '' },
    // The gateway's access lines go to a pipe, as they would to a log collector; drained here.
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout!.resume();
  try {
    await waitForPort(port, 120_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { child, port };
}

/** `mode`'s server under callgrind, its output files named `output`-01 (main thread), -02...; killed if it does not start. */
async function start(
  { mode, env }: BuildSpec,
  output: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    'valgrind',
    callgrind(output, [
      ...(kerberos ? ['--import', FIXTURE_CLOCK] : []),
      '--import',
      'tsx',
      join(ROOT, 'bench/servers/app.ts'),
    ]),
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...env,
        BENCH_MODE: mode,
        ...FIXTURE_SERVER_ENV,
        BENCH_JWT_SECRET: 's'.repeat(48),
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${mode} did not start in 120 s`)), 120_000);
    child.on('message', (message: { type: string; port?: number }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve(message.port!);
    });
    child.on('exit', () => reject(new Error(`${mode} exited`)));
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return { child, port };
}

/** The next request's bytes: a Kerberos logon (--kerberos), the Bearer token (--bearer) or a bare GET. */
function nextRequest(): Buffer {
  if (mint)
    return requestBytes('127.0.0.1', '/', { Authorization: `Negotiate ${mint().toString('base64')}` });
  return requestBytes('127.0.0.1', '/', token ? { Authorization: `Bearer ${token}` } : {});
}

/** As many GETs as the connections carry for `durationMs`; throws on anything but 200. */
async function load(connections: HttpConnection[], durationMs: number): Promise<number> {
  const same = mint ? undefined : nextRequest();
  const deadline = performance.now() + durationMs;
  let answered = 0;
  await Promise.all(
    connections.map(async (connection) => {
      while (performance.now() < deadline) {
        const reply = await connection.request(same ?? nextRequest());
        if (reply.status !== 200) throw new Error(`status ${reply.status}`);
        answered++;
      }
    }),
  );
  return answered;
}

/** `spec`'s server counted; its callgrind files are named after `index` (its place in the list) and its mode. */
async function count(spec: string, index: number): Promise<Counted> {
  const build = parseBuildSpec(spec);
  const { mode } = build;
  const output = `${index}-${mode}`;
  const { child, port } = gateway ? await startProxy(spec, output) : await start(build, output);
  try {
    if (bearer && token === undefined) {
      if (mode !== 'ours-bearer')
        throw new Error('--bearer: list ours-bearer first, whose handshake issues the token');
      const side = await HttpConnection.open(port);
      token = (await handshake(side, ALICE)).authorization?.slice('Bearer '.length);
      side.close();
      if (!token) throw new Error('ours-bearer issued no token');
    }
    const logsOn =
      (gateway && mode.startsWith('gateway')) ||
      (!bearer && !kerberos && (mode.startsWith('ours') || mode.startsWith('handshake-')));
    const connect = () =>
      Promise.all(
        Array.from({ length: 8 }, async () => {
          const connection = await HttpConnection.open(port, 60_000);
          if (logsOn && (await handshake(connection, ALICE)).status !== 200) throw new Error('logon failed');
          return connection;
        }),
      );
    let connections = await connect();
    // PROBE_RECONNECT_MS: the warm-up on connections replaced this often, as the bench's rounds
    // replace theirs; the counted load runs on the last ones.
    for (let warmed = 0; warmed < warmMs; warmed += reconnectMs) {
      await load(connections, Math.min(reconnectMs, warmMs - warmed));
      if (warmed + reconnectMs >= warmMs) break;
      for (const connection of connections) connection.close();
      connections = await connect();
    }
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    const requests = await load(connections, countedMs);
    execFileSync('callgrind_control', ['--instr=off', String(child.pid)], { stdio: 'ignore' });
    for (const connection of connections) connection.close();
    if (gateway) child.kill('SIGTERM');
    else child.send({ type: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
    // Thread 1 is the main thread (the others: the compiler's and the garbage collector's helpers).
    const mainThread = readdirSync(dir).find((name) => name === `${output}-01`);
    if (!mainThread) throw new Error(`no callgrind output for ${mode}'s main thread`);
    const otherThreads = readdirSync(dir)
      .filter((name) => name.startsWith(`${output}-`) && name !== mainThread)
      .reduce((sum, name) => sum + totalInstructions(join(dir, name)), 0);
    const byFunction = functions(join(dir, mainThread), child.pid!);
    const listed = inclusive ? functions(join(dir, mainThread), child.pid!, true) : byFunction;
    if (!keep) rmSync(`/tmp/perf-${child.pid}.map`, { force: true });
    return {
      mode: spec,
      requests,
      pid: child.pid!,
      byFunction,
      listed,
      events: eventTotals(join(dir, mainThread)),
      otherThreads,
    };
  } finally {
    child.kill('SIGKILL');
  }
}

/** A callgrind output file's totals per event (its `totals:` line; `summary:` at the top is 0 while counting is off at the start). */
function eventTotals(file: string): Map<string, number> {
  const text = readFileSync(file, 'utf8');
  const names = /^events: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
  const totals = /^totals: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  return new Map(names.map((name, i) => [name, totals[i] ?? 0]));
}

/** A callgrind output file's instructions (its `Ir` total). */
function totalInstructions(file: string): number {
  return eventTotals(file).get('Ir') ?? 0;
}

/** Whether the per-function changes count each function's callees in (PROBE_INCLUSIVE=1). */
const inclusive = process.env.PROBE_INCLUSIVE === '1';
/** PROBE_KEEP=1: the callgrind files and perf maps stay for reading by hand. */
const keep = process.env.PROBE_KEEP === '1';

/**
 * Instructions per function, self (or with `withCallees`, inclusive); JIT code (an address to
 * valgrind) named from V8's perf map.
 */
function functions(file: string, pid: number, withCallees = false): Map<string, number> {
  const perfMap = readFileSync(`/tmp/perf-${pid}.map`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [start, size, ...name] = line.split(' ');
      return {
        start: Number.parseInt(start!, 16),
        end: Number.parseInt(start!, 16) + Number.parseInt(size!, 16),
        name: name.join(' '),
      };
    });
  const options = ['--threshold=100', '--show=Ir', ...(withCallees ? ['--inclusive=yes'] : [])];
  const annotated = execFileSync('callgrind_annotate', [...options, file], {
    maxBuffer: 1 << 28,
  }).toString();
  const byFunction = new Map<string, number>();
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+) \([\s\d.]+%\)\s+(.*)$/.exec(line);
    if (!match || match[2]!.includes('PROGRAM TOTALS')) continue;
    let name = match[2]!.replace(/\(v8::internal.*$/, '');
    const jit = /^\?\?\?:0x([0-9a-f]+)/.exec(name);
    if (jit) {
      const at = Number.parseInt(jit[1]!, 16);
      name = `JIT ${perfMap.find((code) => code.start <= at && at < code.end)?.name.replace(/0x[0-9a-f]+/g, '') ?? '?'}`;
    }
    byFunction.set(name, (byFunction.get(name) ?? 0) + Number(match[1]!.replaceAll(',', '')));
  }
  return byFunction;
}

const perRequest = (counted: Counted, include: (name: string) => boolean) =>
  [...counted.byFunction].reduce((sum, [name, n]) => (include(name) ? sum + n : sum), 0) / counted.requests;

try {
  const results: Counted[] = [];
  for (const [index, mode] of modes.entries()) {
    const counted = await count(mode, index);
    results.push(counted);
    console.log(
      `${mode.padEnd(16)} ${counted.requests} requests counted; instructions per request: ` +
        `${Math.round(perRequest(counted, () => true))} main thread, ` +
        `${Math.round(perRequest(counted, (name) => !GC.test(name)))} outside the garbage collector; ` +
        `${Math.round(counted.otherThreads / counted.requests)} in other threads`,
    );
    if (simulate)
      console.log(
        `${''.padEnd(16)} main thread per request: ${[...counted.events]
          .map(([event, total]) => `${event} ${Math.round(total / counted.requests)}`)
          .join(', ')}`,
      );
  }
  if (results.length === 2) {
    const [a, b] = results as [Counted, Counted];
    const names = new Set([...a.listed.keys(), ...b.listed.keys()]);
    const rows = [...names]
      .map((name) => {
        const before = (a.listed.get(name) ?? 0) / a.requests;
        const after = (b.listed.get(name) ?? 0) / b.requests;
        return { name, before, after, change: after - before };
      })
      .sort((x, y) => Math.abs(y.change) - Math.abs(x.change))
      .slice(0, Number(process.env.PROBE_TOP ?? 30));
    console.log(
      `\nper request, ${a.mode} → ${b.mode}, the ${Number(process.env.PROBE_TOP ?? 30)} largest changes${inclusive ? ' (inclusive: callees counted in)' : ''}:`,
    );
    for (const row of rows)
      console.log(
        `${row.change >= 0 ? '+' : ''}${Math.round(row.change)}\t${Math.round(row.before)}\t${Math.round(row.after)}\t${row.name.slice(0, 110)}`,
      );
  }
} finally {
  await upstream?.stop();
  if (keep) console.log(`\ncallgrind files kept in ${dir}; V8's perf maps in /tmp/perf-<pid>.map`);
  else rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
