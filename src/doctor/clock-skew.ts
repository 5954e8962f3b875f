import { type CheckResult, fail, formatMs, pass } from './check.js';

const CHECK = 'clock';

/**
 * Largest gap we accept: Kerberos's default (RFC 4120 1.5.2, AD's "Maximum tolerance for
 * computer clock synchronization") and netlogon()'s default maxClockSkewMs for NTLMv2 timestamps.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** currentTime has whole seconds: a gap under that (plus rounding) is no gap. */
const RESOLUTION_MS = 1500;

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,](\d+))?Z$/;

/** An LDAP GeneralizedTime in UTC (RFC 4517 3.3.13), as the rootDSE's currentTime carries it. */
export function parseGeneralizedTime(text: string): number | undefined {
  const match = GENERALIZED_TIME.exec(text.trim());
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction = match[7] ? Number(`0.${match[7]}`) * 1000 : 0;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second) + fraction;
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * Our clock against the DC's currentTime, read between `sentAt` and `receivedAt` (so the
 * answer's own travel time is not counted as skew). The DC gives whole seconds, so a gap
 * under a second or two means nothing.
 */
export function checkClockSkew(
  currentTime: string | undefined,
  sentAt: number,
  receivedAt: number,
): CheckResult {
  const dcTime = currentTime === undefined ? undefined : parseGeneralizedTime(currentTime);
  if (dcTime === undefined) {
    return fail(
      CHECK,
      `the rootDSE has no readable currentTime (${JSON.stringify(currentTime)})`,
      'compare this host’s clock with the DC’s by hand (date -u; w32tm /stripchart)',
    );
  }
  const skew = dcTime - (sentAt + receivedAt) / 2;
  if (Math.abs(skew) < RESOLUTION_MS)
    return pass(CHECK, 'this host and the DC agree (to the second the DC reports)');
  const gap = `this host is ${formatMs(Math.abs(skew))} ${skew > 0 ? 'behind' : 'ahead of'} the DC`;
  if (Math.abs(skew) <= MAX_CLOCK_SKEW_MS) return pass(CHECK, `${gap} (within ±5 min)`);
  return fail(
    CHECK,
    `${gap}, more than the 5 minutes Kerberos and NTLMv2 timestamp checks allow`,
    'synchronise this host with the domain (NTP from the DCs: chrony or systemd-timesyncd; w32tm on Windows)',
  );
}
