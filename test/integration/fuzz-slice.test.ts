// A slice of the review's fuzz (issue 18) in `npm test`: `npm run fuzz` sends 1,000,000 inputs
// (test/fuzz), these tests 20,000 of the same kind, seeded from the clock unless FUZZ_SEED is set
// (the seed is printed; `npm run fuzz -- --seed S --replay I` repeats input I). Any crash, hang
// or 5xx fails, with each finding's reproducer in the message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAMILIES, type Family } from '../fuzz/families.js';
import { type FuzzSummary, runFuzz } from '../fuzz/harness.js';
import { formatSummary, WEIGHTS } from '../fuzz/report.js';
import { contextFactory, netlogonTarget } from '../fuzz/setup.js';
import { sambaMissing, startDc, stopDc } from '../helpers/samba.js';

const missing = await sambaMissing();
if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const TIMEOUT_MS = 30_000;
const IN_PROCESS = FAMILIES.map((family) => family.name).filter((name) => name !== 'netlogon');

function weighted(names: (name: string) => boolean): (readonly [number, Family])[] {
  return FAMILIES.filter((family) => names(family.name)).map(
    (family) => [WEIGHTS[family.name]!, family] as const,
  );
}

function assertClean(summary: FuzzSummary, calls = { answered: 0, down: 0 }): void {
  const report = formatSummary(summary, calls);
  assert.equal(summary.crashes + summary.hangs + summary.serverErrors, 0, report);
}

describe(`the review's fuzz, a slice (seed ${SEED})`, () => {
  it('16,000 inputs in process (NTLM, SPNEGO, Kerberos DER, the PAC, JWTs, NDR): no crash, no hang, no 5xx', async (t) => {
    t.diagnostic(`npm run fuzz -- --seed ${SEED} --count 16000 --only ${IN_PROCESS.join(',')} repeats it`);
    const summary = await runFuzz({
      seed: SEED,
      count: 16_000,
      families: weighted((name) => IN_PROCESS.includes(name)),
      concurrency: 16,
      context: await contextFactory({ timeoutMs: TIMEOUT_MS, netlogon: undefined }),
    });
    assertClean(summary);
    // The fuzz must get past the parsers: real logons among the mutations still pass (Kerberos
    // identities carry group SIDs, not names, so allowGroups answers them 403: decided all the same).
    const answered = (family: string, status: string) => summary.families[family]?.statuses[status] ?? 0;
    for (const family of ['ntlm-authenticate', 'spnego-ntlm', 'bearer'])
      assert.ok(answered(family, '200') > 0, `${family}: some inputs pass`);
    for (const family of ['kerberos', 'pac'])
      assert.ok(answered(family, '403') > 0, `${family}: some inputs reach an identity`);
  });

  describe('against the strict Samba DC', { skip: missing ? `skipped: ${missing}` : false }, () => {
    let dc: ReturnType<typeof netlogonTarget> | undefined;
    before(async () => {
      await startDc({ strict: true });
      dc = netlogonTarget(TIMEOUT_MS);
    });
    after(async () => {
      await dc?.target.close();
      await stopDc();
    });

    it('4,000 NTLM and SPNEGO logons through Netlogon: no crash, no hang, no 5xx (no 503 either)', async (t) => {
      t.diagnostic(`npm run fuzz -- --seed ${SEED} --count 4000 --only netlogon repeats it`);
      const calls = { answered: 0, down: 0 };
      dc!.verifier.observe({
        dcKnown() {},
        directoryCache() {},
        dcDown: () => calls.down++,
        dcUp() {},
        dcLatency: () => calls.answered++,
      });
      const summary = await runFuzz({
        seed: SEED,
        count: 4000,
        families: weighted((name) => name === 'netlogon'),
        concurrency: 16,
        context: await contextFactory({ timeoutMs: TIMEOUT_MS, netlogon: dc!.target }),
      });
      assertClean(summary, calls);
      assert.ok(calls.answered > 100, `the DC answered ${calls.answered} logons`);
      assert.ok((summary.families.netlogon?.statuses['200'] ?? 0) > 0, 'some logons pass');
    });
  });
});
