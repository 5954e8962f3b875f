import { hostPort } from '../dc/dc-locator.js';
import { parseLdapUrl } from '../dc/ldap-connection.js';
import { hideUrlPasswords } from '../url-credentials.js';
import { type CheckResult, describeError, fail, formatMs, formatResult } from './check.js';
import { checkDnsRecords } from './dns-srv.js';
import type { DoctorPlan } from './doctor-plan.js';
import { checkKeytabFile } from './keytab.js';
import { checkKeytabAgainstDirectory } from './keytab-directory.js';
import { checkRootDse } from './ldap-root-dse.js';
import { checkLdapSigning } from './ldap-signing.js';
import { checkLdapTls } from './ldap-tls.js';
import { checkLookupAccount } from './lookup-account.js';
import { checkNetlogon } from './netlogon-channel.js';
import { checkRedis } from './redis-ping.js';
import { checkTcpConnect } from './tcp-connect.js';

export interface DoctorSummary {
  readonly passed: number;
  readonly failed: number;
  /** Checks these settings could not make (a `–` line says why); they do not fail the run. */
  readonly notChecked: number;
}

/**
 * Runs every check the plan calls for, one target at a time, and writes one line per check
 * (plus a progress line before each target, since a silent DC takes a timeout to be sure of).
 * Every step has its own deadline (`plan.timeoutMs`), so the whole run is bounded.
 */
export async function runDoctor(plan: DoctorPlan, print: (line: string) => void): Promise<DoctorSummary> {
  // Every line, whatever check wrote it or error it quotes: a URL's password never reaches the screen.
  const write = (line: string) => print(hideUrlPasswords(line));
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const wait = `each step waits at most ${formatMs(plan.timeoutMs)}`;
  /** One target's checks under a progress line; an exception no check explained is a failed line too. */
  const target = async (name: string, what: string, checks: (report: Report) => Promise<void>) => {
    write(`… ${name}: checking ${what} (${wait})`);
    const report: Report = (result) => {
      if (result.notChecked) skipped++;
      else if (result.ok) passed++;
      else failed++;
      write(formatResult(name, result));
    };
    try {
      await checks(report);
    } catch (error) {
      report(
        fail('check', `stopped: ${describeError(error)}`, 'this is a bug of the doctor; please report it'),
      );
    }
  };
  const timeouts = { connectTimeoutMs: plan.timeoutMs, operationTimeoutMs: plan.timeoutMs };

  // DCs found in DNS are then checked as listed ones, at the address DNS gave.
  const dcs = [...plan.dcs];
  const netlogonEndpoints = [...(plan.netlogon?.endpoints ?? [])];
  const dns = plan.dns;
  if (dns) {
    await target(`dns:${dns.domain}`, 'what DNS says about the domain', async (report) => {
      const { results, found } = await checkDnsRecords(dns, plan.timeoutMs);
      for (const result of results) report(result);
      if (dns.dc) dcs.push(...found.map((dc) => `ldap://${hostPort(dc.address, dc.port)}`));
      if (dns.netlogon) netlogonEndpoints.push(...found.map((dc) => ({ host: dc.address, port: undefined })));
    });
  }

  for (const url of dcs) {
    await target(url, 'the LDAP relay', async (report) => {
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
    });
  }

  const lookup = plan.lookup;
  for (const url of lookup?.urls ?? []) {
    await target(url, `the lookup account ${lookup!.bindDN}`, async (report) => {
      report(await checkLookupAccount(url, lookup!, timeouts));
    });
  }

  for (const endpoint of netlogonEndpoints) {
    const { machine } = plan.netlogon!;
    const name = `netlogon://${endpoint.port === undefined ? endpoint.host : `${endpoint.host}:${endpoint.port}`}`;
    await target(name, `the Netlogon secure channel of ${machine.computerName}$`, async (report) => {
      const at = { ...endpoint, connectTimeoutMs: plan.timeoutMs, callTimeoutMs: plan.timeoutMs };
      for (const result of await checkNetlogon(at, machine)) report(result);
    });
  }

  const keytab = plan.keytab;
  if (keytab) {
    const what = `the Kerberos keytab${keytab.spn ? ` for ${keytab.spn}` : ''}`;
    await target(keytab.path, what, async (report) => {
      const { results, principals } = checkKeytabFile(keytab.path, keytab.spn);
      for (const result of results) report(result);
      if (principals.length === 0) return;
      for (const result of await checkKeytabAgainstDirectory(principals, plan.lookup, dcs, timeouts))
        report(result);
    });
  }

  const redis = plan.redis;
  if (redis) {
    await target(redis, 'Redis', async (report) => {
      report(await checkRedis(redis, plan.timeoutMs));
    });
  }

  const unchecked = skipped === 0 ? '' : `, ${skipped} not checked`;
  write(`${failed === 0 ? '✓' : '✗'} ${passed} passed, ${failed} failed${unchecked}`);
  return { passed, failed, notChecked: skipped };
}

type Report = (result: CheckResult) => void;
