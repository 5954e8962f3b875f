// Scenario 7: the gateway in header mode (`node dist/cli.js gateway`, with the LDAP relay) in
// front of a bare Express upstream, vs the same upstream direct, vs nginx as a plain reverse
// proxy (no authentication) in front of it, vs minimal Node proxies forwarding through node:http's
// client and undici's Pool.request and Pool.dispatch, which the gateway uses (7d/7e/7g), and on
// Pool.dispatch writing the gateway's request and answer headers but doing nothing else (7h).
// The same keep-alive client for all; through the gateway each connection is authenticated once,
// as a browser would. 7f: the gateway in pass-through mode in front of an upstream that speaks
// NTLM itself (our middleware), vs that upstream direct.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { againstGoal, floorStanding, intervalStanding } from '../lib/bounds.js';
import {
  type Child,
  type ServerChild,
  startGateway,
  startNginx,
  startPlainProxy,
  startServer,
} from '../lib/children.js';
import { CONNECTIONS, type Context } from '../lib/context.js';
import { cpuUsPerRequest, processCpuMs } from '../lib/cpu.js';
import { keepAliveLoad } from '../lib/ntlm-load.js';
import { keepProfile, summariseProfile } from '../lib/profile.js';
import { type Row, reportedRequests } from '../lib/report.js';
import {
  interleave,
  median,
  pairedInterval,
  pairedRatio,
  ratioRange,
  ratioText,
  round,
} from '../lib/stats.js';

const GOAL = 0.8;

function nginxMissing(): string | undefined {
  const probe = spawnSync('nginx', ['-v']);
  return probe.error ? 'nginx is not installed (apt-get install nginx-light, as .ci/run does)' : undefined;
}

export async function gatewayScenario(ctx: Context): Promise<Row[]> {
  const children: Child[] = [];
  let upstream: ServerChild | undefined;
  let ntlmUpstream: ServerChild | undefined;
  try {
    upstream = await startServer({ mode: 'bare', env: {} });
    const upstreamUrl = `http://127.0.0.1:${upstream.port}`;
    const gateway = await startGateway(upstreamUrl, ctx.dcUrl);
    children.push(gateway);
    const unlogged = await startGateway(upstreamUrl, ctx.dcUrl, { accessLog: false });
    children.push(unlogged);
    const nodeProxy = await startPlainProxy(upstreamUrl, 'node');
    children.push(nodeProxy);
    const undiciProxy = await startPlainProxy(upstreamUrl, 'undici');
    children.push(undiciProxy);
    const dispatchProxy = await startPlainProxy(upstreamUrl, 'undici-dispatch');
    children.push(dispatchProxy);
    const headersProxy = await startPlainProxy(upstreamUrl, 'undici-dispatch-headers');
    children.push(headersProxy);
    ntlmUpstream = await startServer({ mode: 'ours', env: { BENCH_DC_URL: ctx.dcUrl } });
    const passThrough = await startGateway(`http://127.0.0.1:${ntlmUpstream.port}`, ctx.dcUrl, {
      mode: 'pass-through',
    });
    children.push(passThrough);
    const missing = nginxMissing();
    let nginx: Child | undefined;
    if (!missing) {
      mkdirSync(`${ctx.tmp}/nginx`, { recursive: true });
      nginx = await startNginx(upstream.port, `${ctx.tmp}/nginx`);
      children.push(nginx);
    }
    const variants = [
      'direct',
      'gateway',
      'gateway-unlogged',
      ...(nginx ? ['nginx'] : []),
      'node-proxy',
      'undici-proxy',
      'dispatch-proxy',
      'headers-proxy',
      'ntlm-direct',
      'pass-through',
    ];
    const ports: Record<string, number> = {
      direct: upstream.port,
      gateway: gateway.port,
      'gateway-unlogged': unlogged.port,
      nginx: nginx?.port ?? 0,
      'node-proxy': nodeProxy.port,
      'undici-proxy': undiciProxy.port,
      'dispatch-proxy': dispatchProxy.port,
      'headers-proxy': headersProxy.port,
      'ntlm-direct': ntlmUpstream.port,
      'pass-through': passThrough.port,
    };
    /** Variants whose connections log on first: the gateway, and everything in front of an NTLM upstream. */
    const authenticated = new Set(['gateway', 'gateway-unlogged', 'ntlm-direct', 'pass-through']);
    let gatewayErrors = 0;
    let reauth = 0;
    /** Each proxy's process: its CPU per answered request is steadier than the rate on a shared machine. */
    const proxyPid: Record<string, number | undefined> = {
      gateway: gateway.child.pid,
      'gateway-unlogged': unlogged.child.pid,
      'node-proxy': nodeProxy.child.pid,
      'undici-proxy': undiciProxy.child.pid,
      'dispatch-proxy': dispatchProxy.child.pid,
      'headers-proxy': headersProxy.child.pid,
      'pass-through': passThrough.child.pid,
    };
    const proxyCpuUs: Record<string, number[]> = {};
    const load = async (variant: string, durationMs: number) => {
      const pid = proxyPid[variant];
      const before = pid ? processCpuMs(pid) : 0;
      const result = await keepAliveLoad({
        port: ports[variant]!,
        connections: CONNECTIONS,
        durationMs,
        users: authenticated.has(variant) ? ctx.users : undefined,
      });
      if (pid) {
        proxyCpuUs[variant] ??= [];
        proxyCpuUs[variant].push(cpuUsPerRequest(pid, before, result.ok));
      }
      return result;
    };
    for (const variant of variants) await load(variant, ctx.sizes.warmupMs);
    for (const variant of Object.keys(proxyCpuUs)) proxyCpuUs[variant] = [];
    const samples = (await interleave<string>(variants, ctx.sizes.rounds, async (variant) => {
      const result = await load(variant, ctx.sizes.requestRoundMs);
      if (authenticated.has(variant)) {
        gatewayErrors += result.errors;
        reauth += result.reauthentications;
      }
      ctx.log(`  7 ${variant}: ${Math.round(result.rate)} req/s`);
      return result.rate;
    })) as Record<string, number[]>;
    // The gateway's profile, load and all (no IPC to mark a window: dist is one bundle, its start-up is small).
    ctx.log('  profiling: 7 gateway');
    const profileDir = `${ctx.tmp}/profile-7`;
    const profiled = await startGateway(upstreamUrl, ctx.dcUrl, { cpuProfileDir: profileDir });
    try {
      await keepAliveLoad({
        port: profiled.port,
        connections: CONNECTIONS,
        durationMs: ctx.sizes.profileMs,
        users: ctx.users,
      });
    } finally {
      await profiled.stop();
    }
    ctx.profiles.push(
      summariseProfile(profileDir, '7 gateway, header mode (dist/cli.js), whole process lifetime'),
    );
    keepProfile(profileDir, '7');
    const vsDirect = pairedRatio(samples.gateway!, samples.direct!);
    const interval = pairedInterval(samples.gateway!, samples.direct!);
    const perRound = Object.entries(samples)
      .map(([name, rates]) => `${name} ${rates.map(Math.round).join(', ')}`)
      .join('; ');
    const detail =
      `${ctx.sizes.rounds} interleaved rounds of ${ctx.sizes.requestRoundMs / 1000} s, ${CONNECTIONS} client connections; ` +
      `req/s per round: ${perRound}. Authenticated variants: ${reauth} re-authentications, ${gatewayErrors} errors. ` +
      `nginx: 1 worker, keepalive 32 to the upstream, keepalive_requests raised to 1,000,000 on both sides, access log off. ` +
      `Proxy CPU-µs per request (median of rounds, from /proc): ${Object.entries(proxyCpuUs)
        .map(([name, us]) => `${name} ${median(us).toFixed(1)}`)
        .join(', ')}.`;
    const nodeProxyRatio = pairedRatio(samples['node-proxy']!, samples.direct!);
    const undiciProxyRatio = pairedRatio(samples['undici-proxy']!, samples.direct!);
    const dispatchProxyRatio = pairedRatio(samples['dispatch-proxy']!, samples.direct!);
    const headersProxyRatio = pairedRatio(samples['headers-proxy']!, samples.direct!);
    const unloggedRatio = pairedRatio(samples['gateway-unlogged']!, samples.direct!);
    const fastestProxy = [
      { key: 'node-proxy', ratio: nodeProxyRatio },
      { key: 'undici-proxy', ratio: undiciProxyRatio },
      { key: 'dispatch-proxy', ratio: dispatchProxyRatio },
    ].sort((a, b) => b.ratio - a.ratio)[0]!;
    const cpuUsOf = (variant: string) => median(proxyCpuUs[variant] ?? []);
    const cpuOf = (variant: string) => cpuUsOf(variant).toFixed(1);
    const range = (variant: string) => ratioRange(samples[variant]!, samples.direct!);
    const minimalProxies =
      `Minimal proxies on node:http's server (no authentication, header work or log line) got ` +
      `${nodeProxyRatio.toFixed(2)}× forwarding through node:http's client (7d, rounds ${range('node-proxy')}), ` +
      `${undiciProxyRatio.toFixed(2)}× through undici's Pool.request (7e, ${range('undici-proxy')}) and ` +
      `${dispatchProxyRatio.toFixed(2)}× through its Pool.dispatch, as the gateway forwards (7g, ${range('dispatch-proxy')}), ` +
      `with ${cpuOf('node-proxy')}, ${cpuOf('undici-proxy')} and ${cpuOf('dispatch-proxy')} µs of CPU per request ` +
      `against the gateway's ${cpuOf('gateway')}. ` +
      {
        below: `None reached ${GOAL.toFixed(2)}× in these rounds: a Node proxy built this way did not, here, before any work of its own. `,
        at: `The fastest is at the goal (within 5%): a gateway built this way meets it only if its own work costs next to nothing. `,
        above:
          `The fastest is above ${GOAL.toFixed(2)}×: the gateway's own work (authentication, identity and forwarding ` +
          `headers, the access line: ${(cpuUsOf('gateway') - cpuUsOf(fastestProxy.key)).toFixed(1)} µs above it) ` +
          `is what keeps it below. `,
      }[againstGoal(fastestProxy.ratio, GOAL)] +
      `The same dispatch proxy writing only the gateway's headers (a request id, the forwarding headers, two ` +
      `identity headers of fixed values, the Keep-Alive hint; no authentication, check or log line) got ` +
      `${headersProxyRatio.toFixed(2)}× (7h, rounds ${range('headers-proxy')}, ${cpuOf('headers-proxy')} µs of CPU a request ` +
      `against 7g's ${cpuOf('dispatch-proxy')}): ` +
      floorStanding(headersProxyRatio, GOAL, 'authentication, the checks and the access line');
    const rows: Row[] = [
      {
        id: '7',
        scenario: 'gateway (header mode, LDAP relay) vs the upstream direct',
        unit: 'req/s',
        ours: median(samples.gateway!),
        baselineName: 'bare Express 4 direct',
        baseline: median(samples.direct!),
        ratio: round(vsDirect, 3),
        compare: ratioText(vsDirect, GOAL),
        interval,
        goal: `≥ ${GOAL.toFixed(2)}`,
        met: vsDirect >= GOAL && gatewayErrors === 0,
        status: 'measured',
        detail,
        bound:
          intervalStanding(interval, GOAL) +
          (nginx
            ? `A proxy adds a second HTTP hop on the same 2 cores as the client and the upstream; nginx, which ` +
              `authenticates nobody, gets ${pairedRatio(samples.nginx!, samples.direct!).toFixed(2)}× of direct in the same rounds (7c). `
            : 'A proxy adds a second HTTP hop on the same 2 cores as the client and the upstream. ') +
          minimalProxies +
          `Without its access line (--access-log off, 7i) the gateway got ` +
          `${unloggedRatio.toFixed(2)}× (${cpuOf('gateway-unlogged')} µs of CPU a request). ` +
          `The gateway's own costs are in its profile below.`,
        samples,
      },
    ];
    const vsFastestProxy = pairedRatio(samples.gateway!, samples[fastestProxy.key]!);
    const passThroughRatio = pairedRatio(samples['pass-through']!, samples['ntlm-direct']!);
    /** A reported row of a proxy variant (`key`) measured against the upstream direct. */
    const direct = { variant: 'direct', name: 'bare Express 4 direct' };
    const proxyRow = (id: string, scenario: string, variant: string, ratio: number, detail: string): Row =>
      reportedRequests(samples, direct, { id, variant, ratio, scenario, detail });
    const minimalProxyRow = (id: string, client: string, key: string, ratio: number): Row =>
      proxyRow(
        id,
        `a minimal Node reverse proxy forwarding through ${client} vs the upstream direct`,
        key,
        ratio,
        `same rounds as 7; bench/servers/plain-proxy.ts: keep-alive upstream connections, no authentication, no header work, no log. The gateway gets ${vsFastestProxy.toFixed(2)}× of the fastest of the three.`,
      );
    rows.push(minimalProxyRow('7d', "node:http's client", 'node-proxy', nodeProxyRatio));
    rows.push(minimalProxyRow('7e', "undici's Pool.request", 'undici-proxy', undiciProxyRatio));
    rows.push(
      minimalProxyRow('7g', "undici's Pool.dispatch (as the gateway)", 'dispatch-proxy', dispatchProxyRatio),
    );
    rows.push(
      proxyRow(
        '7h',
        "a minimal Node reverse proxy on undici's Pool.dispatch that writes the gateway's request and answer headers and nothing else, vs the upstream direct",
        'headers-proxy',
        headersProxyRatio,
        "same rounds as 7; bench/servers/plain-proxy.ts (undici-dispatch-headers): 7g plus, as the gateway, the client's Host forwarded, X-Request-Id (a random UUID), X-Forwarded-For/-Host/-Proto/-Port, Forwarded, X-Ntlm-Username and X-Ntlm-Domain on each request, the upstream's answer headers but the hop-by-hop ones, then X-Request-Id and Connection/Keep-Alive on each answer; no authentication, no check of what the client sent, no log. " +
          `${cpuOf('headers-proxy')} µs of CPU per request against 7g's ${cpuOf('dispatch-proxy')}.`,
      ),
    );
    rows.push(
      proxyRow(
        '7i',
        'gateway without its access line (--access-log off, header mode, LDAP relay) vs the upstream direct',
        'gateway-unlogged',
        unloggedRatio,
        `same rounds as 7: the same gateway with --access-log off, for a deployment whose proxy or load balancer in front logs every request already. ` +
          `${cpuOf('gateway-unlogged')} µs of CPU per request against the gateway's ${cpuOf('gateway')}; ` +
          `${pairedRatio(samples['gateway-unlogged']!, samples.gateway!).toFixed(2)}× the gateway's rate in the same rounds.`,
      ),
    );
    rows.push(
      reportedRequests(
        samples,
        { variant: 'ntlm-direct', name: 'our middleware (LDAP relay) direct' },
        {
          id: '7f',
          variant: 'pass-through',
          ratio: passThroughRatio,
          scenario: 'gateway (pass-through mode) in front of an NTLM upstream vs that upstream direct',
          detail:
            'same rounds as 7; each client connection logs on once through its own pinned upstream connection, then sends keep-alive requests.',
        },
      ),
    );
    if (nginx) {
      const vsNginx = pairedRatio(samples.gateway!, samples.nginx!);
      const nginxVsDirect = pairedRatio(samples.nginx!, samples.direct!);
      rows.push(
        reportedRequests(
          samples,
          { variant: 'nginx', name: 'nginx 1 worker, no auth' },
          {
            id: '7b',
            variant: 'gateway',
            ratio: vsNginx,
            scenario: 'gateway vs nginx as a plain reverse proxy',
            detail: 'same rounds as 7.',
          },
        ),
        reportedRequests(samples, direct, {
          id: '7c',
          variant: 'nginx',
          ratio: nginxVsDirect,
          scenario: 'nginx (plain reverse proxy) vs the upstream direct, for reference',
          detail: 'same rounds as 7; what any proxy costs on this machine.',
        }),
      );
    } else {
      rows.push({
        id: '7b',
        scenario: 'gateway vs nginx as a plain reverse proxy',
        unit: '',
        ours: null,
        baselineName: 'nginx',
        baseline: null,
        ratio: null,
        compare: '–',
        goal: 'report',
        met: null,
        status: 'unavailable',
        detail: missing,
      });
    }
    return rows;
  } finally {
    for (const child of children) await child.stop();
    await upstream?.stop();
    await ntlmUpstream?.stop();
  }
}
