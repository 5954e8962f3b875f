import type tls from 'node:tls';
import type { Endpoint, MachineAccount } from '../netlogon/secure-channel.js';
import type { DnsPlan } from './dns-srv.js';
import type { LookupAccountSettings } from './lookup-account.js';

/** What the doctor will check; the command line builds it from its settings (src/cli/doctor-plan.ts). */
export interface DoctorPlan {
  /** Longest wait of each step (connect, each answer, PING), in ms. */
  readonly timeoutMs: number;
  /** The relay's domain controllers (--dc). */
  readonly dcs: readonly string[];
  /** TLS options for ldaps:// (--dc-ca, --dc-servername). */
  readonly tls: tls.ConnectionOptions | undefined;
  readonly lookup: (LookupAccountSettings & { readonly urls: readonly string[] }) | undefined;
  readonly netlogon:
    | {
        readonly endpoints: readonly Omit<Endpoint, 'connectTimeoutMs' | 'callTimeoutMs'>[];
        readonly machine: MachineAccount;
      }
    | undefined;
  readonly redis: string | undefined;
  /** `--dc auto` / `--netlogon auto`: the DCs are found in DNS first, then checked as listed ones. */
  readonly dns: (DnsPlan & { readonly dc: boolean; readonly netlogon: boolean }) | undefined;
  /** The gateway's Kerberos keytab (--keytab) and the principal it serves (--spn). */
  readonly keytab: { readonly path: string; readonly spn: string | undefined } | undefined;
}
