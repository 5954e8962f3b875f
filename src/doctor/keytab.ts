import { readFileSync } from 'node:fs';
import { EncType, keyLengthOk } from '../kerberos/enctypes.js';
import { type KeytabEntry, parseKeytab, principalText, samePrincipal } from '../kerberos/keytab.js';
import { type CheckResult, describeError, fail, pass } from './check.js';

/**
 * The keytab the gateway would load (--keytab, --spn), read as the acceptor reads it
 * (src/kerberos/keytab.ts): does it parse, whose keys it holds, and whether they are keys the
 * gateway can use (AES only: the gateway has no RC4 switch). The directory's side (kvno, clock)
 * is keytab-directory.ts.
 */

/** One principal of the keytab with the kvnos and enctypes of its keys. */
export interface KeytabPrincipal {
  readonly components: readonly string[];
  readonly realm: string;
  readonly text: string;
  readonly entries: readonly KeytabEntry[];
}

export interface KeytabFindings {
  readonly results: CheckResult[];
  /** The principals whose keys matter (the --spn's, or all); empty when the file is unusable. */
  readonly principals: KeytabPrincipal[];
}

const EXPORT_HOWTO =
  'export one on a DC: `ktpass -princ HTTP/web.example.com@EXAMPLE.COM -mapuser EXAMPLE\\svc -crypto AES256-SHA1 -ptype KRB5_NT_PRINCIPAL -pass * -out web.keytab` (Windows) or `samba-tool domain exportkeytab web.keytab --principal=HTTP/web.example.com` (Samba)';

/** RFC 3961 8 / RFC 8009 names, as ktutil and klist -e print them. */
const ENCTYPE_NAMES = new Map<number, string>([
  [1, 'des-cbc-crc'],
  [3, 'des-cbc-md5'],
  [EncType.AES128_CTS_HMAC_SHA1_96, 'aes128-cts-hmac-sha1-96'],
  [EncType.AES256_CTS_HMAC_SHA1_96, 'aes256-cts-hmac-sha1-96'],
  [19, 'aes128-cts-hmac-sha256-128'],
  [20, 'aes256-cts-hmac-sha384-192'],
  [EncType.RC4_HMAC, 'rc4-hmac'],
]);

export const enctypeName = (etype: number): string => ENCTYPE_NAMES.get(etype) ?? `enctype ${etype}`;

const isAes = (entry: KeytabEntry) =>
  (entry.key.etype === EncType.AES128_CTS_HMAC_SHA1_96 ||
    entry.key.etype === EncType.AES256_CTS_HMAC_SHA1_96) &&
  keyLengthOk(entry.key);

/** `HTTP/web.example.com` or `HTTP/web.example.com@REALM`; without a realm it matches any. */
function parseSpn(spn: string): { components: string[]; realm: string | undefined } {
  const at = spn.lastIndexOf('@');
  return {
    components: (at >= 0 ? spn.slice(0, at) : spn).split('/'),
    realm: at >= 0 ? spn.slice(at + 1) : undefined,
  };
}

/** The keytab's entries grouped by principal, in file order. */
function groupByPrincipal(entries: readonly KeytabEntry[]): KeytabPrincipal[] {
  const principals: { components: readonly string[]; realm: string; text: string; entries: KeytabEntry[] }[] =
    [];
  for (const entry of entries) {
    const known = principals.find((p) => samePrincipal(p, entry));
    if (known) known.entries.push(entry);
    else
      principals.push({
        components: entry.components,
        realm: entry.realm,
        text: principalText(entry.components, entry.realm),
        entries: [entry],
      });
  }
  return principals;
}

/** `HTTP/localhost@EXAMPLE.TEST (kvno 2: aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96)` */
function describePrincipal(principal: KeytabPrincipal): string {
  const kvnos = [...new Set(principal.entries.map((e) => e.kvno))].sort((a, b) => a - b);
  const byKvno = kvnos.map(
    (kvno) =>
      `kvno ${kvno}: ${principal.entries
        .filter((e) => e.kvno === kvno)
        .map((e) => enctypeName(e.key.etype) + (keyLengthOk(e.key) ? '' : ' (key of a wrong length)'))
        .join(', ')}`,
  );
  return `${principal.text} (${byKvno.join('; ')})`;
}

/** The keytab file: MIT format, the principal the gateway will use, usable enctypes. */
export function checkKeytabFile(path: string, spn: string | undefined): KeytabFindings {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const cause = `cannot read it: ${describeError(error)}`;
    const fix =
      'check --keytab and that the user the gateway runs as may read the file (and no one else: it holds the service’s keys)';
    return { results: [fail('keytab', cause, fix)], principals: [] };
  }
  let entries: KeytabEntry[];
  try {
    entries = parseKeytab(bytes);
  } catch (error) {
    const cause = `not a usable MIT keytab (${bytes.length} bytes): ${(error as Error).message}`;
    return { results: [fail('keytab', cause, EXPORT_HOWTO)], principals: [] };
  }
  if (entries.length === 0)
    return { results: [fail('keytab', 'the file holds no keys', EXPORT_HOWTO)], principals: [] };
  const all = groupByPrincipal(entries);
  const results = [pass('keytab', `MIT keytab with ${entries.length} key${entries.length === 1 ? '' : 's'}`)];

  let principals = all;
  if (spn) {
    const wanted = parseSpn(spn);
    principals = all.filter((p) =>
      samePrincipal({ components: wanted.components, realm: wanted.realm ?? p.realm }, p),
    );
    if (principals.length === 0) {
      results.push(
        fail(
          'principals',
          `--spn ${spn} is not in it; it holds ${all.map(describePrincipal).join(', ')}`,
          `export the keytab for ${spn} (the account needs that SPN: setspn -S ${wanted.components.join('/')} EXAMPLE\\svc, or samba-tool spn add), or set --spn to a principal it holds`,
        ),
      );
      return { results, principals: [] };
    }
    results.push(pass('principals', `${spn} is there: ${principals.map(describePrincipal).join(', ')}`));
  } else {
    results.push(
      pass(
        'principals',
        `${all.map(describePrincipal).join(', ')} (any of them is accepted; --spn picks one)`,
      ),
    );
  }
  results.push(checkEnctypes(principals));
  return { results, principals };
}

/**
 * AES keys present for every principal that counts. The gateway accepts aes256/aes128 tickets
 * only; an RC4-only keytab is what AD exports for an account whose msDS-SupportedEncryptionTypes
 * does not name AES, and the KDC then issues RC4 tickets that the gateway refuses.
 */
function checkEnctypes(principals: readonly KeytabPrincipal[]): CheckResult {
  const without = principals.filter((p) => !p.entries.some(isAes));
  if (without.length === 0) {
    const ignored = principals.flatMap((p) => p.entries).filter((e) => !isAes(e));
    const note =
      ignored.length === 0
        ? ''
        : `; ${[...new Set(ignored.map((e) => enctypeName(e.key.etype)))].join(', ')} keys are ignored (the gateway accepts AES only)`;
    return pass('enctypes', `AES keys for ${principals.map((p) => p.text).join(', ')}${note}`);
  }
  const found = [...new Set(without.flatMap((p) => p.entries.map((e) => enctypeName(e.key.etype))))];
  const rc4Only = found.every((name) => name === 'rc4-hmac');
  return fail(
    'enctypes',
    `${without.map((p) => p.text).join(', ')} ${rc4Only ? 'has only rc4-hmac keys' : `has no AES key (only ${found.join(', ')})`}: the gateway accepts AES tickets only, so Kerberos logons would fail (browsers then fall back to NTLM, if at all)`,
    'set msDS-SupportedEncryptionTypes to 24 (AES128 + AES256) on the service account (ADUC: "This account supports Kerberos AES 256 bit encryption"; Samba: samba-tool user edit), set its password again so the DC makes AES keys, and export the keytab again (ktpass -crypto AES256-SHA1, or samba-tool domain exportkeytab)',
  );
}
