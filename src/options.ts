import { ConfigurationError } from './errors.js';
import { adaptLogger, consoleLogger, levelledLogger } from './logger.js';
import { type MetricsOptions, resolveMetricsOption } from './metrics/prometheus.js';
import { BearerTokens } from './session/bearer-tokens.js';
import { TrustedProxies } from './session/client-address.js';
import type { Store } from './session/store.js';
import type { Logger, NtlmOptions, UsernameFormat } from './types.js';
import { oneOf, positiveInteger } from './validation.js';

// Also the option checks' home for a while: verifiers written before validation.ts import them here.
export { oneOf, positiveInteger };

export interface ResolvedOptions {
  readonly verifier: NtlmOptions['verifier'];
  readonly usernameFormat: UsernameFormat;
  readonly otherSchemes: 'challenge' | 'next';
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerClient: number;
  readonly trustedProxies: TrustedProxies;
  readonly handshakeTimeoutMs: number;
  readonly extendedProtection: 'off' | 'allow' | 'require';
  readonly servicePrincipalNames: readonly string[];
  readonly logger: Logger;
  readonly maxConnections: number;
  readonly connectionIdleTimeoutMs: number;
  readonly maxConnectionAgeMs: number;
  readonly maxRequestsPerConnection: number;
  readonly allowUsers: readonly string[] | undefined;
  readonly allowGroups: readonly string[] | undefined;
  readonly debug: 0 | 1 | 2;
  /** Issues and checks Bearer tokens, when `bearer` is set. */
  readonly tokens: BearerTokens | undefined;
  readonly store: Store | undefined;
  /** Prometheus metrics, when `metrics` is on (prom-client is loaded only then). */
  readonly metrics: MetricsOptions | undefined;
}

function stringList(value: unknown, name: string, lowerCase = true): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new ConfigurationError(`ntlm(): ${name} must be an array of non-empty strings`);
  }
  return lowerCase ? value.map((item) => item.toLowerCase()) : value;
}

/** Validates options once, at start-up, and fills in the defaults documented in types.ts. */
export function resolveOptions(options: NtlmOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError('ntlm(): options object is required');
  const { verifier } = options;
  if (typeof verifier?.startHandshake !== 'function') {
    throw new ConfigurationError(
      'ntlm(): a verifier is required, e.g. ntlm({ verifier: localDirectory({ domain, users }) })',
    );
  }
  const debug = oneOf(String(options.debug ?? 0), 'debug', ['0', '1', '2'], '0');
  const level = Number(debug) as 0 | 1 | 2;
  const maxPendingHandshakes = positiveInteger(options.maxPendingHandshakes, 'maxPendingHandshakes', 1000);
  const maxPendingHandshakesPerClient = positiveInteger(
    options.maxPendingHandshakesPerClient,
    'maxPendingHandshakesPerClient',
    Math.max(1, Math.floor(maxPendingHandshakes / 10)),
  );
  return {
    verifier,
    usernameFormat: oneOf(options.usernameFormat, 'usernameFormat', ['user', 'domain\\user'], 'user'),
    otherSchemes: oneOf(options.otherSchemes, 'otherSchemes', ['challenge', 'next'], 'challenge'),
    maxPendingHandshakes,
    maxPendingHandshakesPerClient,
    trustedProxies: new TrustedProxies(stringList(options.trustedProxies, 'trustedProxies', false)),
    handshakeTimeoutMs: positiveInteger(options.handshakeTimeoutMs, 'handshakeTimeoutMs', 30_000),
    extendedProtection: oneOf(
      options.extendedProtection,
      'extendedProtection',
      ['off', 'allow', 'require'],
      'off',
    ),
    servicePrincipalNames: stringList(options.servicePrincipalNames, 'servicePrincipalNames', false) ?? [],
    logger: levelledLogger(adaptLogger(options.logger ?? consoleLogger), level),
    maxConnections: positiveInteger(options.maxConnections, 'maxConnections', 10_000),
    connectionIdleTimeoutMs: positiveInteger(
      options.connectionIdleTimeoutMs,
      'connectionIdleTimeoutMs',
      60_000,
    ),
    maxConnectionAgeMs: positiveInteger(options.maxConnectionAgeMs, 'maxConnectionAgeMs', 3_600_000),
    maxRequestsPerConnection: positiveInteger(
      options.maxRequestsPerConnection,
      'maxRequestsPerConnection',
      1000,
    ),
    allowUsers: stringList(options.allowUsers, 'allowUsers'),
    allowGroups: stringList(options.allowGroups, 'allowGroups'),
    debug: level,
    tokens: options.bearer ? new BearerTokens(options.bearer, options.store) : undefined,
    store: options.store,
    metrics: resolveMetricsOption(options.metrics),
  };
}
