import type { IncomingMessage } from 'node:http';
import type { KerberosAcceptor } from '../kerberos/acceptor.js';
import type { KdcTransport } from '../kerberos/kdc-transport.js';
import type { TrustedProxies } from '../net/client-address.js';
import type {
  BearerOptions,
  KerberosOptions,
  Logger,
  MetricsOptions,
  NtlmOptions,
  RefusalHandler,
  Store,
  UsernameFormat,
} from '../types.js';
import type { BearerTokens } from './bearer-tokens.js';
import type { IdentityPolicy, IdentityPolicyOptions } from './identity-policy.js';

/** ntlm()'s options as the session uses them: checked (options.ts), with what they build (compose.ts). */
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
  /** Who may log on at all (anonymous, Guest, computer accounts, domains), checked after any mechanism. */
  readonly identityPolicy: IdentityPolicy;
  readonly debug: 0 | 1 | 2;
  /** Issues and checks Bearer tokens, when `bearer` is set. */
  readonly tokens: BearerTokens | undefined;
  readonly store: Store | undefined;
  /** The Kerberos acceptor, when `kerberos` is set. */
  readonly kerberos: KerberosAcceptor | undefined;
  /** The schemes a 401 offers, in order. */
  readonly schemes: readonly ('Negotiate' | 'NTLM')[];
  /** Basic over TLS, offered last, with its realm; undefined when off. With `kerberos`, its KDCs. */
  readonly basic: { readonly realm: string; readonly kdc?: KdcTransport | undefined } | undefined;
  readonly skip: ((req: IncomingMessage) => boolean) | undefined;
  readonly handlers: {
    readonly 401?: RefusalHandler;
    readonly 403?: RefusalHandler;
    readonly 503?: RefusalHandler;
  };
  readonly setUser: boolean;
  /** Prometheus metrics, when `metrics` is on (prom-client is loaded only then). */
  readonly metrics: MetricsOptions | undefined;
}

/**
 * What options.ts hands the composition root: every option checked, every default filled in,
 * nothing built yet.
 */
export interface CheckedOptions extends Omit<ResolvedOptions, 'identityPolicy' | 'tokens' | 'kerberos'> {
  /** The identity policy's rules; `ownDomains` holds the verifier's domains (the keytab's realms join them). */
  readonly identityRules: IdentityPolicyOptions;
  readonly bearer: BearerOptions | undefined;
  readonly kerberos: KerberosOptions | undefined;
}
