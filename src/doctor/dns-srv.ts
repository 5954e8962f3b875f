import { DcLocator, dcSrvName, hostPort, kdcSrvName, type LocatedDc } from '../dc/dc-locator.js';
import { type CheckResult, describeError, fail, notChecked, pass } from './check.js';

export interface DnsPlan {
  /** The DNS domain the DCs are looked up in (--dns-domain). */
  readonly domain: string;
  /** DNS servers to ask (--dns-server); none: the system's. */
  readonly servers: readonly string[] | undefined;
  /** Whether a missing _kerberos._tcp record fails the run (a --keytab is checked). */
  readonly kerberosNeeded: boolean;
}

/** `dc1.example.test:389 (127.0.0.1, priority 0, weight 100)`, in the order they would be tried. */
function describeFound(found: readonly LocatedDc[]): string {
  return found
    .map((dc) => {
      const address =
        dc.address === dc.host ? 'no A/AAAA record: the system resolver is left to it' : dc.address;
      return `${hostPort(dc.host, dc.port)} (${address}, priority ${dc.priority}, weight ${dc.weight})`;
    })
    .join(', ');
}

async function lookUp(name: string, plan: DnsPlan, timeoutMs: number): Promise<LocatedDc[] | Error> {
  const locator = new DcLocator(name, {
    servers: plan.servers,
    timeoutMs,
    refreshMs: 1,
    requeryAfterMs: 0,
  });
  try {
    return await locator.locate();
  } catch (error) {
    return (error as { cause?: Error }).cause ?? (error as Error);
  } finally {
    locator.close();
  }
}

/**
 * What DNS says about the domain, as `--dc auto` and `--netlogon auto` would find it: the DCs
 * (_ldap._tcp.dc._msdcs) and, for Kerberos clients, the KDCs (_kerberos._tcp). Returns the DCs
 * found, for the checks that follow.
 */
export async function checkDnsRecords(
  plan: DnsPlan,
  timeoutMs: number,
): Promise<{ results: CheckResult[]; found: LocatedDc[] }> {
  const servers = plan.servers?.length
    ? `asked ${plan.servers.join(', ')}`
    : "asked the system's DNS servers";
  const [dcs, kdcs] = await Promise.all([
    lookUp(dcSrvName(plan.domain), plan, timeoutMs),
    lookUp(kdcSrvName(plan.domain), plan, timeoutMs),
  ]);
  const results: CheckResult[] = [];
  if (dcs instanceof Error) {
    results.push(
      fail(
        `SRV ${dcSrvName(plan.domain)}`,
        `no DC found (${describeError(dcs)}; ${servers})`,
        "give --dns-server the address of AD's DNS, check --dns-domain, or list the DCs instead of auto",
      ),
    );
  } else {
    results.push(pass(`SRV ${dcSrvName(plan.domain)}`, `${dcs.length} DC(s): ${describeFound(dcs)}`));
  }
  const kerberos = `SRV ${kdcSrvName(plan.domain)}`;
  if (!(kdcs instanceof Error)) results.push(pass(kerberos, `${kdcs.length} KDC(s): ${describeFound(kdcs)}`));
  else if (plan.kerberosNeeded)
    results.push(
      fail(kerberos, `no KDC found (${describeError(kdcs)})`, 'Kerberos clients find the KDC by this record'),
    );
  else results.push(notChecked(kerberos, `no KDC found (${describeError(kdcs)}); only Kerberos needs it`));
  return { results, found: dcs instanceof Error ? [] : dcs };
}
