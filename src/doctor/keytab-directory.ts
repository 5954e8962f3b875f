import type { Filter } from 'ldapts';
import { Scope } from '../dc/ldap-messages.js';
import { ldapts } from '../dc/ldapts.js';
import { ServiceAccountDirectory } from '../dc/service-account.js';
import { type CheckResult, describeError, fail, notChecked, pass } from './check.js';
import { checkClockSkew } from './clock-skew.js';
import type { KeytabPrincipal } from './keytab.js';
import type { LookupAccountSettings } from './lookup-account.js';

/**
 * The keytab against the directory, read as the lookup account: the key version (kvno) of each
 * principal's account and the DC's clock. The KDC encrypts every ticket with the account's
 * current key (RFC 4120 3.3.1) and names its kvno; a keytab exported before the account's
 * password last changed lacks that key, so every Kerberos logon fails.
 */

/** More principals than a service keytab holds (a whole-domain export): compare the first few. */
const MAX_PRINCIPALS = 8;

const KERBEROS_LIMIT = 'Kerberos refuses tickets and authenticators more than 5 minutes off';

export async function checkKeytabAgainstDirectory(
  principals: readonly KeytabPrincipal[],
  lookup: (LookupAccountSettings & { readonly urls: readonly string[] }) | undefined,
  dcs: readonly string[],
  timeouts: { connectTimeoutMs: number; operationTimeoutMs: number },
): Promise<CheckResult[]> {
  if (!lookup) {
    return [
      notChecked(
        'kvno',
        'not compared with the directory: it needs a lookup account (--lookup-url, --lookup-user, --lookup-password) to read msDS-KeyVersionNumber; a keytab exported before the account’s password last changed fails every Kerberos logon',
      ),
      notChecked(
        'Kerberos clock',
        `${KERBEROS_LIMIT}; ${dcs.length > 0 ? 'the clock line of each --dc above compares this host with the DC' : 'give --dc to compare this host’s clock with a DC'}`,
      ),
    ];
  }
  const directory = new ServiceAccountDirectory(
    { url: [...lookup.urls], bindDN: lookup.bindDN, password: lookup.password, tls: lookup.tls, poolSize: 1 },
    { ...timeouts, queueTimeoutMs: timeouts.operationTimeoutMs },
  );
  try {
    let root: { namingContext: string | undefined; currentTime: string | undefined };
    const sentAt = Date.now();
    try {
      root = await readRootDse(directory);
    } catch (error) {
      return [
        fail(
          'kvno',
          `cannot read the directory as ${lookup.bindDN}: ${describeError(error)}`,
          'see the lookup account line above',
        ),
      ];
    }
    const clock = checkClockSkew(root.currentTime, sentAt, Date.now());
    const results = [
      {
        ...clock,
        check: 'Kerberos clock',
        detail: clock.ok ? `${clock.detail}; ${KERBEROS_LIMIT}` : clock.detail,
      },
    ];
    if (!root.namingContext) {
      results.push(
        fail(
          'kvno',
          'the rootDSE has no defaultNamingContext',
          'point --lookup-url at an AD domain controller',
        ),
      );
      return results;
    }
    for (const principal of principals.slice(0, MAX_PRINCIPALS))
      results.push(await compareKvno(directory, root.namingContext, principal));
    if (principals.length > MAX_PRINCIPALS) {
      results.push(
        notChecked(
          'kvno',
          `${principals.length - MAX_PRINCIPALS} more principals not compared; give --spn to name the one the gateway serves`,
        ),
      );
    }
    return results;
  } finally {
    await directory.close();
  }
}

async function readRootDse(directory: ServiceAccountDirectory) {
  const { entries } = await directory.search({
    base: '',
    scope: Scope.base,
    filter: ldapts().FilterParser.parseString('(objectClass=*)'),
    attributes: ['defaultNamingContext', 'currentTime'],
  });
  const text = (name: string) => entries[0]?.attributes.get(name.toLowerCase())?.[0]?.toString('utf8');
  return { namingContext: text('defaultNamingContext'), currentTime: text('currentTime') };
}

/**
 * The account a principal names: a service principal by servicePrincipalName (realm left out, as
 * AD stores it), a one-part name by sAMAccountName or userPrincipalName (ktpass -mapuser keytabs).
 */
function accountFilter(principal: KeytabPrincipal): Filter {
  const { EqualityFilter, OrFilter } = ldapts();
  if (principal.components.length > 1)
    return new EqualityFilter({ attribute: 'servicePrincipalName', value: principal.components.join('/') });
  const [name] = principal.components as [string];
  return new OrFilter({
    filters: [
      new EqualityFilter({ attribute: 'sAMAccountName', value: name }),
      new EqualityFilter({ attribute: 'userPrincipalName', value: `${name}@${principal.realm}` }),
    ],
  });
}

async function compareKvno(
  directory: ServiceAccountDirectory,
  namingContext: string,
  principal: KeytabPrincipal,
): Promise<CheckResult> {
  const name = principal.text;
  let entries: Awaited<ReturnType<ServiceAccountDirectory['search']>>['entries'];
  try {
    ({ entries } = await directory.search({
      base: namingContext,
      scope: Scope.subtree,
      filter: accountFilter(principal),
      attributes: ['msDS-KeyVersionNumber'],
    }));
  } catch (error) {
    return fail(
      'kvno',
      `${name}: the search failed: ${describeError(error)}`,
      'see the lookup account line above',
    );
  }
  const spn = principal.components.join('/');
  if (entries.length === 0) {
    return fail(
      'kvno',
      `no account in ${namingContext} has ${principal.components.length > 1 ? `the SPN ${spn}` : `the name ${spn}`}: the KDC cannot issue tickets for ${name}`,
      `add the SPN to the service account (setspn -S ${spn} EXAMPLE\\svc; samba-tool spn add ${spn} svc) and export the keytab again`,
    );
  }
  if (entries.length > 1) {
    return fail(
      'kvno',
      `${spn} is on ${entries.length} accounts (${entries.map((e) => e.dn).join('; ')}): the KDC refuses to issue tickets for a duplicate SPN`,
      'keep it on the service account only (setspn -X lists duplicates; setspn -D removes one)',
    );
  }
  const [account] = entries as [(typeof entries)[number]];
  const raw = account.attributes.get('msds-keyversionnumber')?.[0]?.toString('utf8');
  const directoryKvno = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isInteger(directoryKvno)) {
    return fail(
      'kvno',
      `${account.dn} has no readable msDS-KeyVersionNumber (${JSON.stringify(raw)})`,
      'let the lookup account read the service account (Domain Users can by default)',
    );
  }
  // RFC 4120 5.3: the ticket names the key version; the keytab must hold that very key.
  const kvnos = [...new Set(principal.entries.map((e) => e.kvno))].sort((a, b) => a - b);
  if (kvnos.includes(directoryKvno))
    return pass('kvno', `${name}: kvno ${directoryKvno} in the keytab and in the directory (${account.dn})`);
  const newest = kvnos[kvnos.length - 1]!;
  const reexport = `export the keytab again (samba-tool domain exportkeytab FILE --principal=${spn}; on Windows ktpass, which sets a new password and so a new kvno) and restart the gateway`;
  if (newest < directoryKvno) {
    return fail(
      'kvno',
      `${name}: the keytab has kvno ${kvnos.join(', ')}, the directory ${directoryKvno} (${account.dn}): the account’s password changed after the export, so the KDC encrypts tickets with a key this keytab lacks and every Kerberos logon fails`,
      reexport,
    );
  }
  return fail(
    'kvno',
    `${name}: the keytab has kvno ${kvnos.join(', ')}, newer than the directory’s ${directoryKvno} (${account.dn}): it was exported from another account or domain, or the account was made anew`,
    reexport,
  );
}
