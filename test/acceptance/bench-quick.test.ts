// `npm run bench -- --quick` once (into a temporary directory, not bench/results), so that the
// harness cannot rot: every scenario must run or say why it cannot, and both outputs be written.
// The figures of a smoke run mean nothing and are not checked.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Report } from '../../bench/lib/report.js';
import { sambaMissing } from '../helpers/samba.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const missing = await sambaMissing();
if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);

describe('npm run bench -- --quick', { skip: missing ? `skipped: ${missing}` : false }, () => {
  const out = mkdtempSync(join(tmpdir(), 'ntlm-sso-bench-quick-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('runs every scenario and writes results/latest.json and RESULTS.md', { timeout: 170_000 }, async () => {
    // test/run.sh has already put us in a network namespace of our own, so main.ts runs directly;
    // npm test has just built dist/, which the gateway scenario runs.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bench/main.ts', '--quick', '--no-build', '--out', out],
      { cwd: ROOT, timeout: 165_000, maxBuffer: 1 << 22 },
    ).catch((error) => {
      throw new Error(`the quick bench failed (exit ${error.code}):\n${error.stdout}\n${error.stderr}`);
    });
    assert.match(stdout, /wrote .*RESULTS\.md/);

    const report = JSON.parse(readFileSync(join(out, 'results', 'latest.json'), 'utf8')) as Report;
    const markdown = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    assert.equal(report.quick, true);
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8]) {
      assert.ok(
        report.rows.some((row) => row.id.replace(/[a-z]$/, '') === String(n)),
        `scenario ${n} is listed`,
      );
    }
    for (const row of report.rows) {
      assert.notEqual(row.status, 'error', `${row.id} failed: ${row.detail}`);
      assert.ok(markdown.includes(`| ${row.id} | ${row.scenario} |`), `${row.id} is in the RESULTS.md table`);
      if (row.status === 'measured') {
        assert.ok(Number.isFinite(row.ours), `${row.id} has a figure`);
        assert.ok(row.met === null || typeof row.met === 'boolean');
      } else {
        assert.ok(row.detail, `${row.id} says why it was not measured`);
      }
    }
    // Netlogon and Kerberos are in this build: the run-time detection (bench/lib/features.ts) must
    // find them, and both scenarios measure (a broken probe would otherwise hide them as absent).
    // The Node ceiling (7d, 7e: node:http and undici minimal proxies) and pass-through (7f) measure too.
    for (const id of ['4', '5', '7d', '7e', '7f']) {
      const row = report.rows.find((r) => r.id === id)!;
      assert.equal(row.status, 'measured', `${id}: ${row.status}: ${row.detail}`);
      assert.ok((row.ours ?? 0) > 0 && (row.baseline ?? 0) > 0, `${id} has both rates`);
    }
    // Under CI every tool is installed (.ci/run): nothing may be unavailable there.
    if (process.env.CI)
      assert.deepEqual(
        report.rows.filter((r) => r.status === 'unavailable'),
        [],
      );
    for (const label of ['1 ', '3 ', '4 ', '5 ']) {
      const profile = report.profiles.find((p) => p.label.startsWith(label));
      assert.ok(profile && profile.topSelf.length > 0, `scenario ${label.trim()} has a CPU profile`);
    }
  });
});
