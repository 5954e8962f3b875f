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

function deadline<T>(promise: Promise<T>, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${name}: no answer in ${PROBE_DEADLINE_MS} ms`)),
      PROBE_DEADLINE_MS,
    );
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export class Readiness {
  readonly #verifier: object;
  readonly #store: object | undefined;
  #last: { at: number; report: ReadinessReport } | undefined;
  #running: Promise<ReadinessReport> | undefined;
  /** Called when the answer changes (not for every probe), for one log line per transition. */
  readonly #onChange: (report: ReadinessReport) => void;

  constructor(verifier: object, store: object | undefined, onChange: (report: ReadinessReport) => void) {
    this.#verifier = verifier;
    this.#store = store;
    this.#onChange = onChange;
  }

  check(now = Date.now()): Promise<ReadinessReport> {
    if (this.#last && now - this.#last.at < REUSE_MS) return Promise.resolve(this.#last.report);
    this.#running ??= this.#probe().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #probe(): Promise<ReadinessReport> {
    const verifier = this.#verifier;
    const store = this.#store;
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
    const checks = stored ? [...dcs.checks, stored] : dcs.checks;
    const report = { ready: dcs.ready && (stored?.ok ?? true), checks };
    const changed = this.#last === undefined ? !report.ready : this.#last.report.ready !== report.ready;
    this.#last = { at: Date.now(), report };
    if (changed) this.#onChange(report);
    return report;
  }
}
