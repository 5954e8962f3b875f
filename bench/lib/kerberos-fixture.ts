// The saved Kerberos token and keytab of test/fixtures/kerberos, for probes of Kerberos logons
// without a DC: each server runs with its clock at the token's capture time (`--import
// FIXTURE_CLOCK`) and FIXTURE_SERVER_ENV, and the probe mints fresh authenticators on the same
// clock (fixtureMint).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './children.js';
import { type TokenMint, tokenMint } from './kerberos-load.js';

/** The module that moves a process's clock to the token's capture time. */
export const FIXTURE_CLOCK = join(ROOT, 'bench/lib/fixture-clock.mjs');
const FIXTURES = join(ROOT, 'test/fixtures/kerberos');
const KEYTAB = join(FIXTURES, 'http.keytab');

/** What bench/servers/app.ts needs to serve the token's logons, with its local users and no DC. */
export const FIXTURE_SERVER_ENV = {
  BENCH_LOCAL_DIRECTORY: '1',
  BENCH_KEYTAB: KEYTAB,
  BENCH_SPN: 'HTTP/localhost',
} as const;

/** Fresh Negotiate tokens from the saved one; moves this process's clock to its capture time first. */
export async function fixtureMint(): Promise<TokenMint> {
  await import(FIXTURE_CLOCK);
  const saved = readFileSync(join(FIXTURES, 'curl-negotiate-token.b64'), 'utf8').trim();
  return tokenMint(Buffer.from(saved, 'base64'), readFileSync(KEYTAB));
}
