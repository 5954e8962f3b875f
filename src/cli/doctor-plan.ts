import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import { parseLdapUrl } from '../dc/ldap-connection.js';
import type { DoctorPlan } from '../doctor/doctor-plan.js';
import { MachinePassword } from '../netlogon/machine-password.js';
import { checkLookup } from '../verifiers/domain-controller.js';
import { netlogonMachineAccount, parseNetlogonDc } from '../verifiers/netlogon.js';
import type { Settings } from './parse.js';
import { UsageError } from './usage-error.js';

const DEFAULT_TIMEOUT_MS = 3000;

const str = (settings: Settings, name: string) => settings[name] as string | undefined;
/** A list setting; a string too, in case the gateway's table gives the name another kind one day. */
const list = (settings: Settings, name: string): string[] | undefined => {
  const value = settings[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : String(value).split(',')).map((item) => item.trim()).filter(Boolean);
};

/**
 * --netlogon: the machine account as netlogon() checks it (its ConfigurationError when wrong), the
 * password read as netlogon() reads it.
 */
function netlogonPlan(settings: Settings): DoctorPlan['netlogon'] {
  const hosts = list(settings, 'netlogon');
  if (!hosts) return undefined;
  const account = netlogonMachineAccount({
    domain: str(settings, 'domain') as string,
    machineAccount: str(settings, 'machine-account') as string,
    machinePassword: str(settings, 'machine-password'),
    machinePasswordFile: str(settings, 'machine-password-file'),
  });
  const { ntHash } = new MachinePassword(account.password);
  const endpoints = hosts
    .filter((dc) => dc !== AUTO)
    .map((dc) => {
      try {
        return parseNetlogonDc(dc);
      } catch {
        throw new UsageError(`--netlogon: ${JSON.stringify(dc)} is not HOST or HOST:PORT`);
      }
    });
  return { endpoints, machine: { domain: account.domain, computerName: account.computerName, ntHash } };
}

const AUTO = 'auto';

function ldapUrls(settings: Settings, name: string): string[] {
  const urls = (list(settings, name) ?? []).filter((url) => !(name === 'dc' && url === AUTO));
  for (const url of urls) {
    try {
      parseLdapUrl(url);
    } catch {
      throw new UsageError(`--${name}: ${JSON.stringify(url)} is not an ldap:// or ldaps:// URL`);
    }
  }
  return urls;
}

/** `--dc auto` or `--netlogon auto` (or just --dns-domain): what DNS says is checked first. */
function dnsPlan(settings: Settings, kerberosNeeded: boolean): DoctorPlan['dns'] {
  const dc = list(settings, 'dc')?.includes(AUTO) ?? false;
  const netlogon = list(settings, 'netlogon')?.includes(AUTO) ?? false;
  const domain = str(settings, 'dns-domain');
  if (!domain) {
    if (dc || netlogon)
      throw new UsageError(`--${dc ? 'dc' : 'netlogon'} auto needs --dns-domain NAME (e.g. example.test)`);
    return undefined;
  }
  return { domain, servers: list(settings, 'dns-server'), kerberosNeeded, dc, netlogon };
}

export function planDoctor(settings: Settings): DoctorPlan {
  const dcs = ldapUrls(settings, 'dc');
  const caFile = str(settings, 'dc-ca');
  // --dc-servername is the name the certificates are checked against, as the gateway uses it.
  const servername = str(settings, 'dc-servername');
  let tlsOptions: tls.ConnectionOptions | undefined = servername ? { servername } : undefined;
  if (caFile) {
    try {
      tlsOptions = { ...tlsOptions, ca: readFileSync(caFile) };
    } catch (cause) {
      throw new UsageError(`--dc-ca: cannot read ${caFile}: ${(cause as Error).message}`);
    }
  }
  const lookupUrls = ldapUrls(settings, 'lookup-url');
  const bindDN = str(settings, 'lookup-user');
  const password = str(settings, 'lookup-password');
  // The lookup account as domainController() checks it (bindDN and password required).
  if (lookupUrls.length > 0)
    checkLookup({ url: lookupUrls, bindDN: bindDN as string, password: password as string }, tlsOptions);
  const keytab = str(settings, 'keytab');
  const spn = str(settings, 'spn');
  if (spn && !keytab) throw new UsageError('--spn needs --keytab FILE');
  const timeoutMs = (settings.timeout as number | undefined) ?? DEFAULT_TIMEOUT_MS;
  // The doctor's own setting: no library option checks it.
  if (timeoutMs <= 0) throw new UsageError(`--timeout must be longer than 0, got ${timeoutMs} ms`);
  const plan: DoctorPlan = {
    timeoutMs,
    dcs,
    tls: tlsOptions,
    lookup:
      lookupUrls.length > 0
        ? { urls: lookupUrls, bindDN: bindDN!, password: password!, tls: tlsOptions }
        : undefined,
    netlogon: netlogonPlan(settings),
    redis: str(settings, 'redis'),
    dns: dnsPlan(settings, Boolean(keytab)),
    keytab: keytab ? { path: keytab, spn } : undefined,
  };
  if (plan.dcs.length === 0 && !plan.dns && !plan.lookup && !plan.netlogon && !plan.redis && !plan.keytab)
    throw new UsageError(
      'nothing to check: give --dc URLS, --netlogon HOSTS, --keytab FILE or --redis URL (or a --config file with them); a --users directory needs no network',
    );
  return plan;
}
