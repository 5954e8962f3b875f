// Scenario 9: `ntlm-sso gateway --workers 2` vs 1 worker, in header mode (LDAP relay) in front of
// a bare Express upstream, with the same keep-alive client as scenario 7 (each connection logs
// on once, then sends requests). A report row: on the 2-core machine the bench runs on, the load
// generator and the upstream share those 2 cores with the gateway, so 2 workers cannot double it.
import os from 'node:os';
import { type Child, type ServerChild, startGateway, startServer } from '../lib/children.js';
import { CONNECTIONS, type Context } from '../lib/context.js';
import { keepAliveLoad } from '../lib/ntlm-load.js';
import { type Row, reportedRatio } from '../lib/report.js';
import { interleave, median, pairedRatio } from '../lib/stats.js';

export async function workersScenario(ctx: Context): Promise<Row[]> {
  const children: Child[] = [];
  let upstream: ServerChild | undefined;
  try {
    upstream = await startServer({ mode: 'bare', env: {} });
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const one = await startGateway(upstreamUrl, ctx.dcUrl);
    children.push(one);
    const two = await startGateway(upstreamUrl, ctx.dcUrl, { workers: 2 });
    children.push(two);
    const ports: Record<string, number> = { '1 worker': one.port, '2 workers': two.port };
    let errors = 0;
    const load = (variant: string, durationMs: number) =>
      keepAliveLoad({ port: ports[variant]!, connections: CONNECTIONS, durationMs, users: ctx.users });
    for (const variant of Object.keys(ports)) await load(variant, ctx.sizes.warmupMs);
    const samples = (await interleave<string>(Object.keys(ports), ctx.sizes.rounds, async (variant) => {
      const result = await load(variant, ctx.sizes.requestRoundMs);
      errors += result.errors;
      ctx.log(`  9 ${variant}: ${Math.round(result.rate)} req/s`);
      return result.rate;
    })) as Record<string, number[]>;
    const ratio = pairedRatio(samples['2 workers']!, samples['1 worker']!);
    const perRound = Object.entries(samples)
      .map(([name, rates]) => `${name} ${rates.map(Math.round).join(', ')}`)
      .join('; ');
    return [
      reportedRatio({
        id: '9',
        scenario: 'gateway --workers 2 vs 1 (header mode, LDAP relay, keep-alive requests)',
        unit: 'req/s',
        ours: median(samples['2 workers']!),
        baselineName: 'gateway, 1 process',
        baseline: median(samples['1 worker']!),
        ratio: ratio,
        detail:
          `${ctx.sizes.rounds} interleaved rounds of ${ctx.sizes.requestRoundMs / 1000} s, ${CONNECTIONS} client connections ` +
          `(node:cluster hands each to one worker); req/s per round: ${perRound}; ${errors} errors.`,
        bound: `${os.availableParallelism()} cores shared by the load generator, the upstream and the gateway's workers (and the primary): 2 workers cannot double the rate on 2 of them; with cores to spare they scale with them.`,
        samples,
      }),
    ];
  } finally {
    for (const child of children) await child.stop();
    await upstream?.stop();
  }
}
