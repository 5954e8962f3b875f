import { ServiceUnavailableError } from '../errors.js';

/**
 * How long one Netlogon logon may keep its client waiting, all its steps together: a place in
 * line, a channel's set-up (each of its connections and calls bounded on its own), the call,
 * and the group names from LSA. Each step has a deadline, but they add up: a DC that answers
 * every step just in time, or set-ups queued one behind the other under the machine lock,
 * kept a logon 398 s in the fuzz (issue 18, finding 3). The same figure as a trial logon's
 * (DcSelector), 26 s by default: under what a browser or a proxy waits (nginx: 60 s).
 */
export function logonDeadlineMs(options: {
  queueTimeoutMs: number;
  connectTimeoutMs: number;
  callTimeoutMs: number;
}): number {
  return options.queueTimeoutMs + 3 * (options.connectTimeoutMs + options.callTimeoutMs);
}

/** One logon's deadline, started when the logon is: each step it waits for gets what is left. */
export class LogonDeadline {
  readonly #at: number;

  constructor(readonly ms: number) {
    this.#at = Date.now() + ms;
  }

  /**
   * `work`, or a 503 when the deadline passes first. Whatever `work` still does goes on, bounded
   * by its own deadlines, and its outcome is dropped. A late logon is load, not a DC that failed:
   * the DC's health is left to the steps that did fail.
   */
  async race<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ServiceUnavailableError(
              'ERR_NTLM_DC_UNAVAILABLE',
              `${what}: no answer within the logon's ${this.ms} ms`,
              { retryAfterSeconds: 1 },
            ),
          ),
        Math.max(0, this.#at - Date.now()),
      );
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
