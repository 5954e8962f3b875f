// Scenario 2: requests carrying a Bearer token (issued by our server after one NTLM handshake)
// against bare Express receiving the same header. autocannon for all, 8 connections. Row 2b: the
// same requests to Express with a middleware that only assigns req.ntlm (mode 'floor', as row 1c),
// without checking a token; row 2c: with one that only calls next() (mode 'noop', as row 1d), what
// one app.use() layer costs at the least; row 2d: with one that does what the contract asks of a
// Bearer request (req.ntlm the accessor's way, res.locals.ntlm, the X-Ntlm-* headers, the token
// found in a Map) and checks nothing (mode 'bearer-contract'). Every round runs against servers
// started afresh (bench/lib/round-servers.ts).
import { randomBytes } from 'node:crypto';
import { bearerLoad, issueBearerToken } from '../lib/bearer-load.js';
import { floorStanding, intervalStanding, requestBudget } from '../lib/bounds.js';
import { type ServerChild, startServer } from '../lib/children.js';
import { CONNECTIONS, type Context } from '../lib/context.js';
import { cpuUsPerRequest, processCpuMs } from '../lib/cpu.js';
import { profileServer } from '../lib/profile.js';
import { type Row, reportedRequests } from '../lib/report.js';
import { RoundServers } from '../lib/round-servers.js';
import {
  interleave,
  median,
  pairedInterval,
  pairedRatio,
  perVariant,
  ratioRange,
  ratioText,
  round,
} from '../lib/stats.js';

const VARIANTS = ['bare', 'ours-bearer', 'floor', 'noop', 'bearer-contract'] as const;
const GOAL = 0.92;
type Variant = (typeof VARIANTS)[number];
const BARE = { variant: 'bare', name: 'bare Express 4' };

export async function bearerScenario(ctx: Context): Promise<Row[]> {
  const env = { BENCH_DC_URL: ctx.dcUrl, BENCH_JWT_SECRET: randomBytes(48).toString('base64') };
  /** Non-2xx answers, errors and timeouts per variant. */
  const failures = perVariant(VARIANTS, () => 0);
  /** Server CPU-µs per answered request, per round (from /proc). */
  const cpuUs = perVariant(VARIANTS, (): number[] => []);
  /**
   * Issued before the rounds by a server of its own, which then stops: the measured ones share
   * its secret, so they take the token, and none of them has run a handshake.
   */
  const issuer = await startServer({ mode: 'ours-bearer', env });
  let token: string;
  try {
    token = await issueBearerToken(issuer.port, ctx.users[0]!);
  } finally {
    await issuer.stop();
  }
  const load = (server: ServerChild, durationMs: number) => bearerLoad(server.port, token, durationMs);
  const servers = new RoundServers(
    VARIANTS,
    (variant) => startServer({ mode: variant, env }),
    async (_variant, server, durationMs) => void (await load(server, durationMs)),
    ctx.sizes.warmupMs,
  );
  try {
    const samples = await interleave(VARIANTS, ctx.sizes.freshRounds, async (variant, round) => {
      const server = await servers.forRound(variant, round);
      const before = processCpuMs(server.child.pid!);
      const result = await load(server, ctx.sizes.freshRoundMs);
      failures[variant] += result.non2xx + result.errors + result.timeouts;
      cpuUs[variant].push(cpuUsPerRequest(server.child.pid!, before, result['2xx']));
      const rate = result['2xx'] / result.duration;
      ctx.log(`  2 ${variant}: ${Math.round(rate)} req/s`);
      return rate;
    });
    await servers.stop();
    await profileServer(
      ctx,
      '2 Bearer requests (ours, Express 4)',
      { mode: 'ours-bearer', env },
      async (port) => {
        const fresh = await issueBearerToken(port, ctx.users[0]!);
        await bearerLoad(port, fresh, ctx.sizes.profileMs);
      },
    );
    const ratio = pairedRatio(samples['ours-bearer'], samples.bare);
    const interval = pairedInterval(samples['ours-bearer'], samples.bare);
    const floorRatio = pairedRatio(samples.floor, samples.bare);
    const noopRatio = pairedRatio(samples.noop, samples.bare);
    const contractRatio = pairedRatio(samples['bearer-contract'], samples.bare);
    const contractRange = ratioRange(samples['bearer-contract'], samples.bare);
    const cpu = (variant: Variant) => median(cpuUs[variant]).toFixed(1);
    const figures = (variant: Variant) => ({ rates: samples[variant], cpuUs: cpuUs[variant] });
    const vsBareRow = (id: string, variant: Variant, ratio: number, scenario: string, detail: string) =>
      reportedRequests(samples, BARE, { id, variant, ratio, scenario, detail });
    return [
      {
        id: '2',
        scenario: 'Bearer requests vs bare Express',
        unit: 'req/s',
        ours: median(samples['ours-bearer']),
        baselineName: 'bare Express 4',
        baseline: median(samples.bare),
        ratio: round(ratio, 3),
        compare: ratioText(ratio, GOAL),
        interval,
        goal: `≥ ${GOAL}`,
        met: ratio >= GOAL && failures['ours-bearer'] === 0,
        status: 'measured',
        detail:
          `autocannon, ${CONNECTIONS} connections, ${ctx.sizes.freshRounds} interleaved rounds of ${ctx.sizes.freshRoundMs / 1000} s, each against servers started afresh; ` +
          `req/s per round: bare ${samples.bare.map(Math.round).join(', ')}; ours ${samples['ours-bearer'].map(Math.round).join(', ')}; ` +
          `floor ${samples.floor.map(Math.round).join(', ')}; noop ${samples.noop.map(Math.round).join(', ')}; ` +
          `contract ${samples['bearer-contract'].map(Math.round).join(', ')}; ` +
          `non-2xx, errors and timeouts: ${VARIANTS.map((v) => `${v} ${failures[v]}`).join(', ')}. Server CPU-µs per request (median of rounds): ` +
          `bare ${cpu('bare')}, ours ${cpu('ours-bearer')}, floor ${cpu('floor')}, noop ${cpu('noop')}, contract ${cpu('bearer-contract')}.`,
        bound:
          intervalStanding(interval, GOAL) +
          requestBudget(GOAL, figures('bare'), { ...figures('noop'), row: '2c' }, figures('ours-bearer')) +
          `A middleware that does what the contract asks of a Bearer request and checks nothing (2d: req.ntlm ` +
          `through an accessor, res.locals.ntlm, the two X-Ntlm-* headers, the token found in a Map) got ` +
          `${contractRatio.toFixed(2)}× (rounds ${contractRange}, ${cpu('bearer-contract')} µs of CPU a request against ` +
          `ours' ${cpu('ours-bearer')}): ` +
          floorStanding(contractRatio, GOAL, 'checking the token, its revocation and the metrics') +
          `The profile below shows what reading and checking the token costs per request. A middleware that only ` +
          `assigns req.ntlm (2b) got ${floorRatio.toFixed(2)}×; ours avoids that assignment's cost (an accessor, ` +
          `src/http/request-property.ts), so 2b is no floor for ours.`,
        samples,
      },
      vsBareRow(
        '2b',
        'floor',
        floorRatio,
        'a plain req.ntlm assignment with the same Bearer header: Express with a middleware that only sets req.ntlm and res.locals.ntlm vs bare Express',
        `same rounds as 2 (bench/servers/app.ts, floor): a middleware that hands over an identity by a plain assignment, with no token checked.`,
      ),
      vsBareRow(
        '2c',
        'noop',
        noopRatio,
        'an empty middleware with the same Bearer header: Express with a middleware that only calls next() vs bare Express',
        `same rounds as 2 (bench/servers/app.ts, noop): what one app.use() layer costs at the least. ${failures.noop} failures.`,
      ),
      vsBareRow(
        '2d',
        'bearer-contract',
        contractRatio,
        'the Bearer contract alone: Express with a middleware that finds the token in a Map and sets req.ntlm (an accessor), res.locals.ntlm and the X-Ntlm-* headers, checking nothing, vs bare Express',
        `same rounds as 2 (bench/servers/app.ts, bearer-contract): what every Bearer request costs a middleware with ours' contract before the token is checked. ${failures['bearer-contract']} failures.`,
      ),
    ];
  } finally {
    await servers.stop();
  }
}
