import type { NtlmMetrics } from '../metrics/prometheus.js';
import type { ReadinessReport } from '../metrics/readiness.js';
import type { Logger } from '../types.js';
import { PLAIN_TEXT } from './responses.js';

/** An answer to an operator's poll (readiness, metrics), for any framework to write. */
export interface OperatorAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The checks as strangers may see them: a DC (a check named by its address, `ldap://...`,
 * `netlogon://...`) is `dc1`, `dc2`... in the configured order; `store` and `kerberos keytab`
 * keep their names. A DC's address tells whoever asks where to aim; the log names it.
 */
function publicChecks(checks: ReadinessReport['checks']): { name: string; ok: boolean }[] {
  let dcs = 0;
  return checks.map(({ name, ok }) => ({ name: name.includes(':') ? `dc${++dcs}` : name, ok }));
}

/**
 * Readiness as the gateway's `/.ntlm-sso/ready` answers it: 200 or 503, with each check's verdict
 * under a public name; which DC that is and why it failed are in the log only (the answer is
 * unauthenticated).
 */
export async function readinessAnswer(
  ready: () => Promise<ReadinessReport>,
  logger: Logger,
): Promise<OperatorAnswer> {
  let report: ReadinessReport;
  try {
    report = await ready();
  } catch (error) {
    logger.error('readiness check failed', { reason: (error as Error).message });
    report = { ready: false, checks: [] };
  }
  const checks = publicChecks(report.checks);
  if (!report.ready)
    logger.debug('not ready', {
      checks: report.checks.map(
        (check, i) =>
          `${checks[i]!.name} = ${check.name}: ${check.ok ? 'ok' : (check.detail ?? 'no answer')}`,
      ),
    });
  return {
    status: report.ready ? 200 : 503,
    contentType: JSON_TYPE,
    body: JSON.stringify({ status: report.ready ? 'ready' : 'unavailable', checks }),
  };
}

/** The Prometheus exposition text; 404 saying how to turn metrics on when they are off. */
export async function metricsAnswer(metrics: NtlmMetrics | undefined): Promise<OperatorAnswer> {
  if (!metrics)
    return {
      status: 404,
      contentType: PLAIN_TEXT,
      body: 'Metrics are off: set metrics: true in the options.\n',
    };
  try {
    return { status: 200, contentType: metrics.registry.contentType, body: await metrics.text() };
  } catch (error) {
    return { status: 500, contentType: PLAIN_TEXT, body: `metrics failed: ${(error as Error).message}\n` };
  }
}
