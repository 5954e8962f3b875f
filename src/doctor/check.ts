/**
 * What every doctor check returns: one line for an administrator, saying what was seen and,
 * when something is wrong, what to change. Checks never throw for a failure they can explain;
 * the runner turns an unexpected exception into a failed line too.
 */
export interface CheckResult {
  readonly ok: boolean;
  /** Short name of the check, e.g. `TCP connect`, `LDAP signing`. */
  readonly check: string;
  /** What was seen: `connected in 3 ms`, `this DC requires LDAP signing`. */
  readonly detail: string;
  /** For a failure: what to do about it. */
  readonly fix?: string;
}

export const pass = (check: string, detail: string): CheckResult => ({ ok: true, check, detail });

export const fail = (check: string, detail: string, fix: string): CheckResult => ({
  ok: false,
  check,
  detail,
  fix,
});

/** `✓ ldap://dc1 TCP connect: connected in 3 ms` or `✗ ... : cause: fix`. */
export function formatResult(target: string, result: CheckResult): string {
  const text = result.fix ? `${result.detail}: ${result.fix}` : result.detail;
  return `${result.ok ? '✓' : '✗'} ${target} ${result.check}: ${text}`;
}

/** An error's message and, for system errors, its code (ECONNREFUSED, CERT_HAS_EXPIRED...). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/** Milliseconds as an administrator reads them: `3 ms`, `2.5 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
}
