import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import { ConfigurationError } from '../errors.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { MetricsOptions, MetricsRegistry } from '../types.js';
import { knownKeysOnly } from '../validation.js';
import type {
  AuthenticatorObserver,
  DcObserver,
  DcOperation,
  LogonOutcome,
  VerifierObserver,
} from './observer.js';

export type { MetricsOptions, MetricsRegistry };

/** What `auth.metrics` is: the registry, and a handler that serves it in Prometheus's text format. */
export interface NtlmMetrics {
  readonly registry: MetricsRegistry;
  /** The exposition text, as a scrape would read it. */
  text(): Promise<string>;
  /** A node:http / Express / Connect handler: `app.get('/metrics', auth.metrics.handler)`. */
  handler(req: IncomingMessage, res: ServerResponse): void;
}

/** `metrics: true | { ... }` checked once; undefined when off. */
export function resolveMetricsOption(value: unknown): MetricsOptions | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigurationError('ntlm(): metrics must be true or { registry?, prefix?, defaultMetrics? }');
  knownKeysOnly(value, OPTION_KEYS.metrics, 'ntlm()', 'metrics.');
  const { registry, prefix } = value as MetricsOptions;
  if (registry !== undefined && typeof registry.metrics !== 'function')
    throw new ConfigurationError('ntlm(): metrics.registry must be a prom-client Registry');
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)))
    throw new ConfigurationError(
      `ntlm(): metrics.prefix must be a Prometheus name prefix such as "ntlm_sso_", got ${JSON.stringify(prefix)}`,
    );
  return value as MetricsOptions;
}

/**
 * prom-client, loaded the first time metrics are asked for: an optional peer dependency, so
 * that `require('ntlm-sso')` neither needs nor loads it.
 */
export function loadPromClient(): typeof PromClient {
  const require = createRequire(import.meta.url);
  try {
    return require('prom-client') as typeof PromClient;
  } catch (error) {
    throw new ConfigurationError(
      'metrics need prom-client, an optional peer dependency: npm install prom-client',
      { cause: error },
    );
  }
}

/** Whether prom-client can be loaded here (the gateway serves metrics only then). */
export function promClientAvailable(): boolean {
  try {
    loadPromClient();
    return true;
  } catch {
    return false;
  }
}

/** Answers a scrape with `registry`'s text. */
export function serveMetrics(registry: MetricsRegistry, res: ServerResponse): void {
  registry.metrics().then(
    (text) => {
      res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
      res.end(text);
    },
    (error: Error) => {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`metrics failed: ${error.message}\n`);
    },
  );
}

// Logons take a client round trip and a DC's answer: milliseconds to seconds.
const HANDSHAKE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// A DC on the same network answers in a millisecond or so; a busy or distant one in hundreds.
const DC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The metrics of one ntlm() instance, fed by the Authenticator and the verifier as an observer
 * of both. Label values are bounded: mechanisms, error codes and configured DCs only.
 */
export class PrometheusMetrics implements AuthenticatorObserver, VerifierObserver, NtlmMetrics {
  readonly registry: MetricsRegistry;
  readonly #logons: PromClient.Counter<'mechanism' | 'result'>;
  readonly #handshakeSeconds: PromClient.Histogram<'mechanism' | 'result'>;
  readonly #dcSeconds: PromClient.Histogram<'dc' | 'operation'>;
  readonly #dcUp: PromClient.Gauge<'dc'>;
  readonly #kdcUp: PromClient.Gauge<'kdc'>;
  readonly #bearer: PromClient.Counter<'result'>;
  readonly #cache: PromClient.Counter<'result'>;

  constructor(options: MetricsOptions, counts: () => { authenticated: number; pending: number }) {
    const client = loadPromClient();
    const registry = (options.registry ?? new client.Registry()) as PromClient.Registry;
    this.registry = registry;
    const prefix = options.prefix ?? 'ntlm_sso_';
    const registers = [registry];
    try {
      this.#logons = new client.Counter({
        name: `${prefix}logons_total`,
        help: 'Logon attempts by mechanism and result: success, forbidden (not in allowUsers/allowGroups) or the error code',
        labelNames: ['mechanism', 'result'],
        registers,
      });
      this.#handshakeSeconds = new client.Histogram({
        name: `${prefix}handshake_duration_seconds`,
        help: 'From the first handshake leg to the verdict, client round trips included',
        labelNames: ['mechanism', 'result'],
        buckets: HANDSHAKE_BUCKETS,
        registers,
      });
      this.#dcSeconds = new client.Histogram({
        name: `${prefix}dc_request_duration_seconds`,
        help: 'How long a domain controller took to answer: negotiate and authenticate (LDAP relay binds), samlogon (Netlogon)',
        labelNames: ['dc', 'operation'],
        buckets: DC_BUCKETS,
        registers,
      });
      this.#dcUp = new client.Gauge({
        name: `${prefix}dc_up`,
        help: '1 while the domain controller is tried, 0 while the circuit breaker skips it after a failure',
        labelNames: ['dc'],
        registers,
      });
      this.#kdcUp = new client.Gauge({
        name: `${prefix}kdc_up`,
        help: "1 while the KDC (Basic's password checks with a keytab) is tried, 0 while the circuit breaker skips it after a failure",
        labelNames: ['kdc'],
        registers,
      });
      new client.Gauge({
        name: `${prefix}pending_handshakes`,
        help: 'Handshakes waiting for their next leg',
        registers,
        collect() {
          this.set(counts().pending);
        },
      });
      new client.Gauge({
        name: `${prefix}authenticated_connections`,
        help: 'Connections that carry an identity',
        registers,
        collect() {
          this.set(counts().authenticated);
        },
      });
      this.#bearer = new client.Counter({
        name: `${prefix}bearer_tokens_total`,
        help: 'Bearer tokens (header or cookie) accepted (hit) or refused (miss)',
        labelNames: ['result'],
        registers,
      });
      this.#cache = new client.Counter({
        name: `${prefix}directory_cache_lookups_total`,
        help: 'Directory cache lookups of the LDAP relay: hit or miss',
        labelNames: ['result'],
        registers,
      });
      if (options.defaultMetrics) client.collectDefaultMetrics({ register: registry });
    } catch (error) {
      throw new ConfigurationError(
        `metrics: ${(error as Error).message} (two ntlm() instances in one registry need different metrics.prefix values)`,
        { cause: error },
      );
    }
    this.handler = this.handler.bind(this);
  }

  logon(outcome: LogonOutcome): void {
    this.#logons.inc({ mechanism: outcome.mechanism, result: outcome.result });
    if (outcome.durationMs !== undefined) {
      const result = outcome.result === 'success' || outcome.result === 'forbidden' ? 'success' : 'failure';
      this.#handshakeSeconds.observe({ mechanism: outcome.mechanism, result }, outcome.durationMs / 1000);
    }
  }

  bearer(hit: boolean): void {
    this.#bearer.inc({ result: hit ? 'hit' : 'miss' });
  }

  directoryCache(hit: boolean): void {
    this.#cache.inc({ result: hit ? 'hit' : 'miss' });
  }

  dcKnown(dc: string): void {
    this.#dcUp.set({ dc }, 1);
  }

  dcDown(dc: string): void {
    this.#dcUp.set({ dc }, 0);
  }

  dcUp(dc: string): void {
    this.#dcUp.set({ dc }, 1);
  }

  /** The KDCs' breaker, reported as `kdc_up` (their exchanges are not timed: the log has their failures). */
  kdcObserver(): DcObserver {
    return {
      dcKnown: (kdc) => this.#kdcUp.set({ kdc }, 1),
      dcDown: (kdc) => this.#kdcUp.set({ kdc }, 0),
      dcUp: (kdc) => this.#kdcUp.set({ kdc }, 1),
      dcLatency: () => {},
    };
  }

  dcLatency(dc: string, operation: DcOperation, seconds: number): void {
    this.#dcSeconds.observe({ dc, operation }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  handler(_req: IncomingMessage, res: ServerResponse): void {
    serveMetrics(this.registry, res);
  }
}
