import { AuthenticationError } from '../errors.js';
import { shareKey } from '../net/client-address.js';
import { ownString } from '../own-copy.js';

/** How many password checks may fail per user name, and per client, within one window. */
export interface FailureLimitOptions {
  readonly maxFailuresPerUser: number;
  readonly maxFailuresPerClient: number;
  readonly windowMs: number;
  /** Keys remembered at most (users and clients each); the oldest window goes first. */
  readonly maxKeys: number;
}

/**
 * The defaults, and why they cannot lock an account out faster than NTLM would: every Basic
 * attempt that reaches the DC is one logon with one password, exactly as one NTLM AUTHENTICATE
 * is (one badPwdCount step at most; the DC's own rules, N-2 password history included, apply
 * alike). Beyond that, at most 5 failed attempts per user name per 15 minutes reach the DC
 * through Basic at all: a script replaying a stale password, or someone guessing, is answered
 * here without asking the DC, where NTLM would have gone on counting at the DC.
 */
export const BASIC_FAILURE_LIMITS: FailureLimitOptions = {
  maxFailuresPerUser: 5,
  maxFailuresPerClient: 20,
  windowMs: 15 * 60_000,
  maxKeys: 10_000,
};

interface Window {
  failures: number;
  /** Checks under way: counted with the failures, so that a burst cannot all pass the limit at once. */
  inFlight: number;
  readonly endsAt: number;
}

/** Counts failures per key within fixed windows, bounded in memory. */
class WindowCounter {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly limit: number,
    private readonly options: FailureLimitOptions,
    /** Users only: a client that knows one password must not clear its count with it. */
    private readonly resetOnSuccess: boolean,
  ) {}

  /** The key's window, or undefined when its failures and checks under way reach the limit. */
  enter(key: string, now: number): Window | undefined {
    let window = this.#windows.get(key);
    if (window && window.endsAt <= now) {
      this.#windows.delete(key);
      window = undefined;
    }
    if (!window) {
      this.#makeRoom(now);
      window = { failures: 0, inFlight: 0, endsAt: now + this.options.windowMs };
      // The key is kept until the window ends: its own copy, not a slice of the header or of the
      // decoded `user:password` it was cut from.
      this.#windows.set(ownString(key), window);
    }
    if (window.failures + window.inFlight >= this.limit) return undefined;
    window.inFlight++;
    return window;
  }

  /** Gives back a place taken by `enter` for a check that did not run: no failure, no success. */
  withdraw(window: Window): void {
    window.inFlight--;
  }

  leave(key: string, window: Window, failed: boolean): void {
    window.inFlight--;
    if (failed) window.failures++;
    // A right password clears the user's count, as the DC resets badPwdCount.
    else if (this.resetOnSuccess && this.#windows.get(key) === window) window.failures = 0;
  }

  /**
   * Room for a new key when the bound is reached: the windows that ended or hold nothing (no
   * failure, no check under way) are forgotten until half the bound is left; if more than nine
   * tenths are still held, the oldest others go down to nine tenths. A flood of new names must not
   * push out the windows that hold failures: that would give a user's guesses a fresh count.
   */
  #makeRoom(now: number): void {
    const target = this.options.maxKeys / 2;
    if (this.#windows.size < this.options.maxKeys) return;
    for (const [key, window] of this.#windows) {
      if (window.endsAt <= now || (window.failures === 0 && window.inFlight === 0)) this.#windows.delete(key);
      if (this.#windows.size < target) return;
    }
    // Every window left holds failures or a check: the bound on memory still wins, the oldest
    // tenth goes (a check under way keeps its window object; only its key is forgotten).
    const kept = this.options.maxKeys * 0.9;
    for (const key of this.#windows.keys()) {
      if (this.#windows.size < kept) return;
      this.#windows.delete(key);
    }
  }
}

/**
 * The per-user and per-client limits on failed password checks (Basic). A client is counted by
 * its shareKey (IPv6 by its /64), a user by the name typed, folded: `EXAMPLE\alice`,
 * `alice@example.test` and `ALICE` are one user. In this process only: with several instances,
 * each allows its own share (see SECURITY.md).
 */
export class FailureLimits {
  readonly #users: WindowCounter;
  readonly #clients: WindowCounter;

  constructor(options: FailureLimitOptions = BASIC_FAILURE_LIMITS) {
    this.#users = new WindowCounter(options.maxFailuresPerUser, options, true);
    this.#clients = new WindowCounter(options.maxFailuresPerClient, options, false);
  }

  /**
   * Runs `check` unless the user or the client is over its limit (then 401
   * ERR_NTLM_TOO_MANY_FAILURES without running it). An AuthenticationError from `check` counts as
   * a failure; a 503 (the DC did not answer) does not.
   */
  async run<T>(username: string, client: string, check: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const userKey = foldUser(username);
    const clientKey = shareKey(client);
    // The client first: a client over its limit makes no user window at all (a flood of new
    // names from it would otherwise crowd the users' windows).
    const from = this.#clients.enter(clientKey, now);
    const user = from && this.#users.enter(userKey, now);
    if (!from || !user) {
      // The password was not checked: neither count changes (leaving the user's as a success
      // would clear it, and a client over its own limit could then reset another user's).
      if (from) this.#clients.withdraw(from);
      throw new AuthenticationError(
        'ERR_NTLM_TOO_MANY_FAILURES',
        from
          ? `${username} failed too many password checks lately; not asking the DC`
          : `${clientKey} failed too many password checks lately; not asking the DC`,
        { claimedUser: username },
      );
    }
    let failed = false;
    try {
      return await check();
    } catch (error) {
      failed = error instanceof AuthenticationError;
      throw error;
    } finally {
      this.#users.leave(userKey, user, failed);
      this.#clients.leave(clientKey, from, failed);
    }
  }
}

/** `alice` of `EXAMPLE\alice` or `alice@example.test`, lower-cased. */
function foldUser(username: string): string {
  const name = username.slice(username.lastIndexOf('\\') + 1);
  const at = name.lastIndexOf('@');
  return (at > 0 ? name.slice(0, at) : name).toLowerCase();
}
