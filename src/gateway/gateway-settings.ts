import { DEFAULTS } from '../defaults.js';
import { ConfigurationError } from '../errors.js';

const G = DEFAULTS.gateway;

import { adaptLogger, consoleLogger, levelledLogger } from '../logger.js';
import { TrustedProxies } from '../net/client-address.js';
import { OPTION_KEYS } from '../option-keys.js';
import type { GatewayMode, GatewayOptions, Logger, PinningLimits } from '../types.js';
import { booleanOption, knownKeysOnly, oneOf, positiveInteger } from '../validation.js';
import type { ShareLimits } from './connection-shares.js';

/** GatewayOptions checked once, with every default filled in. */
export interface GatewaySettings {
  readonly mode: GatewayMode;
  readonly upstream: URL;
  readonly logger: Logger;
  readonly healthPath: string | false;
  readonly readyPath: string | false;
  readonly metricsPath: string | false;
  readonly logoutPath: string | false;
  readonly jwksPath: string | false;
  /** One access line per request (access-log.ts), or none. */
  readonly accessLog: boolean;
  readonly shutdownTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly forward: { readonly groups: boolean; readonly token: boolean };
  readonly trusted: TrustedProxies;
  readonly maxClientConnections: number;
  /** What connections not logged in (yet) may hold, all together and per client. */
  readonly shares: ShareLimits;
  readonly headerTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Pass-through mode's limits; undefined in header mode. */
  readonly pinning: PinningLimits | undefined;
  /** How long an idle connection is kept, client side and upstream side alike (ms). */
  readonly idleTimeoutMs: number;
  /** Where health, readiness and metrics get a listener of their own; undefined: on the public one. */
  readonly operatorListen: { readonly host: string; readonly port: number } | undefined;
}

function operatorListen(value: GatewayOptions['operatorListen']): GatewaySettings['operatorListen'] {
  if (value === undefined) return undefined;
  const { host, port } = (value ?? {}) as { host?: unknown; port?: unknown };
  if (
    typeof host !== 'string' ||
    host === '' ||
    !Number.isInteger(port) ||
    (port as number) < 0 ||
    (port as number) > 65535
  )
    throw new ConfigurationError(
      `gateway: operatorListen must be { host, port } such as { host: '127.0.0.1', port: 9100 }, got ${JSON.stringify(value)}`,
      { option: 'gateway.operatorListen' },
    );
  return { host, port: port as number };
}

function upstreamUrl(value: string | URL): URL {
  if (value === undefined || value === '')
    throw new ConfigurationError(
      "gateway: upstream is required, the application's URL, e.g. 'http://127.0.0.1:9000'",
      {
        code: 'ERR_NTLM_CONFIG_MISSING',
        option: 'gateway.upstream',
      },
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`gateway: upstream ${JSON.stringify(String(value))} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigurationError(`gateway: upstream must be http:// or https://, got ${url.protocol}`);
  return url;
}

/** nginx-ntlm-module's defaults, except 1000 connections rather than 100; a client's share is a tenth. */
function pinningLimits(pinning: Partial<PinningLimits> = {}): PinningLimits {
  knownKeysOnly(pinning, OPTION_KEYS.pinning, 'gateway', 'pinning.');
  const limit = (name: keyof PinningLimits, fallback: number) =>
    positiveInteger(pinning[name], `pinning.${name}`, fallback, 'gateway');
  const maxConnections = limit('maxConnections', G.pinnedConnections);
  return {
    maxConnections,
    maxConnectionsPerClient: limit(
      'maxConnectionsPerClient',
      Math.min(maxConnections, Math.max(4, Math.ceil(maxConnections / 10))),
    ),
    idleTimeoutMs: limit('idleTimeoutMs', G.pinnedIdleTimeoutMs),
    maxAgeMs: limit('maxAgeMs', G.pinnedMaxAgeMs),
    maxRequests: limit('maxRequests', G.pinnedMaxRequests),
  };
}

/** As the pins: a client's share is a tenth of the whole, at least 4. */
function shareLimits(options: GatewayOptions, maxUnauthenticated: number): ShareLimits {
  const count = (name: keyof GatewayOptions, fallback: number) =>
    positiveInteger(options[name], name, fallback, 'gateway');
  return {
    maxUnauthenticated,
    maxUnauthenticatedPerClient: count(
      'maxUnauthenticatedConnectionsPerClient',
      Math.min(maxUnauthenticated, Math.max(4, Math.ceil(maxUnauthenticated / 10))),
    ),
    challengeTimeoutMs: count('challengeTimeoutMs', G.challengeTimeoutMs),
  };
}

export function resolveGatewayOptions(options: GatewayOptions): GatewaySettings {
  knownKeysOnly(options, OPTION_KEYS.gateway, 'gateway');
  const mode = oneOf(options.mode, 'mode', ['header', 'pass-through'] as const, G.mode, 'gateway');
  const count = (name: keyof GatewayOptions, fallback: number) =>
    positiveInteger(options[name], name, fallback, 'gateway');
  if (mode === 'header') {
    if (!options.auth) throw new ConfigurationError('gateway: header mode needs auth: { verifier, ... }');
    // Everything the gateway forwards must carry a verified identity.
    if (options.auth.otherSchemes === 'next')
      throw new ConfigurationError(
        'gateway: auth.otherSchemes "next" would let unauthenticated requests through',
      );
  } else if (options.auth) {
    throw new ConfigurationError(
      'gateway: auth is for header mode; in pass-through mode the upstream authenticates',
    );
  }
  const pinning = mode === 'pass-through' ? pinningLimits(options.pinning) : undefined;
  const maxClientConnections = count('maxClientConnections', G.maxClientConnections);
  return {
    mode,
    upstream: upstreamUrl(options.upstream),
    logger: options.logger
      ? adaptLogger(options.logger)
      : levelledLogger(consoleLogger, options.auth?.debug ?? 0),
    healthPath: options.healthPath === undefined ? G.healthPath : options.healthPath,
    readyPath: options.readyPath === undefined ? G.readyPath : options.readyPath,
    metricsPath: options.metricsPath === undefined ? G.metricsPath : options.metricsPath,
    logoutPath: options.logoutPath === undefined ? G.logoutPath : options.logoutPath,
    jwksPath: options.jwksPath === undefined ? G.jwksPath : options.jwksPath,
    accessLog: booleanOption(options.accessLog, 'accessLog', G.accessLog, 'gateway'),
    shutdownTimeoutMs: count('shutdownTimeoutMs', G.shutdownTimeoutMs),
    upstreamTimeoutMs: count('upstreamTimeoutMs', G.upstreamTimeoutMs),
    sendTimeoutMs: count('sendTimeoutMs', G.sendTimeoutMs),
    forward: {
      groups: booleanOption(options.forwardGroups, 'forwardGroups', false, 'gateway'),
      token: booleanOption(options.forwardToken, 'forwardToken', false, 'gateway'),
    },
    trusted: new TrustedProxies(options.trustedProxies, 'gateway'),
    maxClientConnections,
    shares: shareLimits(options, count('maxUnauthenticatedConnections', Math.ceil(maxClientConnections / 2))),
    headerTimeoutMs: count('headerTimeoutMs', G.headerTimeoutMs),
    maxHeaderBytes: count('maxHeaderBytes', G.maxHeaderBytes),
    pinning,
    operatorListen: operatorListen(options.operatorListen),
    idleTimeoutMs:
      pinning?.idleTimeoutMs ??
      options.auth?.connectionIdleTimeoutMs ??
      DEFAULTS.ntlm.connectionIdleTimeoutMs,
  };
}
