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

/** Codes of a peer that never answered: refused, unreachable, unknown, silent. */
const NO_ANSWER_CODES = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Whether an error says the peer never answered (refused or silent connection, unknown host, no
 * answer in time), as opposed to an answer we could not use (an LDAP result, an RPC fault, a
 * certificate, a Redis error reply). A line must never say "did not answer" of the second kind.
 */
export function neverAnswered(error: unknown): boolean {
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    const { code, name } = cause as NodeJS.ErrnoException;
    if (typeof code === 'string' && NO_ANSWER_CODES.has(code)) return true;
    if (
      name === 'TransportError' &&
      /^(cannot connect|no TCP connection|no answer within)/.test(cause.message)
    )
      return true;
    const reason = (cause as { reason?: unknown }).reason;
    if (reason === 'connect-timeout' || reason === 'operation-timeout') return true;
    if (/no answer within|ECONNREFUSED/.test(cause.message)) return true;
    cause = cause.cause ?? (cause instanceof AggregateError ? cause.errors[0] : undefined);
  }
  return false;
}
