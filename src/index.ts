export { serveWorkerStore } from './cluster/primary-store.js';
export { WorkerStore } from './cluster/worker-store.js';
export {
  AuthenticationError,
  ConfigurationError,
  InvalidTokenError,
  isNtlmError,
  NtlmError,
  type NtlmErrorCode,
  ServiceUnavailableError,
} from './errors.js';
export { createGateway } from './gateway/gateway.js';
export { type NextFunction, type NtlmMiddleware, ntlm } from './http/middleware.js';
// Kerberos from a keytab, and the SPNEGO wrapping of HTTP Negotiate (RFC 4559/4178).
export {
  type KerberosAcceptor,
  type KerberosAcceptorOptions,
  type KerberosAcceptResult,
  type KerberosChannel,
  type KerberosIdentity,
  kerberosAcceptor,
} from './kerberos/acceptor.js';
export { consoleLogger } from './logger.js';
export type { PasswordLogon, PasswordVerifier } from './mechanisms/password-verifier.js';
export type { MetricsOptions, MetricsRegistry, NtlmMetrics } from './metrics/prometheus.js';
export type { DependencyCheck, ReadinessReport } from './metrics/readiness.js';
export * as spnego from './negotiate/spnego.js';
// The wire layer, for verifiers of your own and for tests.
export * as wire from './ntlm/public.js';
export { RedisStore } from './store/redis-store.js';
export { MemoryStore, type Store } from './store/store.js';
// Every public type, options first: the one place they are documented.
export type {
  BearerKey,
  BearerOptions,
  CookieOptions,
  DcDnsOptions,
  DirectoryCacheOptions,
  DomainControllerOptions,
  Gateway,
  GatewayMode,
  GatewayOptions,
  HandshakeFinish,
  HandshakeStart,
  JsonWebKeySet,
  KerberosOptions,
  LocalDirectoryOptions,
  LocalUser,
  Logger,
  MechanismName,
  NetlogonOptions,
  NtlmIdentity,
  NtlmOptions,
  NtlmRequestInfo,
  PendingHandshake,
  PinningLimits,
  PublicJwk,
  RedisClient,
  RedisStoreOptions,
  RefusalHandler,
  ServiceAccountOptions,
  TokenAlgorithm,
  UsernameFormat,
  Verifier,
  WorkerStoreOptions,
} from './types.js';
export { DomainControllerVerifier, domainController } from './verifiers/domain-controller.js';
export {
  LocalDirectoryVerifier,
  localDirectory,
  localDirectoryFromFile,
} from './verifiers/local-directory.js';
// Netlogon (MS-NRPC): NTLM validated by the DC over a machine account's secure channel.
export { NetlogonVerifier, netlogon } from './verifiers/netlogon.js';
