// What the young generation does per Kerberos logon: each mode of bench/servers/app.ts (local
// users, no DC) runs under --trace-gc-nvp with its clock at the capture time of the saved token of
// test/fixtures/kerberos, is warmed for 4 s, and then takes row 5's load (a new connection per
// logon, 8 in flight, a fresh authenticator each) for 6 s. Prints per logon the bytes allocated and
// promoted out of the young generation by scavenges, and the scavenges' pause. Objects that
// survive a scavenge are what makes it cost (bench/analysis.md, session 17):
//   node --import tsx bench/probes/kerberos-scavenges.ts ours-kerberos negotiate-contract
//   ... kerberos-scavenges.ts ours-kerberos@.tmp/distB/index.js ours-kerberos   (another build)
import { spawn } from 'node:child_process';
import { parseBuildSpec } from '../lib/build-spec.js';
import { ROOT } from '../lib/children.js';
import { FIXTURE_CLOCK, FIXTURE_SERVER_ENV, fixtureMint } from '../lib/kerberos-fixture.js';
import { kerberosLogonLoad } from '../lib/kerberos-load.js';

const mints = [await fixtureMint()];

/** The sum of one field of V8's name=value GC lines. */
const total = (lines: string[], field: string) =>
  lines.reduce((sum, line) => sum + Number(new RegExp(`\\b${field}=([\\d.]+)`).exec(line)?.[1] ?? 0), 0);

for (const spec of process.argv.slice(2)) {
  const { mode, env } = parseBuildSpec(spec);
  const child = spawn(
    process.execPath,
    ['--trace-gc-nvp', '--import', FIXTURE_CLOCK, '--import', 'tsx', 'bench/servers/app.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_MODE: mode, ...FIXTURE_SERVER_ENV },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  let trace = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    trace += chunk.toString();
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.on('message', (message: { type: string; port?: number }) => {
        if (message.type === 'ready') resolve(message.port!);
      });
      child.once('exit', () => reject(new Error(`${spec} exited before it was ready`)));
    });
    await kerberosLogonLoad({ port, parallel: 8, durationMs: 4000, mints });
    const from = trace.length;
    const counted = await kerberosLogonLoad({ port, parallel: 8, durationMs: 6000, mints });
    if (counted.errors) throw new Error(`${spec}: ${counted.errors} logons failed: ${counted.firstError}`);
    const scavenges = trace
      .slice(from)
      .split('\n')
      .filter((line) => line.includes('gc=s'));
    const perLogon = (value: number) => Math.round(value / counted.ok);
    console.log(
      `${spec}: ${counted.ok} logons, ${scavenges.length} scavenges; per logon: ` +
        `${perLogon(total(scavenges, 'allocated'))} B allocated, ${perLogon(total(scavenges, 'promoted'))} B promoted, ` +
        `${((total(scavenges, 'pause') * 1000) / counted.ok).toFixed(1)} µs of scavenge pause`,
    );
  } finally {
    child.send({ type: 'stop' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}
