// The fuzz's targets: the local directory with Kerberos and Bearer tokens (no DC needed), and the
// Netlogon verifier against the real Samba DC, plus the seeds made by logging in for real.
import { netlogon } from '../../src/index.js';
import type { Verifier } from '../../src/types.js';
import type { NetlogonVerifier } from '../../src/verifiers/netlogon.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { MACHINE_ACCOUNT, MACHINE_PASSWORD } from '../helpers/samba.js';
import { ALICE, testDirectory } from '../helpers/servers.js';
import { BEARER_SECRET, type FuzzContext } from './families.js';
import { KEYTAB, KerberosInputs } from './kerberos-inputs.js';
import { Target } from './target.js';

export const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The local directory, naming group SIDs as a directory would that knows none of them (they stay
 * SIDs): ntlm() refuses group names in allowGroups with Kerberos unless the verifier can name
 * SIDs (ERR_NTLM_CONFIG_GROUPS_UNRESOLVABLE), and the fuzzed PACs' SIDs go through it too.
 */
function namingDirectory(): Verifier {
  const directory = testDirectory();
  return {
    name: directory.name,
    domains: directory.domains,
    startHandshake: (start) => directory.startHandshake(start),
    close: async () => directory.close?.(),
    nameGroups: async (identity) => ({ ...identity, groups: [...(identity.groupSids ?? [])] }),
  };
}

/** The local target: NTLM against the local directory, Kerberos from the fixture keytab, Bearer tokens, access rules. */
export function localTarget(timeoutMs: number): Target {
  return new Target(
    {
      verifier: namingDirectory(),
      logger: QUIET,
      kerberos: { keytab: KEYTAB },
      bearer: { secret: BEARER_SECRET, cookie: true },
      // Rules, so that every identity (from NTLM, Kerberos, a token) goes through them.
      allowUsers: ['bob'],
      allowGroups: ['Engineering'],
    },
    timeoutMs,
  );
}

/** The Netlogon target against the strict Samba DC of test/helpers/samba.ts (already started). */
export function netlogonTarget(timeoutMs: number): { target: Target; verifier: NetlogonVerifier } {
  const verifier = netlogon({
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
  });
  return { target: new Target({ verifier, logger: QUIET }, timeoutMs), verifier };
}

/** A Bearer token as the local target issues it: alice logs in with NTLM. */
async function issuedToken(target: Target): Promise<string> {
  const socket = target.connection();
  try {
    const negotiate = type1();
    const first = await target.send(socket, { authorization: `NTLM ${negotiate.toString('base64')}` });
    const offer = first.decision?.kind === 'challenge' ? first.decision.offers[0]! : '';
    const challenge = Buffer.from(offer.slice(5), 'base64');
    const last = await target.send(socket, {
      authorization: `NTLM ${(await type3(negotiate, challenge, ALICE)).toString('base64')}`,
    });
    if (last.decision?.kind !== 'pass' || !last.decision.issued)
      throw new Error(`alice could not log in: ${last.status} ${last.code}`);
    return last.decision.issued.token;
  } finally {
    socket.destroy();
  }
}

/**
 * A context factory: each call makes a fresh local target (its replay cache and registry start
 * empty) around the one Netlogon target, checked with a real logon of each kind first.
 */
export async function contextFactory(options: {
  timeoutMs: number;
  netlogon: Target | undefined;
}): Promise<() => Promise<FuzzContext>> {
  const kerberos = new KerberosInputs();
  return async () => {
    const local = localTarget(options.timeoutMs);
    const bearerSeed = await issuedToken(local);
    return { local, netlogon: options.netlogon, kerberos, bearerSeed };
  };
}
