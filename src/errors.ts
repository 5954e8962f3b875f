/**
 * Every error this package raises on purpose is an NtlmError with a stable `code`.
 * Match on `code` (or `instanceof` one of the classes below), never on the message text.
 *
 * The classes follow what the HTTP layer answers:
 * - InvalidTokenError        → 400: the bytes are not a well-formed NTLM, SPNEGO or Kerberos message.
 * - AuthenticationError      → 401 with a fresh challenge: a well-formed logon that is refused.
 * - ServiceUnavailableError  → 503: we could not decide (domain controller down, too busy).
 * - ConfigurationError       → thrown at start-up, never while serving.
 */

export type InvalidTokenCode =
  | 'ERR_NTLM_INVALID_TOKEN'
  | 'ERR_NTLM_TOKEN_TOO_LARGE'
  | 'ERR_NTLM_UNEXPECTED_MESSAGE'
  | 'ERR_NTLM_INVALID_HEADER'
  | 'ERR_KRB_INVALID_TOKEN'
  | 'ERR_SPNEGO_INVALID_TOKEN';

export type AuthenticationCode =
  | 'ERR_NTLM_LOGON_FAILED'
  | 'ERR_NTLM_UNKNOWN_DOMAIN'
  | 'ERR_NTLM_ANONYMOUS_REFUSED'
  | 'ERR_NTLM_GUEST_REFUSED'
  | 'ERR_NTLM_COMPUTER_ACCOUNT_REFUSED'
  | 'ERR_NTLM_V1_REFUSED'
  | 'ERR_NTLM_BAD_MIC'
  | 'ERR_NTLM_CHANNEL_BINDING_MISMATCH'
  | 'ERR_NTLM_TARGET_NAME_MISMATCH'
  | 'ERR_NTLM_CLOCK_SKEW'
  | 'ERR_NTLM_ACCOUNT_DISABLED'
  | 'ERR_NTLM_ACCOUNT_LOCKED'
  | 'ERR_NTLM_PASSWORD_EXPIRED'
  | 'ERR_NTLM_NO_PENDING_HANDSHAKE'
  | 'ERR_NTLM_HANDSHAKE_EXPIRED'
  | 'ERR_NTLM_INVALID_BEARER'
  | 'ERR_NTLM_UNSUPPORTED_MECHANISM'
  | 'ERR_NTLM_BASIC_NEEDS_TLS'
  | 'ERR_NTLM_TOO_MANY_FAILURES'
  | 'ERR_KRB_REPLAY'
  | 'ERR_KRB_WRONG_SERVICE'
  | 'ERR_KRB_NO_KEY'
  | 'ERR_KRB_MODIFIED'
  | 'ERR_KRB_TICKET_EXPIRED'
  | 'ERR_KRB_TICKET_NOT_YET_VALID'
  | 'ERR_KRB_BAD_PAC'
  | 'ERR_KRB_CLOCK_SKEW'
  | 'ERR_KRB_CLIENT_MISMATCH'
  | 'ERR_KRB_ENCTYPE_REFUSED'
  | 'ERR_KRB_KDC_NOT_VERIFIED'
  | 'ERR_KRB_KDC_REFUSED';

export type ServiceUnavailableCode =
  | 'ERR_NTLM_TOO_MANY_HANDSHAKES'
  | 'ERR_NTLM_DC_UNAVAILABLE'
  | 'ERR_NTLM_DC_REQUIRES_SIGNING'
  | 'ERR_NTLM_DC_ERROR'
  | 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED'
  | 'ERR_NTLM_DC_ANSWER_MISMATCH'
  | 'ERR_NTLM_DC_NOT_FOUND'
  | 'ERR_NTLM_LOOKUP_UNAVAILABLE'
  | 'ERR_NTLM_STORE_UNAVAILABLE'
  | 'ERR_KRB_REPLAY_CACHE_FULL'
  | 'ERR_KRB_REPLAY_SHARE_FULL'
  | 'ERR_KRB_KDC_UNAVAILABLE'
  | 'ERR_KRB_KDC_ERROR';

/**
 * One code per kind of mistake, so that tools and tests can tell them apart; every one starts
 * with ERR_NTLM_CONFIG. The message says which option and what to give instead.
 */
export type ConfigurationCode =
  | 'ERR_NTLM_CONFIG'
  | 'ERR_NTLM_CONFIG_NOT_POSITIVE_INTEGER'
  | 'ERR_NTLM_CONFIG_NOT_ONE_OF'
  | 'ERR_NTLM_CONFIG_NOT_A_LIST'
  | 'ERR_NTLM_CONFIG_NOT_A_FUNCTION'
  | 'ERR_NTLM_CONFIG_MISSING'
  | 'ERR_NTLM_CONFIG_UNKNOWN_OPTION'
  | 'ERR_NTLM_CONFIG_GROUPS_UNRESOLVABLE';

export type NtlmErrorCode =
  | InvalidTokenCode
  | AuthenticationCode
  | ServiceUnavailableCode
  | ConfigurationCode;

export class NtlmError extends Error {
  readonly code: NtlmErrorCode;
  /** The HTTP status the middleware answers with when this error ends a request. */
  readonly statusCode: number;

  constructor(code: NtlmErrorCode, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** The client sent bytes that are not a valid NTLM message (or not the one expected now). */
export class InvalidTokenError extends NtlmError {
  constructor(message: string, code: InvalidTokenCode = 'ERR_NTLM_INVALID_TOKEN') {
    super(code, 400, message);
  }
}

/**
 * A well-formed logon that is refused. The message is for logs only: the client gets a bare
 * 401 with a fresh challenge, so that it cannot probe which part was wrong.
 */
export class AuthenticationError extends NtlmError {
  /** The user name the client typed, for the log line; never an identity. */
  readonly claimedUser: string | undefined;

  constructor(
    code: AuthenticationCode,
    message: string,
    options?: { claimedUser?: string; cause?: unknown },
  ) {
    super(code, 401, message, { cause: options?.cause });
    this.claimedUser = options?.claimedUser;
  }
}

/** We could not reach a verdict: answer 503 and log why. */
export class ServiceUnavailableError extends NtlmError {
  /** Seconds the client may wait before trying again (sent as Retry-After). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ServiceUnavailableCode,
    message: string,
    options?: { retryAfterSeconds?: number; cause?: unknown },
  ) {
    super(code, 503, message, { cause: options?.cause });
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** Options that cannot work; raised when the middleware, a verifier, a store or the gateway is created. */
export class ConfigurationError extends NtlmError {
  /** The option at fault, e.g. `domainController().maxConcurrentOperations`, when one is. */
  readonly option: string | undefined;

  constructor(message: string, options?: { cause?: unknown; code?: ConfigurationCode; option?: string }) {
    super(options?.code ?? 'ERR_NTLM_CONFIG', 500, message, { cause: options?.cause });
    this.option = options?.option;
  }
}

export function isNtlmError(value: unknown): value is NtlmError {
  return value instanceof NtlmError;
}
