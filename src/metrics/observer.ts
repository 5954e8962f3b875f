/**
 * What the parts that decide (the Authenticator, the DC selector, the directory cache) tell
 * whoever watches them: the log of transitions, Prometheus metrics. Plain interfaces with no
 * imports, so that any layer can report without knowing who listens.
 */

/** One DC operation whose answer was timed. */
export type DcOperation = 'negotiate' | 'authenticate' | 'samlogon';

/** The DC selector (LDAP relay and Netlogon alike) and the calls made through it. */
export interface DcObserver {
  /** The DCs the selector will try, reported once when the observer is added: each counts as up. */
  dcKnown(dc: string): void;
  /** A DC that served has failed: reported on the transition only, not for each request after. */
  dcDown(dc: string, reason: string): void;
  /** A DC that was down answered again, after `downForMs`. */
  dcUp(dc: string, downForMs: number): void;
  /** How long a DC took to answer one operation (whatever its verdict). */
  dcLatency(dc: string, operation: DcOperation, seconds: number): void;
}

/** The directory cache of the LDAP relay (attributes and group names of a user). */
export interface CacheObserver {
  directoryCache(hit: boolean): void;
}

/** What a verifier reports, when it has a DC or a cache to report on. */
export interface VerifierObserver extends DcObserver, CacheObserver {
  /**
   * The Netlogon verifier read its machine password file again, because a DC refused the machine
   * account: `changed` when the file holds a new password (it is used from now on).
   */
  machinePasswordReread?(event: { file: string; changed: boolean; error?: string }): void;
}

/** A verifier that reports; `observe` returns the function that stops it. */
export interface ObservableVerifier {
  observe(observer: VerifierObserver): () => void;
}

/** The end of a logon attempt (not of a Bearer request). */
export interface LogonOutcome {
  /** The scheme it came in: `NTLM`, `Negotiate`. */
  readonly mechanism: string;
  /** `success`, `forbidden` (authenticated, but not among allowUsers/allowGroups), or the error code. */
  readonly result: string;
  /** From the first leg to the verdict (ms); undefined when the attempt had no first leg here. */
  readonly durationMs: number | undefined;
}

/** The Authenticator's outcomes. */
export interface AuthenticatorObserver {
  logon(outcome: LogonOutcome): void;
  /** A Bearer token (header or cookie) was accepted (`hit`) or refused. */
  bearer(hit: boolean): void;
}

export function isObservable(verifier: object): verifier is ObservableVerifier {
  return typeof (verifier as Partial<ObservableVerifier>).observe === 'function';
}

/**
 * The observers of one part. A failing observer is a bug in metrics or logging, never a reason
 * for a logon to fail: its error is swallowed here.
 */
export class Observers<T> {
  readonly #set = new Set<T>();

  add(observer: T): () => void {
    this.#set.add(observer);
    return () => void this.#set.delete(observer);
  }

  get size(): number {
    return this.#set.size;
  }

  each(call: (observer: T) => void): void {
    for (const observer of this.#set) {
      try {
        call(observer);
      } catch {
        // See above: observing must not change the outcome.
      }
    }
  }
}
