import type { Logger } from '../types.js';
import {
  type AuthenticatorObserver,
  type DcObserver,
  isObservable,
  type VerifierObserver,
} from './observer.js';
import { type MetricsOptions, type NtlmMetrics, PrometheusMetrics } from './prometheus.js';
import { Readiness, type ReadinessReport, type SelfChecked } from './readiness.js';

/**
 * Server transitions as operators want them: one line when a server that served fails (also when
 * the next one answered and no user noticed), one when it answers again; never one per request.
 * `field` names the server in the line: `dc` for the DCs, `kdc` for the KDCs (`host:port`).
 */
function transitionLines(
  logger: Logger,
  field: 'dc' | 'kdc',
  lines: { down: string; up: string },
): DcObserver {
  return {
    dcKnown: () => {},
    dcDown: (server, reason) => logger.warn(lines.down, { [field]: server, reason }),
    dcUp: (server, downForMs) =>
      logger.info(lines.up, { [field]: server, downForSeconds: Math.round(downForMs / 1000) }),
    dcLatency: () => {},
  };
}

/** The DCs' transitions, and the verifier's rereads of the machine password file. */
function transitionLog(logger: Logger): VerifierObserver {
  return {
    ...transitionLines(logger, 'dc', {
      down: 'domain controller down: skipped until it answers again; the next one, if any, is tried',
      up: 'domain controller answers again',
    }),
    directoryCache: () => {},
    machinePasswordReread: ({ file, changed, error }) =>
      changed
        ? logger.info(
            'a DC refused the machine account: read the machine password file again; it changed, using it',
            { file },
          )
        : logger.warn(
            'a DC refused the machine account: read the machine password file again; no new password in it',
            {
              file,
              ...(error ? { error } : {}),
            },
          ),
  };
}

/** The same for the KDCs that check Basic's passwords. */
function kdcTransitionLog(logger: Logger): DcObserver {
  return transitionLines(logger, 'kdc', {
    down: 'KDC down: skipped until its back-off runs out; the next KDC, if any, is tried first',
    up: 'KDC answers again',
  });
}

/**
 * One line per readiness change: info when ready again; error, with what to change, when a
 * setting stops every logon (a DC that requires LDAP signing, a refused computer account, an
 * unusable keytab); warn for an outage (nothing answers).
 */
function readinessLog(logger: Logger, report: ReadinessReport): void {
  const failing = report.checks.filter((check) => !check.ok);
  const described = failing.map((check) => `${check.name}: ${check.detail ?? 'no answer'}`);
  if (report.ready) logger.info('ready: the domain controllers (and store) answer', {});
  else if (failing.some((check) => check.fix))
    logger.error('not ready: logons cannot succeed with these settings', {
      failing: described,
      fix: [...new Set(failing.flatMap((check) => (check.fix ? [check.fix] : [])))],
    });
  else logger.warn('not ready: no domain controller (or the store) answers', { failing: described });
}

export interface OperationsSettings {
  readonly logger: Logger;
  /** The verifier: observed when it reports, probed when it can be. */
  readonly verifier: object;
  /** The shared store, pinged for readiness when it can be (RedisStore). */
  readonly store: object | undefined;
  /** The Kerberos acceptor, whose keytab readiness checks. */
  readonly kerberos?: Partial<SelfChecked> | undefined;
  readonly metrics: MetricsOptions | undefined;
  /** Basic with a keytab: the KDCs it checks passwords with, whose transitions are logged. */
  readonly basic?: { readonly kdc?: { observe(observer: DcObserver): () => void } | undefined } | undefined;
}

/** Where the Authenticator's observers come from. */
export interface ObservedAuthenticator {
  observe(observer: AuthenticatorObserver): () => void;
  readonly counts: { authenticated: number; pending: number };
}

/**
 * What one ntlm() instance offers operators, wired once: the transition log, Prometheus metrics
 * when asked for, readiness. Each hears of outcomes from the Authenticator and the verifier
 * (the parts that decide), never by reading requests itself.
 */
export class Operations {
  readonly metrics: NtlmMetrics | undefined;
  readonly #readiness: Readiness;
  readonly #stops: (() => void)[] = [];

  constructor(settings: OperationsSettings, authenticator: ObservedAuthenticator) {
    const { logger, verifier } = settings;
    const observable = isObservable(verifier) ? verifier : undefined;
    if (observable) this.#stops.push(observable.observe(transitionLog(logger)));
    const kdc = settings.basic?.kdc;
    if (kdc) this.#stops.push(kdc.observe(kdcTransitionLog(logger)));
    if (settings.metrics) {
      const metrics = new PrometheusMetrics(settings.metrics, () => authenticator.counts);
      this.#stops.push(authenticator.observe(metrics));
      if (observable) this.#stops.push(observable.observe(metrics));
      if (kdc) this.#stops.push(kdc.observe(metrics.kdcObserver()));
      this.metrics = metrics;
    }
    const { store, kerberos } = settings;
    this.#readiness = new Readiness({ verifier, store, kerberos }, (report) => readinessLog(logger, report));
    this.#readiness.start();
  }

  /** Whether logons can be decided now; see Readiness. */
  ready(): Promise<ReadinessReport> {
    return this.#readiness.check();
  }

  close(): void {
    this.#readiness.stop();
    for (const stop of this.#stops.splice(0)) stop();
  }
}
