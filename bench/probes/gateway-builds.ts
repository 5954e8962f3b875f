// Two (or more) builds of the gateway side by side, header mode with local users (no DC), in
// front of one bare Express upstream, with the minimal undici proxy (7e) and the upstream direct:
// interleaved rounds of the bench's keep-alive load, rate and each process's CPU per request from
// /proc. Steadier than comparing bench runs on a shared machine. Build the old version into a
// folder inside the repository (node_modules must resolve), then, in a network namespace:
//   unshare -n bash -c 'ip link set lo up; node --import tsx bench/probes/gateway-builds.ts .tmp/dist-before/cli.js dist/cli.js'
// AB_ROUNDS (7) rounds of AB_MS (3000) ms each.
import { type Child, freePort, startListening, startPlainProxy, startServer } from '../lib/children.js';
import { processCpuMs } from '../lib/cpu.js';
import { keepAliveLoad } from '../lib/ntlm-load.js';
import { median } from '../lib/stats.js';

const builds = process.argv.slice(2);
const rounds = Number(process.env.AB_ROUNDS ?? 7);
const roundMs = Number(process.env.AB_MS ?? 3000);
const users = [{ user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' }];
const upstream = await startServer({ mode: 'bare', env: {} });
const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
const children: Record<string, Child> = {};
try {
  for (const build of builds) {
    const port = await freePort();
    children[build] = await startListening(
      process.execPath,
      [
        build,
        'gateway',
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        upstreamUrl,
        '--users',
        'demo-app/users.json',
        '--debug',
        '0',
      ],
      port,
    );
  }
  children.undici = await startPlainProxy(upstreamUrl, 'undici');
  const names = [...builds, 'undici', 'direct'];
  const rate: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const run = async (name: string, ms: number) => {
    const child = children[name];
    const port = child ? child.port : upstream.port;
    const before = child ? processCpuMs(child.child.pid!) : 0;
    const r = await keepAliveLoad({
      port,
      connections: 8,
      durationMs: ms,
      users: builds.includes(name) ? users : undefined,
    });
    if (r.errors) console.log(`${name}: ${r.errors} errors`);
    if (child) cpu[name]!.push(((processCpuMs(child.child.pid!) - before) * 1000) / r.ok);
    rate[name]!.push(r.rate);
  };
  const reset = () => {
    for (const name of names) {
      rate[name] = [];
      cpu[name] = [];
    }
  };
  reset();
  for (const name of names) await run(name, 1500);
  reset();
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 ? [...names].reverse() : names;
    for (const name of order) await run(name, roundMs);
  }
  for (const name of names) {
    const ratio = median(rate[name]!.map((r, i) => r / rate.direct![i]!));
    console.log(
      `${name.padEnd(28)} rate ${Math.round(median(rate[name]!))} req/s  vs direct ${ratio.toFixed(2)}x  cpu/req ${cpu[name]?.length ? median(cpu[name]!).toFixed(1) + ' µs  [' + cpu[name]!.map((c) => c.toFixed(0)).join(' ') + ']' : '-'}`,
    );
  }
} finally {
  for (const child of Object.values(children)) await child.stop();
  await upstream.stop();
}
