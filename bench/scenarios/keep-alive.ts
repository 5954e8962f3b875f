// Scenario 1: requests on authenticated keep-alive connections, against bare Express and
// express-ntlm. 8 connections, each authenticated once (not timed), then as many GETs as they
// carry; the same hand-written client for all. 1c: what a plain `req.ntlm = identity` costs on
// Express (bench/servers/app.ts, mode 'floor': a middleware that only assigns req.ntlm and
// res.locals.ntlm, as express-ntlm does): on V8 before 13 an own property added after Express's
// setPrototypeOf makes a new hidden class per request, which ours avoids
// (src/http/request-property.ts). 1d: an Express middleware that only calls next() (mode 'noop'):
// what one app.use() layer costs at the least. 1e: the same connections log on through ours, and
// their requests then skip it (mode 'handshake-only'): row 1 with ours' per-request work at zero.
// 1f: as 1e, and then every request gets its connection's identity the way the contract asks
// (req.ntlm through an accessor, res.locals.ntlm, the X-Ntlm-* headers; mode 'handshake-contract'):
// row 1 with ours' per-request work cut to what any middleware with this contract must do.
// Every round runs against servers started afresh (bench/lib/round-servers.ts), and the server's
// CPU is read once the round's connections have logged on.

import { floorStanding, intervalStanding, requestBudget } from '../lib/bounds.js';
import { type ServerChild, startServer } from '../lib/children.js';
import { CONNECTIONS, type Context } from '../lib/context.js';
import { cpuUsPerRequest, processCpuMs } from '../lib/cpu.js';
import { keepAliveLoad } from '../lib/ntlm-load.js';
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

const VARIANTS = [
  'bare',
  'ours',
  'express-ntlm',
  'floor',
  'noop',
  'handshake-only',
  'handshake-contract',
] as const;
const GOAL = 0.97;
type Variant = (typeof VARIANTS)[number];
const BARE = { variant: 'bare', name: 'bare Express 4' };

export async function keepAliveScenario(ctx: Context): Promise<Row[]> {
  const env = { BENCH_DC_URL: ctx.dcUrl };
  const reauth = perVariant(VARIANTS, () => 0);
  const errors = perVariant(VARIANTS, () => 0);
  /** Server CPU-µs per answered request, per round (from /proc): the cost the rates only hint at. */
  const cpuUs = perVariant(VARIANTS, (): number[] => []);
  const load = (variant: Variant, server: ServerChild, durationMs: number, onStart?: () => void) =>
    keepAliveLoad({
      port: server.port,
      connections: CONNECTIONS,
      durationMs,
      users: variant === 'bare' || variant === 'floor' || variant === 'noop' ? undefined : ctx.users,
      onStart,
    });
  const servers = new RoundServers(
    VARIANTS,
    (variant) => startServer({ mode: variant, env }),
    async (variant, server, durationMs) => void (await load(variant, server, durationMs)),
    ctx.sizes.warmupMs,
  );
  try {
    const samples = await interleave(VARIANTS, ctx.sizes.freshRounds, async (variant, round) => {
      const server = await servers.forRound(variant, round);
      // Read once the connections have logged on: the handshakes are not part of the timed load.
      let before = 0;
      const result = await load(variant, server, ctx.sizes.freshRoundMs, () => {
        before = processCpuMs(server.child.pid!);
      });
      cpuUs[variant].push(cpuUsPerRequest(server.child.pid!, before, result.ok));
      reauth[variant] += result.reauthentications;
      errors[variant] += result.errors;
      ctx.log(
        `  1 ${variant}: ${Math.round(result.rate)} req/s (${result.reauthentications} re-authentications)`,
      );
      return result.rate;
    });
    await servers.stop();

    await profileServer(
      ctx,
      '1 authenticated keep-alive requests (ours, Express 4)',
      { mode: 'ours', env },
      (port) =>
        keepAliveLoad({ port, connections: CONNECTIONS, durationMs: ctx.sizes.profileMs, users: ctx.users }),
    );

    const detail = (variant: 'ours' | 'express-ntlm') =>
      `${ctx.sizes.freshRounds} interleaved rounds of ${ctx.sizes.freshRoundMs / 1000} s, each against servers started afresh, ${CONNECTIONS} connections; ` +
      `req/s per round: bare ${samples.bare.map(Math.round).join(', ')}; ${variant} ${samples[variant].map(Math.round).join(', ')}` +
      (variant === 'ours'
        ? `; express-ntlm ${samples['express-ntlm'].map(Math.round).join(', ')}; floor ${samples.floor.map(Math.round).join(', ')}; noop ${samples.noop.map(Math.round).join(', ')}; handshake-only ${samples['handshake-only'].map(Math.round).join(', ')}; handshake-contract ${samples['handshake-contract'].map(Math.round).join(', ')}`
        : '') +
      `. ${reauth.ours} re-authentications on ours (maxRequestsPerConnection has no limit by default, as in IIS and ` +
      `nginx-ntlm: a connection logs on once)` +
      `; errors: ${VARIANTS.map((v) => `${v} ${errors[v]}`).join(', ')}. ` +
      `Server CPU-µs per request (median of rounds): ${VARIANTS.map((v) => `${v} ${median(cpuUs[v]).toFixed(1)}`).join(', ')}.`;
    const ours = median(samples.ours);
    const vsBare = pairedRatio(samples.ours, samples.bare);
    const vsExpressNtlm = pairedRatio(samples.ours, samples['express-ntlm']);
    const vsBareInterval = pairedInterval(samples.ours, samples.bare);
    const vsExpressNtlmInterval = pairedInterval(samples.ours, samples['express-ntlm']);
    const floorVsBare = pairedRatio(samples.floor, samples.bare);
    const noopVsBare = pairedRatio(samples.noop, samples.bare);
    const handshakeOnlyVsBare = pairedRatio(samples['handshake-only'], samples.bare);
    const contractVsBare = pairedRatio(samples['handshake-contract'], samples.bare);
    const moreThanBare = (variant: Variant) => (median(cpuUs[variant]) - median(cpuUs.bare)).toFixed(1);
    const figures = (variant: Variant) => ({ rates: samples[variant], cpuUs: cpuUs[variant] });
    const vsBareRow = (id: string, variant: Variant, ratio: number, scenario: string, detail: string) =>
      reportedRequests(samples, BARE, { id, variant, ratio, scenario, detail });
    const failed = errors.ours > 0;
    return [
      {
        id: '1',
        scenario: 'authenticated keep-alive requests vs bare Express',
        unit: 'req/s',
        ours,
        baselineName: 'bare Express 4',
        baseline: median(samples.bare),
        ratio: round(vsBare, 3),
        compare: ratioText(vsBare, GOAL),
        interval: vsBareInterval,
        goal: `≥ ${GOAL}`,
        met: vsBare >= GOAL && !failed,
        status: 'measured',
        detail: detail('ours'),
        bound:
          intervalStanding(vsBareInterval, GOAL) +
          requestBudget(GOAL, figures('bare'), { ...figures('noop'), row: '1d' }, figures('ours')) +
          `Where ours' goes is in the profile below. A plain req.ntlm assignment (1c, as express-ntlm makes it) ` +
          `used ${moreThanBare('floor')} µs above bare and got ${floorVsBare.toFixed(2)}×; ours sets req.ntlm through ` +
          `an accessor on the app's request prototype instead (src/http/request-property.ts). ` +
          `With ours' per-request work taken away (1e: the same handshakes through ours, then requests that skip it), ` +
          `the process used ${moreThanBare('handshake-only')} µs above bare and got ${handshakeOnlyVsBare.toFixed(2)}× ` +
          `(rounds ${ratioRange(samples['handshake-only'], samples.bare)}): what answering the handshakes uses of the ` +
          `budget, read beside the empty layer's ${moreThanBare('noop')} µs, which is noise of the same size. ` +
          `With it cut to what the contract asks (1f: as 1e, then each request's req.ntlm through an accessor, ` +
          `res.locals.ntlm and the X-Ntlm-* headers, the identity found by its socket), ` +
          `${moreThanBare('handshake-contract')} µs above bare and ${contractVsBare.toFixed(2)}× ` +
          `(rounds ${ratioRange(samples['handshake-contract'], samples.bare)}): ` +
          floorStanding(contractVsBare, GOAL, "ours' checks (the connection's limits, its access rules)") +
          `${reauth.ours} requests paid a new logon through the DC mid-run.`,
        samples,
      },
      {
        id: '1b',
        scenario: 'authenticated keep-alive requests vs express-ntlm',
        unit: 'req/s',
        ours,
        baselineName: 'express-ntlm 2.7.0',
        baseline: median(samples['express-ntlm']),
        ratio: round(vsExpressNtlm, 3),
        compare: `${vsExpressNtlm.toFixed(2)}×`,
        interval: vsExpressNtlmInterval,
        goal: '≥ 1.00 (beat it)',
        met: vsExpressNtlm >= 1 && !failed,
        status: 'measured',
        detail: `same rounds as 1. express-ntlm never re-authenticates a connection (no request or age limit).`,
        bound:
          intervalStanding(vsExpressNtlmInterval, 1) +
          'express-ntlm 2.7.0 reads one property of the socket per authenticated request and never sends a ' +
          'connection back to a new logon; ours applies the per-connection age and idle limits and handles ' +
          'X-Ntlm-* headers (see 1).',
        samples,
      },
      vsBareRow(
        '1c',
        'floor',
        floorVsBare,
        'a plain req.ntlm assignment: Express with a middleware that only sets req.ntlm and res.locals.ntlm vs bare Express',
        `same rounds as 1; no authentication at all: one middleware that assigns a frozen identity to req.ntlm and ` +
          `res.locals.ntlm, as express-ntlm does. On Node 20 and 22 (V8 before 13) an own property added to a request ` +
          `after Express's setPrototypeOf makes a new hidden class per request and slows the rest of Express's work on ` +
          `it; ours avoids it. Server CPU-µs per request: floor ${median(cpuUs.floor).toFixed(1)}, ` +
          `bare ${median(cpuUs.bare).toFixed(1)}, ours ${median(cpuUs.ours).toFixed(1)}.`,
      ),
      vsBareRow(
        '1d',
        'noop',
        noopVsBare,
        'an empty middleware: Express with a middleware that only calls next() vs bare Express',
        `same rounds as 1 (bench/servers/app.ts, noop): what one app.use() layer costs at the least (a middleware ` +
          `may also change what the rest of Express costs, as 1c's does). ${errors.noop} errors. Server CPU-µs per ` +
          `request: noop ${median(cpuUs.noop).toFixed(1)}, bare ` +
          `${median(cpuUs.bare).toFixed(1)}.`,
      ),
      vsBareRow(
        '1e',
        'handshake-only',
        handshakeOnlyVsBare,
        'the handshakes alone: Express whose connections log on through ours, and whose requests then skip it, vs bare Express',
        `same rounds as 1 (bench/servers/app.ts, handshake-only): each connection's two handshake legs go through ` +
          `ours (the LDAP relay), as in 1, and every request after them skips the middleware. Row 1 with ours' ` +
          `per-request work at zero. ${errors['handshake-only']} errors. Server CPU-µs per request: handshake-only ` +
          `${median(cpuUs['handshake-only']).toFixed(1)}, bare ${median(cpuUs.bare).toFixed(1)}.`,
      ),
      vsBareRow(
        '1f',
        'handshake-contract',
        contractVsBare,
        "the handshakes and the contract alone: as 1e, then every request gets its connection's identity as req.ntlm (an accessor), res.locals.ntlm and the X-Ntlm-* headers, checking nothing, vs bare Express",
        `same rounds as 1 (bench/servers/app.ts, handshake-contract): the handshakes through ours as in 1e, then a ` +
          `layer that finds the identity ours gave the connection (a WeakMap by socket) and hands it over as the ` +
          `contract asks, with no limit, access rule or metric. ${errors['handshake-contract']} errors. Server CPU-µs ` +
          `per request: handshake-contract ${median(cpuUs['handshake-contract']).toFixed(1)}, bare ${median(cpuUs.bare).toFixed(1)}.`,
      ),
    ];
  } finally {
    await servers.stop();
  }
}
