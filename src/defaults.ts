/**
 * Every default of every public option, in one place: the code reads them here, `--help` prints
 * them from here, and a test checks the README's option tables against them.
 */
export const DEFAULTS = {
  ntlm: {
    usernameFormat: 'user',
    otherSchemes: 'challenge',
    maxPendingHandshakes: 1000,
    /** Of maxPendingHandshakes, what one client address may hold. */
    pendingHandshakesPerClientShare: 0.1,
    handshakeTimeoutMs: 30_000,
    maxConnections: 10_000,
    connectionIdleTimeoutMs: 60_000,
    maxConnectionAgeMs: 3_600_000,
    maxRequestsPerConnection: Number.POSITIVE_INFINITY,
    extendedProtection: 'off',
    debug: 0,
    allowComputerAccounts: false,
    basic: false,
  },
  bearer: {
    expiresInSeconds: 3600,
    issuer: 'ntlm-sso',
    audience: 'ntlm-sso',
    maxRevocations: 100_000,
    verifiedCacheSize: 10_000,
    cookieName: 'ntlm_sso_token',
    cookieSameSite: 'Strict',
    jwksPath: false,
  },
  domainController: {
    connectTimeoutMs: 2000,
    operationTimeoutMs: 3000,
    downtimeMs: 30_000,
    maxConcurrentOperations: 16,
    cacheTtlSeconds: 300,
    lookupPoolSize: 2,
  },
  netlogon: {
    connectTimeoutMs: 2000,
    callTimeoutMs: 5000,
    maxChannelsPerDc: 4,
    queueTimeoutMs: 5000,
    downtimeMs: 30_000,
    maxClockSkewMs: 300_000,
    cacheTtlSeconds: 300,
  },
  kerberos: {
    maxClockSkewMs: 300_000,
    /** About 45 MB when full (~90 bytes an entry, with its place in the per-principal count); see SECURITY.md. */
    maxReplayEntries: 500_000,
    /** A tenth of the cache: one flooding principal leaves nine tenths to everyone else. */
    maxReplayEntriesPerClient: 50_000,
    kdc: 'auto',
    kdcTimeoutMs: 3000,
  },
  localDirectory: {
    maxClockSkewMs: 300_000,
  },
  /** DCs found in DNS ('auto'), for domainController() and netlogon() alike. */
  dcDns: {
    timeoutMs: 2000,
    refreshMs: 600_000,
  },
  redisStore: {
    timeoutMs: 1000,
    unavailablePauseMs: 2000,
    prefix: 'ntlm-sso:',
  },
  workerStore: {
    timeoutMs: 1000,
  },
  gateway: {
    listen: '127.0.0.1:8080',
    mode: 'header',
    healthPath: '/.ntlm-sso/health',
    readyPath: '/.ntlm-sso/ready',
    metricsPath: '/.ntlm-sso/metrics',
    logoutPath: '/.ntlm-sso/logout',
    jwksPath: '/.well-known/jwks.json',
    accessLog: true,
    shutdownTimeoutMs: 10_000,
    upstreamTimeoutMs: 60_000,
    /**
     * A client that takes none of an answer for this long has its connection closed (nginx's
     * send_timeout, 60 s), so that one that stops reading cannot hold an upstream request.
     */
    sendTimeoutMs: 60_000,
    maxClientConnections: 10_000,
    headerTimeoutMs: 10_000,
    /**
     * A request's headers, all of them. Node's own limit is 16 KiB, and a Kerberos token grows with
     * the user's groups (Windows allows 48,000 bytes, 64,000 in base64): it would answer 431 to a
     * token over ~12 KB. 96 KiB holds the largest Negotiate token the package reads (64 KiB,
     * 87,384 in base64) with room for the other headers.
     */
    maxHeaderBytes: 98_304,
    /** A browser answers a 401 in milliseconds; 10 s leaves room for TCP retransmissions (1+2+4 s). */
    challengeTimeoutMs: 10_000,
    /** Pass-through pins: nginx-ntlm-module's limits, except 1000 connections rather than 100. */
    pinnedConnections: 1000,
    pinnedIdleTimeoutMs: 60_000,
    pinnedMaxAgeMs: 3_600_000,
    pinnedMaxRequests: 1000,
  },
} as const;
