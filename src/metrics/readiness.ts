/**
 * Readiness (as opposed to liveness): whether logons can be decided now. The verifier says
 * whether its DCs answer (it alone knows how to ask them); a shared store that can be pinged
 * (Redis) must answer too. Probes run at most once at a time and their answer is reused for a
 * second, so that a load balancer polling often costs the DCs nothing noticeable.
 */

/** One dependency as the probe found it. */
export interface DependencyCheck {
  /** What was probed: `ldap://dc1.example.test`, `netlogon://dc1`, `store`. */
  readonly name: string;
  readonly ok: boolean;
  /** Why not (for the log; the gateway does not put it in its answer). */
  readonly detail?: string | undefined;
  /** What to change, when the failure is a setting rather than an outage (logged at error). */
  readonly fix?: string | undefined;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly DependencyCheck[];
}

/** A verifier that can tell whether the DCs it needs answer (the LDAP relay, Netlogon). */
export interface ProbedVerifier {
  probe(): Promise<ReadinessReport>;
}

/** A store that can be asked whether it answers (RedisStore). */
export interface PingableStore {
  ping(): Promise<void>;
}

/** A part that checks itself: the Kerberos keytab (readable, with a usable key). */
export interface SelfChecked {
  check(): { readonly name: string; readonly ok: boolean; readonly detail?: string; readonly fix?: string };
}

/** What readiness asks: the verifier's DCs, the shared store, the Kerberos keytab. */
export interface ReadinessParts {
  readonly verifier: object;
  readonly store: object | undefined;
  readonly kerberos?: Partial<SelfChecked> | undefined;
}

export function isProbed(verifier: object): verifier is ProbedVerifier {
  return typeof (verifier as Partial<ProbedVerifier>).probe === 'function';
}

function isPingable(store: object | undefined): store is PingableStore {
  return typeof (store as Partial<PingableStore> | undefined)?.ping === 'function';
}

/** How long an answer is reused (ms). */
const REUSE_MS = 1000;
/** A probe that has not finished by then counts as failed (ms): DC timeouts are longer. */
const PROBE_DEADLINE_MS = 5000;
/** While not ready, how soon readiness looks again by itself, polled or not (ms). */
const RECHECK_MS = 30_000;

function deadline<T>(promise: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: no answer in ${PROBE_DEADLINE_MS} ms`)),
      PROBE_DEADLINE_MS,
    );
    timer.unref();
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** What a change is: the failing checks, and which of them are settings (with a fix). */
function signature(report: ReadinessReport): string {
  return report.checks
    .filter((check) => !check.ok)
    .map((check) => `${check.name}${check.fix ? ' (fix)' : ''}`)
    .join('\n');
}

export class Readiness {
  readonly #parts: ReadinessParts;
  #last: { at: number; report: ReadinessReport } | undefined;
  #running: Promise<ReadinessReport> | undefined;
  /** Called when the answer changes (not for every probe), for one log line per transition. */
  readonly #onChange: (report: ReadinessReport) => void;
  #recheck: NodeJS.Timeout | undefined;
  #watching = false;

  constructor(parts: ReadinessParts, onChange: (report: ReadinessReport) => void) {
    this.#parts = parts;
    this.#onChange = onChange;
  }

  /**
   * Probes now, at start, so that a setting that stops every logon (a DC that requires LDAP
   * signing, a computer account the DC refuses, an unreadable keytab) is logged before any user
   * meets it; then, while not ready, again every RECHECK_MS, so that a fix is seen and logged.
   */
  start(): void {
    this.#watching = true;
    void this.check();
  }

  stop(): void {
    this.#watching = false;
    clearTimeout(this.#recheck);
  }

  check(now = Date.now()): Promise<ReadinessReport> {
    if (this.#last && now - this.#last.at < REUSE_MS) return Promise.resolve(this.#last.report);
    this.#running ??= this.#probe().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #probe(): Promise<ReadinessReport> {
    const { verifier, store, kerberos } = this.#parts;
    const [dcs, stored] = await Promise.all([
      isProbed(verifier)
        ? deadline(verifier.probe(), 'domain controllers').catch(
            (error: Error): ReadinessReport => ({
              ready: false,
              checks: [{ name: 'domain controllers', ok: false, detail: error.message }],
            }),
          )
        : { ready: true, checks: [] },
      isPingable(store)
        ? deadline(store.ping(), 'store').then(
            (): DependencyCheck => ({ name: 'store', ok: true }),
            (error: Error): DependencyCheck => ({ name: 'store', ok: false, detail: error.message }),
          )
        : undefined,
    ]);
    const keytab = kerberos?.check?.();
    const checks = [...dcs.checks, ...(keytab ? [keytab] : []), ...(stored ? [stored] : [])];
    const report = { ready: dcs.ready && (stored?.ok ?? true) && (keytab?.ok ?? true), checks };
    const changed =
      this.#last === undefined
        ? !report.ready
        : this.#last.report.ready !== report.ready || signature(this.#last.report) !== signature(report);
    this.#last = { at: Date.now(), report };
    if (changed) this.#onChange(report);
    this.#scheduleRecheck(report);
    return report;
  }

  #scheduleRecheck(report: ReadinessReport): void {
    clearTimeout(this.#recheck);
    if (!this.#watching || report.ready) return;
    this.#recheck = setTimeout(() => void this.check(), RECHECK_MS);
    this.#recheck.unref();
  }
}
