// `npm run bench [-- --quick] [--only 1,3] [--note TEXT] [--out DIR] [--no-build] [--render]`: builds the
// package, starts the Samba test DC (non-strict: browsers' relayed binds are unsigned), runs
// every scenario with its servers in processes of their own, stops everything, and writes
// <out>/results/latest.json and <out>/RESULTS.md (out: bench/). Run it through bench/run.sh
// (npm run bench), which gives it a network namespace of its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ensureLoadUsers,
  KEYTAB,
  LOAD_USERS,
  MACHINE_PASSWORD,
  sambaMissing,
  startDc,
  stopDc,
} from '../test/helpers/samba.js';
import { ROOT } from './lib/children.js';
import { type Context, FULL, QUICK } from './lib/context.js';
import { detectFeatures } from './lib/features.js';
import type { ProfileSummary } from './lib/profile.js';
import { notRun, type Report, type Row, writeReport } from './lib/report.js';
import { bearerScenario } from './scenarios/bearer.js';
import { cachesScenario } from './scenarios/caches.js';
import { gatewayScenario } from './scenarios/gateway.js';
import { heapScenario } from './scenarios/heap.js';
import { keepAliveScenario } from './scenarios/keep-alive.js';
import { kerberosScenario } from './scenarios/kerberos.js';
import { logonScenario } from './scenarios/logons.js';
import { netlogonScenario } from './scenarios/netlogon.js';
import { workersScenario } from './scenarios/workers.js';

/** Every scenario, in the order, with the rows it reports when it cannot run at all. */
const SCENARIOS: { n: number; name: string; goal: string; run: (ctx: Context) => Promise<Row[]> }[] = [
  { n: 1, name: 'authenticated keep-alive requests vs bare Express', goal: '≥ 0.97', run: keepAliveScenario },
  { n: 2, name: 'Bearer requests vs bare Express', goal: '≥ 0.92', run: bearerScenario },
  { n: 3, name: 'full logons vs the DC direct', goal: '≥ 0.90', run: logonScenario },
  { n: 4, name: 'Netlogon logons vs LDAP-relay logons', goal: '≥ 1.5', run: netlogonScenario },
  { n: 5, name: 'Kerberos logons vs LDAP-relay logons', goal: '≥ 10', run: kerberosScenario },
  { n: 6, name: 'heap per idle authenticated connection', goal: '≤ +1 KB/conn', run: heapScenario },
  { n: 7, name: 'gateway vs the upstream direct', goal: '≥ 0.80', run: gatewayScenario },
  { n: 8, name: 'revocation and directory caches', goal: 'report', run: cachesScenario },
  { n: 9, name: 'gateway --workers 2 vs 1', goal: 'report', run: workersScenario },
];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    note: { type: 'string' },
    out: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    /** Rewrite RESULTS.md from results/latest.json (after editing bench/analysis.md), without measuring. */
    render: { type: 'boolean', default: false },
  },
});
const sizes = values.quick ? QUICK : FULL;
const only = values.only ? new Set(values.only.split(',').map(Number)) : undefined;
const outDir = values.out ?? join(ROOT, 'bench');
if (values.render) {
  const report = JSON.parse(readFileSync(join(outDir, 'results', 'latest.json'), 'utf8')) as Report;
  writeReport(report, outDir, join(ROOT, 'bench/analysis.md'));
  console.log(`rewrote ${join(outDir, 'RESULTS.md')} from results/latest.json`);
  process.exit(0);
}
const started = Date.now();
const loadAverageStart = os.loadavg();
const log = (message: string) =>
  console.log(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${message}`);

if (!values['no-build']) {
  log('building the package (tsup): the gateway scenario runs dist/cli.js');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--silent'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
const missing = await sambaMissing();
if (missing) {
  console.error(`bench: ${missing}`);
  process.exit(1);
}

const tmp = mkdtempSync(join(os.tmpdir(), 'ntlm-sso-bench-'));
const profiles: ProfileSummary[] = [];
const rows: Row[] = [];
let failed = false;
try {
  log('starting the Samba DC (non-strict)');
  await startDc({ strict: false });
  await ensureLoadUsers();
  const ctx: Context = {
    sizes,
    dcUrl: 'ldap://127.0.0.1',
    users: LOAD_USERS,
    machinePassword: MACHINE_PASSWORD,
    tmp,
    profiles,
    features: await detectFeatures(KEYTAB),
    log,
  };
  for (const scenario of SCENARIOS) {
    if (only && !only.has(scenario.n)) continue;
    log(`scenario ${scenario.n}: ${scenario.name}`);
    try {
      rows.push(...(await scenario.run(ctx)));
    } catch (error) {
      failed = true;
      console.error(error);
      rows.push(
        notRun(
          String(scenario.n),
          scenario.name,
          scenario.goal,
          'error',
          `the scenario failed: ${(error as Error).message}`,
        ),
      );
    }
  }
} finally {
  log('stopping the DC');
  await stopDc().catch((error) => console.error('bench: could not stop the DC:', error));
  rmSync(tmp, { recursive: true, force: true });
}

const cpus = os.cpus();
writeReport(
  {
    date: new Date().toISOString(),
    node: process.version,
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    quick: values.quick,
    machineNote: values.note ?? process.env.BENCH_NOTE ?? '',
    loadAverageStart,
    loadAverageEnd: os.loadavg(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    method: [
      'Servers (Express 4 with the same tiny handler) run in processes of their own, started by the bench; ' +
        'the load generator is the bench process. Samba, the servers and the load generator share the machine.',
      `Ratios compare variants measured in the same run, in ${sizes.rounds} interleaved rounds, in orders that ` +
        'follow a Williams design (every variant follows every other equally often), ' +
        'after an unmeasured warm-up; the figure is the median of the rounds, the ratio the median of the ' +
        `per-round ratios. Scenarios 1 and 2 run ${sizes.freshRounds} shorter rounds instead, each against servers ` +
        'started afresh (each warmed by two loads on new connections just before it is measured), so that a ' +
        'process that sits a few % off for its whole life weighs in one round only.',
      'The interval column, for a ratio with a goal: where the rounds put the median of its per-round ratios, ' +
        'from their order alone (the 3rd lowest to the 3rd highest of 12 rounds, 96% confidence; the lowest to ' +
        'the highest of 5, 94%). A goal inside it is one this run cannot tell met from missed.',
      'Plain and Bearer requests: autocannon. NTLM: a client of our own (bench/lib/ntlm-load.ts) that ' +
        'authenticates each keep-alive connection once and then sends many requests on it, as browsers do; ' +
        'logons open a new connection each.',
      'Kerberos (scenario 5): one real token per user from kinit and curl --negotiate (MIT krb5), then per logon ' +
        'the same ticket with its authenticator sealed again (fresh confounder and ctime), so the server does its ' +
        'full work, replay cache included, without a curl process per logon (bench/lib/kerberos-load.ts). ' +
        "A round's tokens are sealed before it starts, as a browser's are made on the user's machine; the " +
        "server sees each client's ticket again on every new connection, as from a real client.",
      'The DC is the test DC of test/helpers/samba.ts with `ldap server require strong auth = no`; the bench ' +
        'runs in a network namespace of its own (bench/run.sh).',
    ],
    rows,
    profiles,
  },
  outDir,
  join(ROOT, 'bench/analysis.md'),
);
log(`wrote ${join(outDir, 'RESULTS.md')} and ${join(outDir, 'results/latest.json')}`);
process.exit(failed ? 1 : 0);
