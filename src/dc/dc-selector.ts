/**
 * The domain controllers of each domain, in the order they are tried, with a circuit breaker:
 * a DC that failed to connect or answer is skipped for `downtimeMs`, so that users do not each
 * wait for its timeout (Apache::AuthenNTLM's "domain pdc bdc", with memory).
 */
export class DcSelector {
  readonly #downUntil = new Map<string, number>();

  constructor(
    private readonly domains: ReadonlyMap<string, readonly string[]>,
    private readonly downtimeMs: number,
  ) {}

  /** The DCs worth trying now, healthy ones first in configured order; none if all are down. */
  candidates(domain: string, now = Date.now()): string[] {
    return (this.domains.get(domain) ?? []).filter((url) => (this.#downUntil.get(url) ?? 0) <= now);
  }

  markDown(url: string, now = Date.now()): void {
    this.#downUntil.set(url, now + this.downtimeMs);
  }

  markUp(url: string): void {
    this.#downUntil.delete(url);
  }

  /** Seconds until the first DC of `domain` may be tried again. */
  retryAfterSeconds(domain: string, now = Date.now()): number {
    const times = (this.domains.get(domain) ?? []).map((url) => this.#downUntil.get(url) ?? now);
    return Math.max(1, Math.ceil((Math.min(...times) - now) / 1000));
  }
}
