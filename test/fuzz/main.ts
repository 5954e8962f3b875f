// npm run fuzz -- [--count 1000000] [--from 0] [--seed N] [--only kerberos,pac] [--replay INDEX]
//                  [--concurrency 16] [--timeout-ms 30000] [--json FILE]
// The review's fuzz (issue 18): inputs through the authenticator, mutating NTLM NEGOTIATE and
// AUTHENTICATE, SPNEGO, Kerberos DER, the PAC, JWTs and the DC's NDR answers; the Netlogon family
// against the real Samba DC (started by test/helpers/samba.ts inside this network namespace).
// Prints the seed first, a line every 50,000 inputs, then the summary; exits 1 on any crash,
// hang or 5xx. `--replay I` runs input I of the seed's run alone and prints it.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sambaMissing, startDc, stopDc } from '../helpers/samba.js';
import { FAMILIES } from './families.js';
import { type FuzzRun, type FuzzSummary, runFuzz } from './harness.js';
import { formatSummary, WEIGHTS } from './report.js';
import { contextFactory, netlogonTarget } from './setup.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    from: { type: 'string', default: '0' },
    seed: { type: 'string' },
    only: { type: 'string' },
    replay: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'timeout-ms': { type: 'string', default: '30000' },
    json: { type: 'string' },
  },
});

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const only = values.only?.split(',');
const timeoutMs = Number(values['timeout-ms']);
const families = FAMILIES.filter((family) => !only || only.includes(family.name)).map(
  (family) => [WEIGHTS[family.name] ?? 1, family] as const,
);
const wantsDc = families.some(([, family]) => family.name === 'netlogon');
console.log(`fuzz seed ${seed} (repeat with --seed ${seed})`);

const missing = wantsDc ? await sambaMissing() : undefined;
if (missing) {
  console.error(`the netlogon family needs the Samba DC: ${missing}`);
  process.exit(2);
}
if (wantsDc) await startDc({ strict: true });
const dc = wantsDc ? netlogonTarget(timeoutMs) : undefined;
const dcCalls = { answered: 0, down: 0 };
dc?.verifier.observe({
  dcKnown() {},
  directoryCache() {},
  dcDown: () => dcCalls.down++,
  dcUp() {},
  dcLatency: () => dcCalls.answered++,
});

const replay = values.replay === undefined ? undefined : Number(values.replay);
const run: FuzzRun = {
  seed,
  count: replay === undefined ? Number(values.count) : 1,
  from: replay ?? Number(values.from),
  families,
  concurrency: replay === undefined ? Number(values.concurrency) : 1,
  context: await contextFactory({ timeoutMs, netlogon: dc?.target }),
  rotateEvery: 50_000,
  onStart: (summary) => {
    // Stopped early (SIGINT, SIGTERM): print what was counted so far.
    const stop = () => {
      console.log(`STOPPED EARLY\n${formatSummary(summary(), dcCalls)}`);
      process.exit(3);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  onProgress: (done, summary) => {
    const s = summary();
    console.log(
      `${done.toLocaleString('en')} inputs, ${s.seconds.toFixed(0)} s (${Math.round(done / s.seconds)}/s): ${s.crashes} crashes, ${s.hangs} hangs, ${s.serverErrors} 5xx`,
    );
  },
};

let summary: FuzzSummary;
try {
  summary = await runFuzz(run);
} finally {
  await dc?.target.close();
  if (wantsDc) await stopDc();
}
console.log(formatSummary(summary, dcCalls, replay !== undefined));
if (values.json) writeFileSync(values.json, `${JSON.stringify({ ...summary, dcCalls }, null, 2)}\n`);
process.exit(summary.crashes + summary.hangs + summary.serverErrors === 0 ? 0 : 1);
