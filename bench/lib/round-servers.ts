// Servers started afresh for every round of a comparison. One server process can sit a few %
// off another of the same code for its whole life (bench/analysis.md, session 9: an empty layer
// got 1.06× bare Express in one run, 0.97× in another), and rounds measured against the same
// processes all carry that offset, which their median then keeps. With fresh processes in every
// round, a process's offset lands in one round only, where the median of the rounds outvotes it.
import type { ServerChild } from './children.js';

/**
 * A new server is warmed by two loads, each on new connections, the second half as long as the
 * first. The measured load opens connections of its own and (scenario 1) logs them on first; a
 * process that has seen handshakes and new connections only before the JIT optimized its request
 * path meets them again there, drops the optimized code of Node's, Express's and the
 * middleware's functions that then see other hidden classes, and compiles them again during the
 * measured round: ~5 µs more server CPU a request for ours in 2.5 s rounds, 0.2 µs more with the
 * second warm-up than with connections that logged on in the warm-up (one probe, bench/analysis.md,
 * session 11). A server that has run for a while has long since seen both; every variant is warmed
 * the same way.
 */
export function warmupPhases(warmupMs: number): readonly number[] {
  return [warmupMs, warmupMs / 2];
}

export class RoundServers<K extends string> {
  #servers = new Map<K, ServerChild>();
  #warmed = new Set<K>();
  #round = -1;

  constructor(
    private readonly variants: readonly K[],
    /** Starts a variant's server (bench/servers/app.ts in a process of its own). */
    private readonly start: (variant: K) => Promise<ServerChild>,
    /** Unmeasured load of `durationMs` on a server, on new connections. */
    private readonly warm: (variant: K, server: ServerChild, durationMs: number) => Promise<void>,
    /** How long the load of the first warm-up phase runs (see warmupPhases). */
    private readonly warmupMs: number,
  ) {}

  /**
   * `variant`'s server in `round`: a new round stops every server and starts new ones. Each is
   * warmed just before its first measurement, so that every variant waits as long between its
   * warm-up and its measurement, whatever the round's order.
   */
  async forRound(variant: K, round: number): Promise<ServerChild> {
    if (round !== this.#round) {
      await this.stop();
      const started = await Promise.allSettled(this.variants.map((v) => this.start(v)));
      for (const [i, v] of this.variants.entries()) {
        const outcome = started[i]!;
        if (outcome.status === 'fulfilled') this.#servers.set(v, outcome.value);
      }
      const failed = started.find((outcome) => outcome.status === 'rejected');
      if (failed) {
        await this.stop();
        throw failed.reason;
      }
      this.#round = round;
    }
    const server = this.#servers.get(variant)!;
    if (!this.#warmed.has(variant)) {
      this.#warmed.add(variant);
      for (const durationMs of warmupPhases(this.warmupMs)) await this.warm(variant, server, durationMs);
    }
    return server;
  }

  async stop(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    this.#warmed.clear();
    this.#round = -1;
    await Promise.all(servers.map((server) => server.stop()));
  }
}
