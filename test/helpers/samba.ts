// A throwaway Samba AD domain controller on 127.0.0.1 for the integration tests, from the
// scripts in test/samba-dc (provisioned once into .tmp/samba-dc, then started and stopped).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Attribute, Change, Client } from 'ldapts';
import { sidToString } from '../../src/dc/sid.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPTS = `${ROOT}test/samba-dc`;
export const DC_DIR = `${ROOT}.tmp/samba-dc`;
export const DC_URL = 'ldap://127.0.0.1';
export const ADMIN_PASSWORD = 'Admin-Passw0rd!';

/** Why the DC tests cannot run here, or undefined when they can. */
export async function sambaMissing(): Promise<string | undefined> {
  try {
    await run('samba', ['-V']);
    await run('samba-tool', ['--version']);
    await run('ldapsearch', ['-VV']).catch((error) => {
      if (error.code === 'ENOENT') throw error;
    });
    return undefined;
  } catch {
    return 'Samba AD DC is not installed (apt-get install samba-ad-dc samba-ad-provision ldap-utils, as .ci/run does)';
  }
}

/**
 * A DC suite's `skip`: false when Samba is here; in CI its absence is an error, not a skip, so
 * that a machine without the DC fails loudly instead of passing.
 */
export async function sambaSkip(): Promise<string | false> {
  const missing = await sambaMissing();
  if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);
  return missing ? `skipped: ${missing}` : false;
}

async function script(name: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run('bash', [`${SCRIPTS}/${name}`, DC_DIR], {
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return stdout;
}

/** Sets `ldap server require strong auth` in the provisioned smb.conf (takes effect at the next start). */
function setStrongAuth(value: 'yes' | 'no'): void {
  const path = `${DC_DIR}/etc/smb.conf`;
  const conf = readFileSync(path, 'utf8').replace(
    /ldap server require strong auth = \S+/,
    `ldap server require strong auth = ${value}`,
  );
  writeFileSync(path, conf);
}

/** Bumped when provision.sh changes what it provisions; an older DC_DIR is provisioned again. */
const LAYOUT = '3';
export const MACHINE_ACCOUNT = 'WEB01$';
export const MACHINE_PASSWORD = 'Web01-Machine-Passw0rd-123!';
/** The AES keytab of HTTP/localhost@EXAMPLE.TEST (service account httpsvc), made by accounts.sh. */
export const KEYTAB = `${DC_DIR}/http.keytab`;
export const KRB5_CONF = `${SCRIPTS}/krb5.conf`;

/**
 * The gateway's flags for Netlogon to the test DC as `account` (WEB01$ by default): the password
 * in a file of the DC's directory (never a flag), as --machine-password-file wants it.
 */
export function netlogonGatewayFlags(account = MACHINE_ACCOUNT, host = '127.0.0.1'): string[] {
  const file = `${DC_DIR}/machine-password-${account.replace('$', '')}`;
  writeFileSync(file, `${MACHINE_PASSWORD}\n`, { mode: 0o600 });
  return [
    '--netlogon',
    host,
    '--domain',
    'EXAMPLE',
    '--machine-account',
    account,
    '--machine-password-file',
    file,
  ];
}

function provisionedLayout(): string | undefined {
  try {
    return readFileSync(`${DC_DIR}/.provisioned`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether something answers on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => resolve(true));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(false));
    socket.once('close', () => socket.destroy());
  });
}

/**
 * Refuses to test against a DC we did not start: `npm test` runs in a network namespace of its
 * own (test/run.sh), so 127.0.0.1:389 is ours; outside it another LDAP server may be there.
 */
async function refuseForeignDc(): Promise<void> {
  const ours = existsSync(`${DC_DIR}/run/samba.main.pid`);
  if (!ours && (await listening(389))) {
    throw new Error(
      'another LDAP server already listens on 127.0.0.1:389; run the tests with `npm test`, which gives them a network namespace of their own',
    );
  }
}

export async function startDc(options: { strict?: boolean } = {}): Promise<void> {
  const layout = provisionedLayout();
  if (layout !== LAYOUT) {
    if (layout !== undefined) await script('stop.sh');
    rmSync(DC_DIR, { recursive: true, force: true });
    await script('provision.sh', { LAYOUT });
  }
  await script('stop.sh');
  await refuseForeignDc();
  setStrongAuth(options.strict ? 'yes' : 'no');
  await script('start.sh');
}

export async function stopDc(): Promise<void> {
  await script('stop.sh');
}

export const LOAD_USERS = Array.from({ length: 20 }, (_, i) => {
  const name = `load${String(i + 1).padStart(2, '0')}`;
  return { user: name, domain: 'EXAMPLE', password: `Load-Passw0rd-${i + 1}!` };
});

/** Runs `work` as Administrator over LDAPS (AD changes passwords over TLS only). */
async function asAdministrator(work: (client: Client) => Promise<void>): Promise<void> {
  const client = new Client({
    url: 'ldaps://127.0.0.1',
    tlsOptions: { rejectUnauthorized: false },
    timeout: 10_000,
  });
  try {
    await client.bind('Administrator@example.test', ADMIN_PASSWORD);
    await work(client);
  } finally {
    await client.unbind();
  }
}

/** Creates the 20 load-test users (a few ms each), if missing. */
export function ensureLoadUsers(): Promise<void> {
  return asAdministrator(async (client) => {
    for (const { user, password } of LOAD_USERS) {
      try {
        await client.add(`CN=${user},CN=Users,DC=example,DC=test`, [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'sAMAccountName', values: [user] }),
          new Attribute({ type: 'userPrincipalName', values: [`${user}@example.test`] }),
          // Passwords are set as the quoted UTF-16LE string.
          new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
          new Attribute({ type: 'userAccountControl', values: ['512'] }),
        ]);
      } catch (error) {
        if (!/already exists|EntryAlreadyExists|68/i.test(String((error as Error).message ?? error)))
          throw error;
      }
    }
  });
}

/** The SID of an account or group (e.g. Engineering), read over LDAPS as Administrator (a strict DC refuses plain simple binds). */
export async function accountSid(name: string): Promise<string> {
  let sid = '';
  await asAdministrator(async (client) => {
    const { searchEntries } = await client.search('DC=example,DC=test', {
      filter: `(sAMAccountName=${name})`,
      attributes: ['objectSid'],
      explicitBufferAttributes: ['objectSid'],
    });
    if (searchEntries.length !== 1) throw new Error(`accountSid: no single account named ${name}`);
    sid = sidToString(searchEntries[0]!.objectSid as Buffer);
  });
  return sid;
}

/** Sets one attribute of a user, found by sAMAccountName. */
export function setUserAttribute(user: string, attribute: string, value: string): Promise<void> {
  return asAdministrator(async (client) => {
    const { searchEntries } = await client.search('DC=example,DC=test', {
      filter: `(sAMAccountName=${user})`,
      attributes: ['dn'],
    });
    if (searchEntries.length !== 1) throw new Error(`setUserAttribute: no single account named ${user}`);
    await client.modify(
      searchEntries[0]!.dn,
      new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values: [value] }) }),
    );
  });
}

/**
 * ESTABLISHED TCP connections from this machine to port 389, read from /proc/net/tcp{,6}. Counted
 * once each by their two addresses: a table of thousands of sockets is read in several chunks
 * while it changes, and the kernel may then list a socket twice.
 */
export async function openLdapConnections(port = 389): Promise<number> {
  const seen = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const table = await readFile(file, 'utf8').catch(() => '');
    for (const line of table.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4) continue;
      const remotePort = Number.parseInt(fields[2]!.split(':')[1] ?? '', 16);
      if (remotePort === port && fields[3] === '01') seen.add(`${file} ${fields[1]} ${fields[2]}`);
    }
  }
  return seen.size;
}

/** samba-tool on the test DC's own samdb (as accounts.sh does; the DC may be running). */
export function sambaTool(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('samba-tool', [...args, '-s', `${DC_DIR}/etc/smb.conf`], { timeout: 60_000 });
}

/**
 * A numeric attribute of a user as samba-tool shows it (`badPwdCount`, `userAccountControl`);
 * `absent` when the directory leaves it out (Samba omits a badPwdCount of 0), else an error.
 */
export async function userNumber(user: string, attribute: string, absent?: number): Promise<number> {
  const { stdout } = await sambaTool('user', 'show', user, `--attributes=${attribute}`);
  const value = new RegExp(`${attribute}: (\\d+)`).exec(stdout)?.[1];
  if (value !== undefined) return Number(value);
  if (absent !== undefined) return absent;
  throw new Error(`userNumber: ${user} has no ${attribute}`);
}

/** Sets the password of the machine account WEB01$ on the DC (samba-tool on its samdb, as accounts.sh does). */
export async function setMachinePassword(password: string): Promise<void> {
  await sambaTool('user', 'setpassword', MACHINE_ACCOUNT, `--newpassword=${password}`);
}
