// What every scenario is handed: the run's sizes (full or --quick), the DC, the load users, a
// scratch directory, and where to put CPU profiles.
import type { ClientCredentials } from '../../test/helpers/ntlm-client.js';
import type { Features } from './features.js';

export interface Sizes {
  /** Interleaved rounds per comparison; the figure is the median. */
  readonly rounds: number;
  /** One round of request load (scenarios 7 and 9). */
  readonly requestRoundMs: number;
  /**
   * Rounds of scenarios 1 and 2, each against servers started afresh (bench/lib/round-servers.ts):
   * more than `rounds`, so that the median outvotes the processes that sit a few % off; 12 keeps
   * the Williams order balanced for both scenarios' variants (6 and 4).
   */
  readonly freshRounds: number;
  /** One round of scenarios 1 and 2 (shorter: there are more of them). */
  readonly freshRoundMs: number;
  /** One round of logons (scenarios 3, 4, 5). */
  readonly logonRoundMs: number;
  /** Unmeasured load on a server before it is measured, so that the JIT has settled. */
  readonly warmupMs: number;
  /** The profiled run of scenarios 1 and 3. */
  readonly profileMs: number;
  /** Idle connections at which scenario 6 reads the heap. */
  readonly idleConnections: readonly number[];
  /** Entries in the caches of scenario 8. */
  readonly cacheEntries: number;
}

export const FULL: Sizes = {
  rounds: 5,
  requestRoundMs: 3000,
  freshRounds: 12,
  freshRoundMs: 2000,
  logonRoundMs: 4000,
  warmupMs: 1500,
  profileMs: 5000,
  idleConnections: [1000, 5000, 10_000],
  cacheEntries: 100_000,
};

export const QUICK: Sizes = {
  rounds: 1,
  requestRoundMs: 600,
  freshRounds: 1,
  freshRoundMs: 600,
  logonRoundMs: 600,
  warmupMs: 200,
  profileMs: 600,
  idleConnections: [50, 100, 200],
  cacheEntries: 2000,
};

/** Keep-alive connections of the request scenarios, and logons in flight at once (the set-up). */
export const CONNECTIONS = 8;
export const PARALLEL_LOGONS = 8;

export interface Context {
  readonly sizes: Sizes;
  readonly dcUrl: string;
  readonly users: readonly ClientCredentials[];
  readonly machinePassword: string;
  /** A scratch directory of this run (profiles, nginx's config). */
  readonly tmp: string;
  readonly profiles: ProfileSummary[];
  /** What the built package can do beyond the LDAP relay. */
  readonly features: Features;
  log(message: string): void;
}

/** One line of a CPU profile's summary. */
export interface CostLine {
  readonly name: string;
  /** Share of the busy (non-idle) time, in percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly label: string;
  readonly busyMs: number;
  readonly idlePercent: number;
  readonly areas: CostLine[];
  readonly topSelf: CostLine[];
  /** Self time of ntlm-sso's own functions: what the middleware itself costs. */
  readonly topOurs: CostLine[];
}
