import { DcLocator, type DnsResolver, dcSrvName } from '../dc/dc-locator.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigurationError } from '../errors.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { DcDnsOptions } from '../types.js';
import { knownKeysOnly, positiveInteger } from '../validation.js';

/** What a test may put in place of the system's DNS (not an option: a second constructor argument). */
export interface DcDnsInternals {
  readonly resolver?: DnsResolver;
}

const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)(\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?)+$/i;
/** After a failure, DNS is asked again at most this often: an outage must not become a DNS flood. */
const REQUERY_AFTER_MS = 5000;

/** The DNS name of an 'auto' domain, checked: it is the zone the SRV records are asked in. */
export function checkDnsDomain(value: unknown, owner: string, option: string): string {
  if (typeof value !== 'string' || !DNS_NAME.test(value.replace(/\.$/, ''))) {
    throw new ConfigurationError(
      `${owner}: DCs found in DNS ('auto') need ${option}, the domain's DNS name (e.g. 'example.test'), got ${JSON.stringify(value)}`,
      { code: 'ERR_NTLM_CONFIG_MISSING', option: `${owner}.${option}` },
    );
  }
  return value.replace(/\.$/, '').toLowerCase();
}

/** The locator of `dnsDomain`'s DCs, from the verifier's `dns` options (checked here). */
export function dcLocator(
  dnsDomain: string,
  options: DcDnsOptions | undefined,
  owner: string,
  internals: DcDnsInternals = {},
): DcLocator {
  knownKeysOnly(options, OPTION_KEYS.dcDns, owner, 'dns.');
  const servers = options?.servers;
  if (servers !== undefined && (!Array.isArray(servers) || servers.some((s) => typeof s !== 'string'))) {
    throw new ConfigurationError(`${owner}: dns.servers must be a list of addresses, e.g. ['10.0.0.53']`, {
      code: 'ERR_NTLM_CONFIG_NOT_A_LIST',
      option: `${owner}.dns.servers`,
    });
  }
  const settings = {
    servers,
    timeoutMs: positiveInteger(options?.timeoutMs, 'dns.timeoutMs (ms)', DEFAULTS.dcDns.timeoutMs, owner),
    refreshMs: positiveInteger(options?.refreshMs, 'dns.refreshMs (ms)', DEFAULTS.dcDns.refreshMs, owner),
    requeryAfterMs: REQUERY_AFTER_MS,
    resolver: internals.resolver,
  };
  try {
    return new DcLocator(dcSrvName(dnsDomain), settings);
  } catch (error) {
    // node's setServers refuses what is not an address (a host name, a bad port).
    throw new ConfigurationError(
      `${owner}: dns.servers ${JSON.stringify(servers)}: ${(error as Error).message} (give IP addresses, e.g. '10.0.0.53' or '10.0.0.53:5353')`,
      { option: `${owner}.dns.servers`, cause: error },
    );
  }
}
