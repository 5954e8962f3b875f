import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
