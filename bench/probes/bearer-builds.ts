// Bearer requests (row 2's load) through several server modes or builds side by side, with local
// users (no DC): servers started afresh every round and warmed as the bench warms them, rounds
// interleaved, rate and each server's CPU per request from /proc. For telling two builds of the
// Bearer path apart in time, where the instructions probe counts what they run. Build the other
// version into a folder inside the repository (node_modules must resolve), then, in a network
// namespace:
//   unshare -n bash -c 'ip link set lo up; node --import tsx bench/probes/bearer-builds.ts bare bearer-contract ours-bearer ours-bearer@.tmp/distB/index.js'
// A spec is a mode of bench/servers/app.ts, or `mode@build/index.js` for that mode on another build
// (relative to the repository). The first spec is the baseline of the ratios. AB_ROUNDS (12)
// rounds of AB_MS (2000) ms each; AB_WARM_MS (1500) for the first warm-up phase.
import { randomBytes } from 'node:crypto';
// The user BENCH_LOCAL_DIRECTORY logs on (bench/servers/app.ts).
import { ALICE } from '../../test/helpers/servers.js';
import { bearerLoad, issueBearerToken } from '../lib/bearer-load.js';
import { parseBuildSpec } from '../lib/build-spec.js';
import { type ServerChild, startServer } from '../lib/children.js';
import { cpuUsPerRequest, processCpuMs } from '../lib/cpu.js';
import { RoundServers } from '../lib/round-servers.js';
import { interleave, median, pairedRatio, ratioRange } from '../lib/stats.js';

const specs = process.argv.slice(2);
if (specs.length < 2) throw new Error('name two specs or more: mode, or mode@build/index.js');
const rounds = Number(process.env.AB_ROUNDS ?? 12);
const roundMs = Number(process.env.AB_MS ?? 2000);
const warmMs = Number(process.env.AB_WARM_MS ?? 1500);
const baseEnv = { BENCH_LOCAL_DIRECTORY: '1', BENCH_JWT_SECRET: randomBytes(48).toString('base64') };

function start(spec: string): Promise<ServerChild> {
  const { mode, env } = parseBuildSpec(spec);
  return startServer({ mode, env: { ...baseEnv, ...env } });
}

/** A token from a server of its own that shares the secret; the measured servers never ran a handshake. */
const issuer = await start('ours-bearer');
const token = await issueBearerToken(issuer.port, ALICE).finally(() => issuer.stop());
const load = (server: ServerChild, durationMs: number) => bearerLoad(server.port, token, durationMs);
/** Per spec: its non-2xx answers, errors and timeouts, and its server's CPU-µs per answered request in each round. */
const measured = new Map(specs.map((spec) => [spec, { failures: 0, cpuUs: [] as number[] }]));
const servers = new RoundServers(
  specs,
  start,
  async (_spec, server, ms) => void (await load(server, ms)),
  warmMs,
);
try {
  const samples: Record<string, number[]> = await interleave(specs, rounds, async (spec, round) => {
    const server = await servers.forRound(spec, round);
    const before = processCpuMs(server.child.pid!);
    const result = await load(server, roundMs);
    const own = measured.get(spec)!;
    own.failures += result.non2xx + result.errors + result.timeouts;
    own.cpuUs.push(cpuUsPerRequest(server.child.pid!, before, result['2xx']));
    return result['2xx'] / result.duration;
  });
  const baseline = specs[0]!;
  const baseRates = samples[baseline]!;
  const baseCpu = measured.get(baseline)!.cpuUs;
  for (const spec of specs) {
    const rates = samples[spec]!;
    const { failures, cpuUs } = measured.get(spec)!;
    const cpuAbove = cpuUs.map((us, i) => us - baseCpu[i]!);
    console.log(
      `${spec}: ${Math.round(median(rates))} req/s, ${pairedRatio(rates, baseRates).toFixed(3)}× ${baseline} ` +
        `(rounds ${ratioRange(rates, baseRates)}), CPU ${median(cpuUs).toFixed(1)} µs a request ` +
        `(${median(cpuAbove).toFixed(1)} above ${baseline}, median of the rounds' differences), ${failures} failures`,
    );
  }
} finally {
  await servers.stop();
}
