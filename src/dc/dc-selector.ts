import { type DcObserver, type DcOperation, Observers } from '../metrics/observer.js';

export interface DcSelectorOptions {
  /** Longest back-off of a DC that keeps failing (ms): the old fixed downtime, now the cap. */
  readonly downtimeMs: number;
  /** Back-off after the first failure (ms); doubles at each failed trial. @default 1000 */
  readonly firstRetryMs?: number;
  /**
   * How long a granted trial may run without a verdict (ms) before another request may try the
   * DC: covers a trial whose request was abandoned, or answered by an earlier DC.
   */
  readonly trialTimeoutMs: number;
}

/** What the breaker knows about one DC that failed; a healthy DC has no entry. */
interface DownState {
  /** Current back-off (ms), doubled at each failed trial up to downtimeMs. */
  backoffMs: number;
  /** When the next trial may go (or, while a trial runs, when it is given up). */
  retryAt: number;
  /** When the running trial was granted. */
  trialStartedAt: number;
  /** A trial request is out: others keep skipping the DC until it reports or times out. */
  trial: boolean;
  /** When it went down, for the log line that says it is back. */
  downSince: number;
}

/** A failed trial that took less than this was refused at once: it cost its user no wait. */
const FAST_FAILURE_MS = 250;

/**
 * The domain controllers of each domain, in the order they are tried, with a circuit breaker
 * (Apache::AuthenNTLM's "domain pdc bdc", with memory): a DC that failed to connect or answer is
 * skipped, so that users do not each wait for its timeout. After a short back-off one request at
 * a time is let through as a trial; its success brings the DC back at once. A trial that failed
 * only after a wait (a timeout: the DC or its host is gone) doubles the back-off, up to
 * downtimeMs; one refused at once (the DC is restarting) cost nothing and keeps it short. So a
 * DC that restarts serves again within about a second of answering, and one that stays silent
 * costs one request per back-off, not every request.
 *
 * Observers hear of the transitions only (up → down, down → up), never of each failing request,
 * so that an outage is one log line, and the latency of each timed answer.
 */
export class DcSelector {
  readonly #down = new Map<string, DownState>();
  readonly #downtimeMs: number;
  readonly #firstRetryMs: number;
  readonly #trialTimeoutMs: number;
  readonly #observers = new Observers<DcObserver>();
  readonly #domains: Map<string, readonly string[]>;

  constructor(domains: ReadonlyMap<string, readonly string[]>, options: DcSelectorOptions) {
    this.#domains = new Map(domains);
    this.#downtimeMs = options.downtimeMs;
    this.#firstRetryMs = Math.min(options.firstRetryMs ?? 1000, options.downtimeMs);
    this.#trialTimeoutMs = options.trialTimeoutMs;
  }

  /** Reports to `observer` from now on; every configured DC is announced to it first. */
  observe(observer: DcObserver): () => void {
    for (const urls of this.#domains.values()) {
      for (const url of urls) {
        observer.dcKnown(url);
        const state = this.#down.get(url);
        if (state) observer.dcDown(url, 'down when observing began');
      }
    }
    return this.#observers.add(observer);
  }

  /** The DCs of `domain`, in the order they are tried. */
  dcs(domain: string): readonly string[] {
    return this.#domains.get(domain) ?? [];
  }

  /**
   * A new list of DCs for `domain` (found again in DNS): DCs that stay keep what the breaker
   * knows of them, new ones are announced to the observers, and those gone are forgotten.
   */
  setDcs(domain: string, dcs: readonly string[]): void {
    const before = this.#domains.get(domain) ?? [];
    if (before.length === dcs.length && before.every((dc, i) => dc === dcs[i])) return;
    this.#domains.set(domain, [...dcs]);
    const listed = new Set([...this.#domains.values()].flat());
    for (const dc of before) if (!listed.has(dc)) this.#down.delete(dc);
    for (const dc of dcs) if (!before.includes(dc)) this.#observers.each((observer) => observer.dcKnown(dc));
  }

  /** A DC answered `operation` in `seconds` (the caller timed it). */
  answered(url: string, operation: DcOperation, seconds: number): void {
    this.#observers.each((observer) => observer.dcLatency(url, operation, seconds));
  }

  /**
   * The DCs worth trying now, in configured order: healthy ones, and a DC whose back-off has
   * run out, which this call grants its one trial. None if all are down.
   */
  candidates(domain: string, now = Date.now()): string[] {
    return (this.#domains.get(domain) ?? []).filter((url) => {
      const state = this.#down.get(url);
      if (!state) return true;
      if (state.retryAt > now) return false;
      state.trial = true;
      state.trialStartedAt = now;
      state.retryAt = now + this.#trialTimeoutMs;
      return true;
    });
  }

  /**
   * The DC failed to connect or answer. The first failure starts the back-off; a failed trial
   * doubles it if it cost a wait; failures of requests that were already under way when the DC
   * went down change nothing. `reason` goes to the observers on the first failure only.
   */
  markDown(url: string, now = Date.now(), reason = 'no answer'): void {
    const state = this.#down.get(url);
    if (!state) {
      const retryAt = now + this.#firstRetryMs;
      this.#down.set(url, {
        backoffMs: this.#firstRetryMs,
        retryAt,
        trial: false,
        trialStartedAt: 0,
        downSince: now,
      });
      this.#observers.each((observer) => observer.dcDown(url, reason));
    } else if (state.trial) {
      const costly = now - state.trialStartedAt >= FAST_FAILURE_MS;
      state.backoffMs = costly ? Math.min(state.backoffMs * 2, this.#downtimeMs) : this.#firstRetryMs;
      state.retryAt = now + state.backoffMs;
      state.trial = false;
    }
  }

  /** The DC answered (whatever its verdict on the logon): it serves again. */
  markUp(url: string, now = Date.now()): void {
    const state = this.#down.get(url);
    if (!state) return;
    this.#down.delete(url);
    this.#observers.each((observer) => observer.dcUp(url, now - state.downSince));
  }

  /** Seconds until a DC of `domain` may be tried again. */
  retryAfterSeconds(domain: string, now = Date.now()): number {
    const times = (this.#domains.get(domain) ?? []).map((url) => this.#down.get(url)?.retryAt ?? now);
    if (times.length === 0) return 1;
    return Math.max(1, Math.ceil((Math.min(...times) - now) / 1000));
  }
}
