// Servers started afresh for every round of a comparison. One server process can sit a few %
// off another of the same code for its whole life (bench/analysis.md, session 9: an empty layer
// got 1.06× bare Express in one run, 0.97× in another), and rounds measured against the same
// processes all carry that offset, which their median then keeps. With fresh processes in every
// round, a process's offset lands in one round only, where the median of the rounds outvotes it.
import type { ServerChild } from './children.js';

export class RoundServers<K extends string> {
  #servers = new Map<K, ServerChild>();
  #round = -1;

  constructor(
    private readonly variants: readonly K[],
    /** Starts a variant's server (bench/servers/app.ts in a process of its own). */
    private readonly start: (variant: K) => Promise<ServerChild>,
    /** Unmeasured load on a new server, until its JIT has settled. */
    private readonly warm: (variant: K, server: ServerChild) => Promise<void>,
  ) {}

  /** `variant`'s server in `round`: a new round stops every server and starts (and warms) new ones. */
  async of(variant: K, round: number): Promise<ServerChild> {
    if (round !== this.#round) {
      await this.stop();
      const started = await Promise.all(this.variants.map((v) => this.start(v)));
      for (const [i, v] of this.variants.entries()) this.#servers.set(v, started[i]!);
      for (const v of this.variants) await this.warm(v, this.#servers.get(v)!);
      this.#round = round;
    }
    return this.#servers.get(variant)!;
  }

  async stop(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(servers.map((server) => server.stop()));
  }
}
