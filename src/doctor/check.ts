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
  /** Neither passed nor failed: the check could not be made with these settings (it says why). */
  readonly notChecked?: true;
}

export const pass = (check: string, detail: string): CheckResult => ({ ok: true, check, detail });

export const fail = (check: string, detail: string, fix: string): CheckResult => ({
  ok: false,
  check,
  detail,
  fix,
});

/** Counts as neither a pass nor a failure, and says why it was not made. */
export const notChecked = (check: string, detail: string): CheckResult => ({
  ok: true,
  check,
  detail,
  notChecked: true,
});

/** `✓ ldap://dc1 TCP connect: connected in 3 ms`, `✗ ... : cause: fix` or `– ...: not checked: why`. */
export function formatResult(target: string, result: CheckResult): string {
  const text = result.fix ? `${result.detail}: ${result.fix}` : result.detail;
  const mark = result.notChecked ? '–' : result.ok ? '✓' : '✗';
  return `${mark} ${target} ${result.check}: ${text}`;
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
