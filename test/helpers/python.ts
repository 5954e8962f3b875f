import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * python requests-ntlm needs MD4, which OpenSSL 3 keeps in its legacy provider. This returns an
 * environment whose OPENSSL_CONF turns that provider on (for the Python child only).
 */
export function legacyOpensslEnv(): NodeJS.ProcessEnv {
  const path = join(tmpdir(), 'ntlm-sso-openssl-legacy.cnf');
  writeFileSync(
    path,
    [
      'openssl_conf = openssl_init',
      '[openssl_init]',
      'providers = provider_sect',
      '[provider_sect]',
      'default = default_sect',
      'legacy = legacy_sect',
      '[default_sect]',
      'activate = 1',
      '[legacy_sect]',
      'activate = 1',
      '',
    ].join('\n'),
  );
  return { ...process.env, OPENSSL_CONF: path };
}

/** Debian's interpreter, where python3-requests-ntlm is installed (not a pyenv one first on PATH). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const PYTHON_CLIENT = `
import json, sys, warnings, requests, requests_ntlm
warnings.filterwarnings('ignore')
url, user, password = sys.argv[1:4]
with requests.Session() as session:
    # Test servers over HTTPS use self-signed certificates; requests-ntlm still binds to them.
    reply = session.get(url, auth=requests_ntlm.HttpNtlmAuth(user, password), verify=False)
    print(json.dumps({"status": reply.status_code, "body": reply.text, "challenge": reply.headers.get("WWW-Authenticate")}))
`;

/** One GET through python requests-ntlm (a real client that asks for signing and sends a MIC). */
export async function pythonNtlmGet(
  url: string,
  user: string,
  password: string,
): Promise<{ status: number; body: string; challenge: string | null }> {
  const { stdout } = await promisify(execFile)(SYSTEM_PYTHON, ['-c', PYTHON_CLIENT, url, user, password], {
    env: legacyOpensslEnv(),
    timeout: 30_000,
  });
  return JSON.parse(stdout);
}
