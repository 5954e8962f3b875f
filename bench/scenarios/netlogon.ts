// Scenario 4: NTLM logons validated over Netlogon (MS-NRPC NetrLogonSamLogonWithFlags on the
// machine account's sealed secure channels, kept open) vs the same logons relayed to LDAP (a new
// DC connection and two SASL binds each), same DC, same users, a new HTTP connection per logon,
// 8 in flight. Two server processes, one per verifier; the same load client (three legs each).

import { intervalStanding } from '../lib/bounds.js';
import { startServer } from '../lib/children.js';
import { type Context, PARALLEL_LOGONS } from '../lib/context.js';
import { compareLogonWays, describeCpu, describeErrors, describeRounds } from '../lib/logon-pair.js';
import { logonLoad } from '../lib/ntlm-load.js';
import { profileServer } from '../lib/profile.js';
import { notRun, type Row, reportedRatio } from '../lib/report.js';
import { median, pairedInterval, pairedRatio, round } from '../lib/stats.js';

const SCENARIO = 'Netlogon logons vs LDAP-relay logons';
const GOAL = 1.5;

/** 4b: a Netlogon logon with its group names from the cache (no RPC) vs from LSA each time. */
function groupNamesRow(ctx: Context, outcome: Awaited<ReturnType<typeof compareLogonWays>>): Row {
  const { samples, cpu } = outcome;
  const ratio = pairedRatio(samples.cold!, samples.warm!);
  const perLogonMs = (rate: number) => (1000 * PARALLEL_LOGONS) / rate;
  const extraMs = perLogonMs(median(samples.cold!)) - perLogonMs(median(samples.warm!));
  return reportedRatio({
    id: '4b',
    scenario: `Netlogon logons, group names from LSA each time (cold) vs from the cache (warm), ${PARALLEL_LOGONS} in parallel`,
    unit: 'logons/s',
    ours: median(samples.cold!),
    baselineName: 'group names from the per-SID cache (no RPC)',
    baseline: median(samples.warm!),
    ratio: ratio,
    detail:
      `${ctx.sizes.rounds} interleaved rounds of ${ctx.sizes.logonRoundMs / 1000} s; the same server as 4 (warm: ` +
      `after the warm-up every SID is cached) vs netlogon({ cache: false }) (cold: one LsarLookupSids3 of ` +
      `user + group SIDs per logon, on the one LSA connection). logons/s per round: ${describeRounds(samples)}; ` +
      `about ${extraMs.toFixed(2)} ms more wall time per logon slot cold. CPU-ms per logon (median of rounds): ` +
      `${describeCpu(cpu)}. ${describeErrors(outcome)}.`,
    samples,
  });
}

export async function netlogonScenario(ctx: Context): Promise<Row[]> {
  if (!ctx.features.netlogon) {
    return [
      notRun(
        '4',
        SCENARIO,
        `≥ ${GOAL}`,
        'not in this build',
        'the package exports no netlogon() verifier; the scenario runs by itself once it does.',
      ),
    ];
  }
  const env = { BENCH_DC_URL: ctx.dcUrl, BENCH_MACHINE_PASSWORD: ctx.machinePassword };
  const relay = await startServer({ mode: 'ours', env });
  const netlogon = await startServer({ mode: 'ours-netlogon', env }).catch(async (error) => {
    await relay.stop();
    throw error;
  });
  const cold = await startServer({ mode: 'ours-netlogon-cold', env }).catch(async (error) => {
    await Promise.all([relay.stop(), netlogon.stop()]);
    throw error;
  });
  try {
    const ntlmLogons = (port: number) => (durationMs: number) =>
      logonLoad({ port, parallel: PARALLEL_LOGONS, durationMs, users: ctx.users });
    const outcome = await compareLogonWays(ctx, '4', [
      { name: 'relay', server: relay, load: ntlmLogons(relay.port) },
      { name: 'netlogon', server: netlogon, load: ntlmLogons(netlogon.port) },
    ]);
    await profileServer(
      ctx,
      '4 full logons through Netlogon (ours, Express 4)',
      { mode: 'ours-netlogon', env },
      (port) => ntlmLogons(port)(ctx.sizes.profileMs),
    );
    const names = await compareLogonWays(ctx, '4b', [
      { name: 'warm', server: netlogon, load: ntlmLogons(netlogon.port) },
      { name: 'cold', server: cold, load: ntlmLogons(cold.port) },
    ]);
    const { samples, cpu } = outcome;
    const ratio = pairedRatio(samples.netlogon!, samples.relay!);
    const interval = pairedInterval(samples.netlogon!, samples.relay!);
    const ms = (value: number) => value.toFixed(2);
    return [
      {
        id: '4',
        scenario: `${SCENARIO} (new connection each, ${PARALLEL_LOGONS} in parallel)`,
        unit: 'logons/s',
        ours: median(samples.netlogon!),
        baselineName: 'the same logons through the LDAP relay',
        baseline: median(samples.relay!),
        ratio: round(ratio, 3),
        compare: `${ratio.toFixed(2)}×`,
        interval,
        goal: `≥ ${GOAL}`,
        met: ratio >= GOAL && outcome.errors.netlogon === 0,
        status: 'measured',
        detail:
          `${ctx.sizes.rounds} interleaved rounds of ${ctx.sizes.logonRoundMs / 1000} s, ${PARALLEL_LOGONS} logons in ` +
          `flight, ${ctx.users.length} users in turn, each logon NEGOTIATE and AUTHENTICATE on a new connection; ` +
          `netlogon({ dcs: ['127.0.0.1'], machineAccount: 'WEB01$' }) with its default 4 secure channels vs ` +
          `domainController(). logons/s per round: ${describeRounds(samples)}. CPU-ms per logon (median of ` +
          `rounds, from /proc): ${describeCpu(cpu)}. ${describeErrors(outcome)}.`,
        bound:
          intervalStanding(interval, GOAL) +
          `The DC, the server and the load generator share 2 cores. Per logon the DC spent ` +
          `${ms(cpu.netlogon!.dc)} ms over Netlogon and ${ms(cpu.relay!.dc)} ms through the relay; the server ` +
          `${ms(cpu.netlogon!.server)} ms and ${ms(cpu.relay!.server)} ms; the load generator ` +
          `${ms(cpu.netlogon!.client)} ms and ${ms(cpu.relay!.client)} ms.`,
        samples,
      },
      groupNamesRow(ctx, names),
    ];
  } finally {
    await cold.stop();
    await netlogon.stop();
    await relay.stop();
  }
}
