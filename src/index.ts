export type { DirectoryCacheOptions } from './dc/directory-cache.js';
export type { ServiceAccountOptions } from './dc/service-account.js';
export {
  AuthenticationError,
  ConfigurationError,
  InvalidTokenError,
  isNtlmError,
  NtlmError,
  type NtlmErrorCode,
  ServiceUnavailableError,
} from './errors.js';
export { createGateway, type Gateway, type GatewayMode, type GatewayOptions } from './gateway/gateway.js';
export type { PinningLimits } from './gateway/pinned-upstreams.js';
export { type NextFunction, type NtlmMiddleware, ntlm } from './http/middleware.js';
// Kerberos from a keytab, and the SPNEGO wrapping of HTTP Negotiate (RFC 4559/4178).
export {
  type KerberosAcceptor,
  type KerberosAcceptorOptions,
  type KerberosAcceptResult,
  type KerberosIdentity,
  kerberosAcceptor,
} from './kerberos/acceptor.js';
export { consoleLogger } from './logger.js';
export * as spnego from './negotiate/spnego.js';
// The wire layer, for verifiers of your own and for tests.
export * as wire from './ntlm/index.js';
export type { BearerOptions, CookieOptions } from './session/bearer-tokens.js';
export type { BearerKey, TokenAlgorithm } from './session/signing-keys.js';
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js';
export { MemoryStore, type Store } from './store/store.js';
export type {
  HandshakeFinish,
  HandshakeStart,
  Logger,
  NtlmIdentity,
  NtlmOptions,
  NtlmRequestInfo,
  PendingHandshake,
  UsernameFormat,
  Verifier,
} from './types.js';
export {
  type DomainControllerOptions,
  DomainControllerVerifier,
  domainController,
} from './verifiers/domain-controller.js';
export {
  type LocalDirectoryOptions,
  LocalDirectoryVerifier,
  type LocalUser,
  localDirectory,
  localDirectoryFromFile,
} from './verifiers/local-directory.js';
// Netlogon (MS-NRPC): NTLM validated by the DC over a machine account's secure channel.
export { type NetlogonOptions, NetlogonVerifier, netlogon } from './verifiers/netlogon.js';
