// Logons per second through the Netlogon verifier vs the LDAP relay (domainController) on the
// same Samba DC, at the same concurrency, each logon on a new HTTP connection (three legs).
// The DC runs non-strict, since the relay needs that; Netlogon works either way.
//
//   unshare -n bash -c 'ip link set lo up && npx tsx bench/netlogon-vs-relay.ts [logons] [concurrency]'
//
// (its own network namespace, as test/run.sh gives the tests: the DC binds 127.0.0.1:135/389.)
import { domainController, netlogon, ntlm, type Verifier } from '../src/index.js';
import { NtlmHttpClient } from '../test/helpers/http-client.js';
import { DC_URL, MACHINE_ACCOUNT, MACHINE_PASSWORD, startDc, stopDc } from '../test/helpers/samba.js';
import { listen } from '../test/helpers/servers.js';

const LOGONS = Number(process.argv[2] ?? 200);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const ALICE = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };

async function serve(verifier: Verifier) {
  const auth = ntlm({ verifier, logger: { debug() {}, info() {}, warn() {}, error: console.error } });
  return listen(
    (req, res) =>
      auth(req, res, () => {
        res.end(req.ntlm?.username ?? '');
      }),
    () => auth.close(),
  );
}

/** `count` logons, `concurrency` at a time, each on a fresh connection; logons per second. */
async function run(url: string, count: number, concurrency: number): Promise<number> {
  let next = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const client = new NtlmHttpClient(url);
        const reply = await client.login('/', ALICE);
        client.agent.destroy();
        if (reply.status !== 200 || reply.body !== 'alice') failures++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failures > 0) throw new Error(`${failures} of ${count} logons failed`);
  return count / seconds;
}

await startDc({ strict: false });
const relay = await serve(domainController({ domains: { EXAMPLE: [DC_URL] } }));
const viaNetlogon = await serve(
  netlogon({
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
  }),
);
try {
  await run(relay.url, 20, CONCURRENCY); // warm-up: connections, caches, the JIT
  await run(viaNetlogon.url, 20, CONCURRENCY);
  const rounds: Array<{ relay: number; netlogon: number }> = [];
  for (let round = 0; round < 2; round++) {
    const r = await run(relay.url, LOGONS, CONCURRENCY);
    const n = await run(viaNetlogon.url, LOGONS, CONCURRENCY);
    rounds.push({ relay: r, netlogon: n });
    console.log(
      `round ${round + 1}: LDAP relay ${r.toFixed(1)} logons/s, Netlogon ${n.toFixed(1)} logons/s, ratio ${(n / r).toFixed(2)}×`,
    );
  }
  const mean = (pick: (x: { relay: number; netlogon: number }) => number) =>
    rounds.reduce((sum, x) => sum + pick(x), 0) / rounds.length;
  console.log(
    `${LOGONS} logons × ${rounds.length} rounds, ${CONCURRENCY} in parallel, new connection each: ` +
      `relay ${mean((x) => x.relay).toFixed(1)}/s, Netlogon ${mean((x) => x.netlogon).toFixed(1)}/s, ` +
      `ratio ${(mean((x) => x.netlogon) / mean((x) => x.relay)).toFixed(2)}×`,
  );
} finally {
  await relay.close();
  await viaNetlogon.close();
  await stopDc();
}
