import type { LdapConnection } from './ldap-connection.js';

/** Idle connections kept per DC: about what one DC's line of logons uses at once. */
export const MAX_IDLE_PER_DC = 8;
/** How long one waits for its next logon (a DC drops idle LDAP connections after 15 minutes). */
export const IDLE_MS = 30_000;

/**
 * DC connections that finished a relayed logon, kept for the next one. A new TCP connection and
 * the DC's set-up of its LDAP session cost about a third of the DC's CPU per relayed logon, and
 * half of ours (bench/RESULTS.md, row 3). The next logon's NEGOTIATE bind starts a new
 * authentication on it, which drops the previous user's (RFC 4513 5.2.1.1: a bind resets the
 * connection to anonymous first), and nothing is read on it before that bind has succeeded.
 * Newest first; each closes after IDLE_MS unused, and at most MAX_IDLE_PER_DC are kept per DC.
 */
export class IdleConnections {
  readonly #byUrl = new Map<string, { connection: LdapConnection; timer: NodeJS.Timeout }[]>();

  /** The most recently kept connection to `url` that is still open, if any. */
  take(url: string): LdapConnection | undefined {
    const idle = this.#byUrl.get(url);
    for (let kept = idle?.pop(); kept; kept = idle?.pop()) {
      clearTimeout(kept.timer);
      if (kept.connection.idle) return kept.connection;
      kept.connection.close();
    }
    return undefined;
  }

  /** Keeps `connection` for the next logon to its DC, or closes it when it cannot be kept. */
  give(connection: LdapConnection): void {
    let idle = this.#byUrl.get(connection.url);
    if (!idle) {
      idle = [];
      this.#byUrl.set(connection.url, idle);
    }
    if (!connection.idle || idle.length >= MAX_IDLE_PER_DC) {
      connection.close();
      return;
    }
    const kept = {
      connection,
      timer: setTimeout(() => {
        idle.splice(idle.indexOf(kept), 1);
        connection.close();
      }, IDLE_MS).unref(),
    };
    idle.push(kept);
  }

  /** Closes the connections kept for `url` (its DC was found down), or for every DC. */
  drop(url?: string): void {
    for (const [at, idle] of this.#byUrl) {
      if (url !== undefined && at !== url) continue;
      for (const { connection, timer } of idle.splice(0)) {
        clearTimeout(timer);
        connection.close();
      }
    }
  }
}
