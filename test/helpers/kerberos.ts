// Kerberos clients for tests: kinit into a private ccache, curl --negotiate (Kerberos, or NTLM
// through gss-ntlmssp), and headless Firefox ESR with a profile that trusts the test host.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KRB5_CONF } from './samba.js';

const run = promisify(execFile);

/** A private ccache (and NTLM user file for gss-ntlmssp), and the environment clients need. */
export class KerberosClientEnv {
  readonly dir = mkdtempSync(join(tmpdir(), 'krb5cc-'));
  /** With a ticket cache: Kerberos. */
  readonly env: NodeJS.ProcessEnv = {
    ...process.env,
    KRB5_CONFIG: KRB5_CONF,
    KRB5CCNAME: `FILE:${this.dir}/ccache`,
  };

  /** No ticket cache, and gss-ntlmssp's credentials file: SPNEGO falls back to NTLMSSP. */
  ntlmEnv(user: { domain: string; user: string; password: string }): NodeJS.ProcessEnv {
    const file = join(this.dir, 'ntlm-users');
    writeFileSync(file, `${user.domain}:${user.user}:${user.password}\n`, { mode: 0o600 });
    return { ...this.env, KRB5CCNAME: `FILE:${this.dir}/none`, NTLM_USER_FILE: file };
  }

  /** kinit with the password on stdin (no keytab for users, no prompt). */
  kinit(principal: string, password: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('kinit', [principal], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      const timer = setTimeout(() => child.kill(), 20_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        code === 0 ? resolve() : reject(new Error(`kinit ${principal}: ${code} ${output}`));
      });
      child.stdin.end(`${password}\n`);
    });
  }

  async kvno(principal: string): Promise<void> {
    await run('kvno', [principal], { env: this.env, timeout: 20_000 });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** curl --negotiate -u : in `env`; `extra` go before the URL. */
export async function curlNegotiate(
  url: string,
  env: NodeJS.ProcessEnv,
  extra: string[] = [],
): Promise<{ status: number; body: string; stderr: string }> {
  const { stdout, stderr } = await run(
    'curl',
    ['-sS', '-v', '--max-time', '20', '--negotiate', '-u', ':', '-w', '\n%{http_code}', ...extra, url],
    { env },
  );
  const lines = stdout.split('\n');
  return { status: Number(lines.pop()), body: lines.join('\n'), stderr };
}

/**
 * Loads `url` in headless Firefox ESR (Debian's; playwright cannot drive it) with a fresh profile
 * that allows Negotiate and automatic NTLM to `host`, and waits for it to exit (--screenshot
 * loads the page, saves it, and quits). What the server saw is the test's evidence.
 */
export async function firefoxLoad(url: string, host: string, env: NodeJS.ProcessEnv): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'firefox-'));
  mkdirSync(profile, { recursive: true });
  writeFileSync(
    join(profile, 'user.js'),
    [
      `user_pref("network.negotiate-auth.trusted-uris", "${host}");`,
      `user_pref("network.automatic-ntlm-auth.trusted-uris", "${host}");`,
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("app.update.enabled", false);',
      'user_pref("network.dns.disableIPv6", true);',
      'user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("browser.startup.homepage_override.mstone", "ignore");',
    ].join('\n'),
  );
  try {
    await run(
      'firefox-esr',
      ['--headless', '--no-remote', '--profile', profile, '--screenshot', join(profile, 'page.png'), url],
      { env: { ...env, HOME: profile, MOZ_CRASHREPORTER_DISABLE: '1' }, timeout: 90_000 },
    );
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
