import { parseLdapUrl } from '../dc/ldap-connection.js';
import { type CheckResult, describeError, fail, formatMs, formatResult } from './check.js';
import { checkRootDse } from './ldap-root-dse.js';
import { checkLdapSigning } from './ldap-signing.js';
import { checkLdapTls } from './ldap-tls.js';
import { checkLookupAccount } from './lookup-account.js';
import { checkNetlogon } from './netlogon-channel.js';
import type { DoctorPlan } from './plan.js';
import { checkRedis } from './redis-ping.js';
import { checkTcpConnect } from './tcp-connect.js';

export interface DoctorSummary {
  readonly passed: number;
  readonly failed: number;
}

/**
 * Runs every check the plan calls for, one target at a time, and writes one line per check
 * (plus a progress line before each target, since a silent DC takes a timeout to be sure of).
 * Every step has its own deadline (`plan.timeoutMs`), so the whole run is bounded.
 */
export async function runDoctor(plan: DoctorPlan, write: (line: string) => void): Promise<DoctorSummary> {
  let passed = 0;
  let failed = 0;
  const wait = `each step waits at most ${formatMs(plan.timeoutMs)}`;
  /** Runs one target's checks; an exception no check explained becomes a failed line too. */
  const target = async (
    name: string,
    what: string,
    checks: () => Promise<void>,
    report: (r: CheckResult) => void,
  ) => {
    write(`… ${name}: checking ${what} (${wait})`);
    try {
      await checks();
    } catch (error) {
      report(
        fail('check', `stopped: ${describeError(error)}`, 'this is a bug of the doctor; please report it'),
      );
    }
  };
  const reporter = (name: string) => (result: CheckResult) => {
    if (result.ok) passed++;
    else failed++;
    write(formatResult(name, result));
  };
  const timeouts = { connectTimeoutMs: plan.timeoutMs, operationTimeoutMs: plan.timeoutMs };

  for (const url of plan.dcs) {
    const report = reporter(url);
    await target(
      url,
      'the LDAP relay',
      async () => {
        const { secure, host, port } = parseLdapUrl(url);
        const tcp = await checkTcpConnect(host, port, plan.timeoutMs);
        report(tcp);
        if (!tcp.ok) return;
        let tls = plan.tls;
        if (secure) {
          const certificate = await checkLdapTls(host, port, plan.tls, plan.timeoutMs);
          report(certificate);
          // The remaining checks still tell the admin something over an unverified connection;
          // the failed certificate line already makes the run fail.
          if (!certificate.ok) tls = { ...plan.tls, rejectUnauthorized: false };
        }
        for (const result of await checkRootDse(url, { ...timeouts, tls })) report(result);
        report(await checkLdapSigning(url, { ...timeouts, tls }));
      },
      report,
    );
  }

  if (plan.lookup) {
    for (const url of plan.lookup.urls) {
      const report = reporter(url);
      await target(
        url,
        `the lookup account ${plan.lookup.bindDN}`,
        async () => {
          report(await checkLookupAccount(url, plan.lookup!, timeouts));
        },
        report,
      );
    }
  }

  if (plan.netlogon) {
    const { machine } = plan.netlogon;
    for (const endpoint of plan.netlogon.endpoints) {
      const name = `netlogon://${endpoint.port === undefined ? endpoint.host : `${endpoint.host}:${endpoint.port}`}`;
      const report = reporter(name);
      await target(
        name,
        `the Netlogon secure channel of ${machine.computerName}$`,
        async () => {
          const results = await checkNetlogon(
            { ...endpoint, connectTimeoutMs: plan.timeoutMs, callTimeoutMs: plan.timeoutMs },
            machine,
          );
          for (const result of results) report(result);
        },
        report,
      );
    }
  }

  // Keytab (SPNs, enctypes, kvno against the directory) comes with the Kerberos work: a
  // check-keytab.ts of its own, run here for the gateway's keytab setting.

  if (plan.redis) {
    const name = redactedRedisUrl(plan.redis);
    const report = reporter(name);
    await target(name, 'Redis', async () => report(await checkRedis(plan.redis!, plan.timeoutMs)), report);
  }

  write(`${failed === 0 ? '✓' : '✗'} ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

/** The Redis URL without its password, for the output. */
function redactedRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'redis';
  }
}
