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
 * A kept connection does not keep the process alive, and none is kept after close().
 */
export class IdleConnections {
  readonly #byUrl = new Map<string, Kept[]>();
  #closed = false;

  /** The most recently kept connection to `url` that is still open, if any. */
  take(url: string): LdapConnection | undefined {
    const idle = this.#byUrl.get(url);
    let found: LdapConnection | undefined;
    while (idle && idle.length > 0 && !found) {
      const kept = idle.pop()!;
      clearTimeout(kept.timer);
      if (kept.connection.idle) found = kept.connection;
      else kept.connection.close();
    }
    if (idle?.length === 0) this.#byUrl.delete(url);
    found?.keepProcessAlive(true);
    return found;
  }

  /** Keeps `connection` for the next logon to its DC, or closes it when it cannot be kept. */
  give(connection: LdapConnection): void {
    const idle = this.#byUrl.get(connection.url) ?? [];
    if (this.#closed || !connection.idle || idle.length >= MAX_IDLE_PER_DC) {
      connection.close();
      return;
    }
    const kept: Kept = {
      connection,
      timer: setTimeout(() => this.#expire(kept), IDLE_MS).unref(),
    };
    connection.keepProcessAlive(false);
    idle.push(kept);
    this.#byUrl.set(connection.url, idle);
  }

  /** Closes the connections kept for `url` (its DC was found down). */
  drop(url: string): void {
    for (const { connection, timer } of this.#byUrl.get(url) ?? []) {
      clearTimeout(timer);
      connection.close();
    }
    this.#byUrl.delete(url);
  }

  /** Closes every kept connection; any given back later is closed at once. */
  close(): void {
    this.#closed = true;
    for (const url of [...this.#byUrl.keys()]) this.drop(url);
  }

  #expire(kept: Kept): void {
    kept.connection.close();
    const idle = this.#byUrl.get(kept.connection.url);
    const at = idle?.indexOf(kept) ?? -1;
    if (at < 0) return;
    idle!.splice(at, 1);
    if (idle!.length === 0) this.#byUrl.delete(kept.connection.url);
  }
}

interface Kept {
  readonly connection: LdapConnection;
  readonly timer: NodeJS.Timeout;
}
