// Scenarios 4 and 5 compare two ways of logging on (the LDAP relay and another), each logon on a
// new connection, PARALLEL_LOGONS in flight: an unmeasured warm-up of each, then interleaved
// rounds, with the CPU each party spent per logon (the DC, the server, the load generator) read
// from /proc, since on 2 shared cores that is what bounds a logon rate.
import type { ServerChild } from './children.js';
import type { Context } from './context.js';
import { dcCpuMs, processCpuMs, selfCpuMs } from './cpu.js';
import type { LogonResult } from './ntlm-load.js';
import { interleave, median } from './stats.js';

export interface LogonWay {
  readonly name: string;
  /** The server process the logons go to (its CPU is counted). */
  readonly server: ServerChild;
  /** Logons for `durationMs`, PARALLEL_LOGONS in flight, a new connection each. */
  load(durationMs: number): Promise<LogonResult>;
}

export interface CpuPerLogon {
  readonly dc: number;
  readonly server: number;
  readonly client: number;
}

export interface PairOutcome {
  /** Logons per second of each way, one per round. */
  readonly samples: Record<string, number[]>;
  readonly errors: Record<string, number>;
  readonly firstErrors: Record<string, string | undefined>;
  /** CPU-ms per logon of each party, median of the rounds. */
  readonly cpu: Record<string, CpuPerLogon>;
}

export async function compareLogonWays(
  ctx: Context,
  id: string,
  ways: readonly LogonWay[],
): Promise<PairOutcome> {
  const byName = new Map(ways.map((way) => [way.name, way]));
  const errors: Record<string, number> = {};
  const firstErrors: Record<string, string | undefined> = {};
  const perRound: Record<string, { dc: number[]; server: number[]; client: number[] }> = {};
  for (const way of ways) {
    errors[way.name] = 0;
    perRound[way.name] = { dc: [], server: [], client: [] };
    await way.load(ctx.sizes.warmupMs);
  }
  const samples = await interleave(
    ways.map((way) => way.name),
    ctx.sizes.rounds,
    async (name) => {
      const way = byName.get(name)!;
      const pid = way.server.child.pid!;
      const before = { dc: dcCpuMs(), server: processCpuMs(pid), client: selfCpuMs() };
      const result = await way.load(ctx.sizes.logonRoundMs);
      if (result.ok > 0) {
        perRound[name]!.dc.push((dcCpuMs() - before.dc) / result.ok);
        perRound[name]!.server.push((processCpuMs(pid) - before.server) / result.ok);
        perRound[name]!.client.push((selfCpuMs() - before.client) / result.ok);
      }
      errors[name]! += result.errors;
      firstErrors[name] ??= result.firstError;
      ctx.log(`  ${id} ${name}: ${result.rate.toFixed(1)} logons/s (${result.errors} failed)`);
      return result.rate;
    },
  );
  const cpu: Record<string, CpuPerLogon> = {};
  for (const [name, rounds] of Object.entries(perRound)) {
    cpu[name] = { dc: median(rounds.dc), server: median(rounds.server), client: median(rounds.client) };
  }
  return { samples, errors, firstErrors, cpu };
}

/** "relay 74.1, 80.2; netlogon 301.5, 297.0" */
export function describeRounds(samples: Record<string, number[]>): string {
  return Object.entries(samples)
    .map(([name, rates]) => `${name} ${rates.map((rate) => rate.toFixed(1)).join(', ')}`)
    .join('; ');
}

/** "relay: DC 6.10, server 1.90, load generator 1.20; ..." (CPU-ms per logon) */
export function describeCpu(cpu: Record<string, CpuPerLogon>): string {
  const ms = (value: number) => value.toFixed(2);
  return Object.entries(cpu)
    .map(([name, c]) => `${name}: DC ${ms(c.dc)}, server ${ms(c.server)}, load generator ${ms(c.client)}`)
    .join('; ');
}

/** "failed logons: relay 0; netlogon 2 (first: ...)" */
export function describeErrors(outcome: PairOutcome): string {
  const parts = Object.entries(outcome.errors).map(([name, count]) => {
    const first = outcome.firstErrors[name];
    return `${name} ${count}${first ? ` (first: ${first})` : ''}`;
  });
  return `failed logons: ${parts.join('; ')}`;
}
