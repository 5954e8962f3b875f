import { DcLocator, kdcSrvName } from '../dc/dc-locator.js';
import { DEFAULTS } from '../defaults.js';
import { ConfigurationError } from '../errors.js';
import { type KdcAddress, type KdcSource, parseKdcAddress } from './kdc-transport.js';

/** After a failure, DNS is asked again at most this often (as for the DCs: dc-dns.ts). */
const REQUERY_AFTER_MS = 5000;

/**
 * The KDCs of a realm, in the order they are tried: a list given (`host[:port]`), or 'auto', the
 * SRV records `_kerberos._tcp.<realm in lower case>` (RFC 4120 7.2.3.2), as MIT's and Windows'
 * clients find them, in RFC 2782 order and each target resolved by the same DNS servers.
 */
export function kdcAddresses(
  kdc: readonly string[] | 'auto',
  realm: string,
  owner: string,
): { list: KdcSource; close: () => void; name: string } {
  if (kdc === 'auto') {
    const locator = new DcLocator(kdcSrvName(realm.toLowerCase()), {
      timeoutMs: DEFAULTS.dcDns.timeoutMs,
      refreshMs: DEFAULTS.dcDns.refreshMs,
      requeryAfterMs: REQUERY_AFTER_MS,
    });
    // The transport is handed `list` alone: it carries what the transport must tell the locator.
    const close = () => locator.close();
    const list: KdcSource = Object.assign(
      async (): Promise<readonly KdcAddress[]> =>
        (await locator.locate()).map((found) => ({ host: found.address, port: found.port })),
      { failed: () => locator.failed(), close },
    );
    return { list, close, name: `dns:${locator.name}` };
  }
  if (!Array.isArray(kdc) || kdc.length === 0 || !kdc.every((item) => typeof item === 'string')) {
    throw new ConfigurationError(
      `${owner}: kdc must be 'auto' or a list of host[:port], got ${JSON.stringify(kdc)}`,
      {
        code: 'ERR_NTLM_CONFIG_NOT_A_LIST',
        option: owner,
      },
    );
  }
  const addresses = kdc.map((text) => parseKdcAddress(text, owner));
  return { list: async () => addresses, close: () => {}, name: kdc.join(',') };
}
