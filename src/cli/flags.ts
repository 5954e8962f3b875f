import { DEFAULTS } from '../defaults.js';

const G = DEFAULTS.gateway;

export const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A time as `--help` shows it: the largest unit that divides it (`1h`, `60s`, `500ms`). */
function duration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const)
    if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

export type Kind = 'string' | 'boolean' | 'list' | 'integer' | 'duration';

/** `ntlm-sso gateway ...`, `ntlm-sso doctor ...`, and `ntlm-sso` alone (-h, -v). */
export type Command = 'ntlm-sso' | 'gateway' | 'doctor';
/** Most flags are the gateway's, and the doctor takes them all, so that it runs with the gateway's command line. */
const BOTH: readonly Command[] = ['gateway', 'doctor'];

export interface FlagSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly placeholder?: string;
  readonly help: string;
  /** The commands that take it (default: both). */
  readonly commands?: readonly Command[];
  /** A one-letter alias: `-h` for --help. */
  readonly short?: string;
  /** The only values it takes; --help shows them. */
  readonly choices?: readonly string[];
  /** false: no NTLM_SSO_* variable sets it (--help, --version). */
  readonly environment?: false;
  /** A secret: only its NTLM_SSO_* variable sets it, never a command-line argument (visible in `ps`) or the config file. */
  readonly environmentOnly?: true;
  readonly group:
    | 'Gateway'
    | 'Header mode: who users are'
    | 'Header mode: tokens and headers'
    | 'Limits'
    | 'Other'
    | 'Doctor';
}

/** Every flag of every command, once: parsing, the NTLM_SSO_* variables, the config file keys and --help come from here. */
export const FLAGS: readonly FlagSpec[] = [
  {
    group: 'Gateway',
    name: 'listen',
    kind: 'string',
    placeholder: 'HOST:PORT',
    help: `where to listen (default ${G.listen}; [::1]:8080 for IPv6)`,
  },
  {
    group: 'Gateway',
    name: 'upstream',
    kind: 'string',
    placeholder: 'URL',
    help: 'the application behind the gateway, e.g. http://127.0.0.1:9000 (required)',
  },
  {
    group: 'Gateway',
    name: 'mode',
    choices: ['header', 'pass-through'],
    kind: 'string',
    placeholder: 'MODE',
    help: '"header" (default): authenticate here, send X-Ntlm-Username/-Domain upstream; "pass-through": the upstream speaks NTLM itself (IIS), each client connection keeps its own upstream connection',
  },
  {
    group: 'Gateway',
    name: 'config',
    kind: 'string',
    placeholder: 'FILE',
    help: 'JSON file whose keys are these flag names, e.g. {"upstream": "http://127.0.0.1:9000", "dc": ["ldap://dc1"]}',
  },
  {
    group: 'Gateway',
    name: 'workers',
    kind: 'integer',
    placeholder: 'N',
    help: 'run N processes (node:cluster) on one port; each connection stays in one worker. Revocations and the Kerberos replay cache are shared through --redis, else through the primary (default 1)',
  },
  {
    group: 'Gateway',
    name: 'tls-cert',
    kind: 'string',
    placeholder: 'FILE',
    help: 'listen with TLS: PEM certificate (chain)',
  },
  {
    group: 'Gateway',
    name: 'tls-key',
    kind: 'string',
    placeholder: 'FILE',
    help: 'listen with TLS: PEM private key',
  },
  {
    group: 'Gateway',
    name: 'trusted-proxy',
    kind: 'list',
    placeholder: 'ADDRS',
    help: 'proxies in front of the gateway (addresses or networks, comma-separated: 10.0.0.5,10.1.0.0/16) whose X-Forwarded-*/Forwarded headers and client address are believed; from anyone else those headers are replaced (default: nobody)',
  },
  {
    group: 'Header mode: who users are',
    name: 'users',
    kind: 'string',
    placeholder: 'FILE',
    help: 'local user directory (JSON, like demo-app/users.json)',
  },
  {
    group: 'Header mode: who users are',
    name: 'dc',
    kind: 'list',
    placeholder: 'URLS',
    help: 'domain controllers, comma-separated, tried in order: ldap://dc1,ldap://dc2; or "auto": found in DNS (_ldap._tcp.dc._msdcs.<--dns-domain>), as Windows finds them',
  },
  {
    group: 'Header mode: who users are',
    name: 'domain',
    kind: 'string',
    placeholder: 'NAME',
    help: 'NetBIOS name of the domain the --dc or --netlogon controllers serve, e.g. EXAMPLE',
  },
  {
    group: 'Header mode: who users are',
    name: 'dns-domain',
    kind: 'string',
    placeholder: 'NAME',
    help: 'DNS name of that domain, e.g. example.test: where --dc auto and --netlogon auto look for the DCs (required with auto); with --netlogon also the name our CHALLENGE sends (default <domain>.local)',
  },
  {
    group: 'Header mode: who users are',
    name: 'dns-server',
    kind: 'list',
    placeholder: 'ADDRS',
    help: "for --dc auto and --netlogon auto: the DNS servers to ask (AD's DNS), comma-separated: 10.0.0.53,10.0.0.54 (default: the system's)",
  },
  {
    group: 'Header mode: who users are',
    name: 'dc-servername',
    kind: 'string',
    placeholder: 'NAME',
    help: 'for ldaps:// controllers and --lookup-url reached by address: the host name their certificate names, e.g. dc1.example.test',
  },
  {
    group: 'Header mode: who users are',
    name: 'dc-ca',
    kind: 'string',
    placeholder: 'FILE',
    help: 'CA certificate (PEM) for ldaps:// controllers and --lookup-url',
  },
  {
    group: 'Header mode: who users are',
    name: 'keytab',
    kind: 'string',
    placeholder: 'FILE',
    help: 'accept Kerberos (Negotiate) with the keys of this keytab (ktpass or samba-tool domain exportkeytab); 401s then offer Negotiate before NTLM',
  },
  {
    group: 'Header mode: who users are',
    name: 'spn',
    kind: 'string',
    placeholder: 'PRINCIPAL',
    help: 'with --keytab: accept only tickets for this service principal, e.g. HTTP/web.example.com (default: any principal in the keytab)',
  },
  {
    group: 'Header mode: who users are',
    name: 'kdc',
    kind: 'list',
    placeholder: 'HOSTS',
    help: 'with --keytab and --basic: the KDCs that check Basic passwords, HOST[:PORT] comma-separated, or "auto" (_kerberos._tcp of the keytab realm in DNS); default: the --netlogon or --dc hosts, else auto',
  },
  {
    group: 'Header mode: who users are',
    name: 'extended-protection',
    choices: ['off', 'allow', 'require'],
    kind: 'string',
    placeholder: 'MODE',
    help: 'IIS Extended Protection, with --tls-cert: "allow" refuses an NTLM logon bound to another TLS channel or service, "require" also one bound to none (default off)',
  },
  {
    group: 'Header mode: who users are',
    name: 'service-principal-names',
    kind: 'list',
    placeholder: 'SPNS',
    help: 'with --extended-protection: our names for its target-name check, comma-separated, e.g. HTTP/web.example.com (one without a port accepts its host on any port)',
  },
  {
    group: 'Header mode: who users are',
    name: 'lookup-url',
    kind: 'list',
    placeholder: 'URLS',
    help: 'ldaps:// URL of a read-only service account, for clients that negotiate LDAP signing',
  },
  {
    group: 'Header mode: who users are',
    name: 'lookup-user',
    kind: 'string',
    placeholder: 'DN',
    help: 'bind DN or UPN of that account',
  },
  {
    group: 'Header mode: who users are',
    name: 'lookup-password',
    kind: 'string',
    placeholder: 'SECRET',
    help: 'its password (prefer NTLM_SSO_LOOKUP_PASSWORD)',
  },
  {
    group: 'Header mode: who users are',
    name: 'netlogon',
    kind: 'list',
    placeholder: 'HOSTS',
    help: 'instead of --dc: validate logons over the Netlogon secure channel of a computer account, as IIS does (works when the DC requires LDAP signing); DCs as HOST[:PORT], comma-separated, tried in order, or "auto" (found in DNS, see --dns-domain); with --domain, --machine-account and --machine-password-file',
  },
  {
    group: 'Header mode: who users are',
    name: 'machine-account',
    kind: 'string',
    placeholder: 'NAME',
    help: 'the computer account of --netlogon, e.g. WEB01$',
  },
  {
    group: 'Header mode: who users are',
    name: 'machine-password-file',
    kind: 'string',
    placeholder: 'FILE',
    help: 'a file holding its password (or set NTLM_SSO_MACHINE_PASSWORD; never a command-line argument)',
  },
  {
    group: 'Header mode: who users are',
    name: 'machine-password',
    kind: 'string',
    environmentOnly: true,
    help: 'the password of --machine-account, from the environment only',
  },
  {
    group: 'Header mode: who users are',
    name: 'allow-users',
    kind: 'list',
    placeholder: 'NAMES',
    help: 'only these users (comma-separated; alice means alice of --domain, OTHER\\alice one of a trusted domain); others get 403',
  },
  {
    group: 'Header mode: who users are',
    name: 'trusted-domains',
    kind: 'list',
    placeholder: 'NAMES',
    help: 'other domains whose users may log on (NetBIOS and, for Kerberos, DNS names, comma-separated); by default only --domain and the keytab realm, others get 401',
  },
  {
    group: 'Header mode: who users are',
    name: 'basic',
    kind: 'boolean',
    help: 'also offer HTTP Basic, last, checked against the domain (needs --tls-cert: Basic is offered and taken over TLS only)',
  },
  {
    group: 'Header mode: who users are',
    name: 'allow-computer-accounts',
    kind: 'boolean',
    help: 'let accounts whose name ends in $ (computers) log on; by default they get 401',
  },
  {
    group: 'Header mode: who users are',
    name: 'allow-groups',
    kind: 'list',
    placeholder: 'NAMES',
    help: 'only members of these groups (comma-separated); others get 403',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'jwt-secret',
    kind: 'string',
    placeholder: 'SECRET',
    help: 'HS256 key (32+ bytes) for Bearer tokens; give every instance the same one (prefer NTLM_SSO_JWT_SECRET; default: random per start)',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'jwt-secret-file',
    kind: 'string',
    placeholder: 'FILE',
    help: 'read that key from a file instead',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'token-ttl',
    kind: 'duration',
    placeholder: 'TIME',
    help: `Bearer token lifetime (default ${duration(DEFAULTS.bearer.expiresInSeconds * 1000)})`,
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'token-cookie',
    kind: 'boolean',
    help: 'also hand the token out as an HttpOnly cookie (Secure when --tls-cert is set)',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'redis',
    kind: 'string',
    placeholder: 'URL',
    help: 'share revoked tokens between instances: redis://127.0.0.1:6379',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'username-format',
    choices: ['user', 'domain\\user'],
    kind: 'string',
    placeholder: 'FORMAT',
    help: 'X-Ntlm-Username as "user" (default) or "domain\\user"',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'forward-groups',
    kind: 'boolean',
    help: 'also send X-Ntlm-Groups (comma-separated group names)',
  },
  {
    group: 'Header mode: tokens and headers',
    name: 'forward-token',
    kind: 'boolean',
    help: 'also send X-Ntlm-Token (the Bearer token, for upstreams that check it)',
  },
  {
    group: 'Limits',
    name: 'max-connections',
    kind: 'integer',
    placeholder: 'N',
    help: `authenticated (header) or pinned (pass-through) connections kept at once (default ${DEFAULTS.ntlm.maxConnections} / ${G.pinnedConnections})`,
  },
  {
    group: 'Limits',
    name: 'max-connections-per-client',
    kind: 'integer',
    placeholder: 'N',
    help: 'pass-through: pinned connections one client address (IPv6: one /64) may hold; beyond it, and when every pin is in use, logged in or mid-handshake, a new handshake gets 503 (default a tenth of --max-connections, at least 4)',
  },
  {
    group: 'Limits',
    name: 'idle-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `forget a connection idle this long; client connections are kept open as long (default ${duration(DEFAULTS.ntlm.connectionIdleTimeoutMs)})`,
  },
  {
    group: 'Limits',
    name: 'max-age',
    kind: 'duration',
    placeholder: 'TIME',
    help: `authenticate a connection again after this long (default ${duration(DEFAULTS.ntlm.maxConnectionAgeMs)})`,
  },
  {
    group: 'Limits',
    name: 'max-requests',
    kind: 'integer',
    placeholder: 'N',
    help: `authenticate a connection again after this many requests (default: no limit; pass-through mode: ${G.pinnedMaxRequests})`,
  },
  {
    group: 'Limits',
    name: 'max-client-connections',
    kind: 'integer',
    placeholder: 'N',
    help: `client connections open at once; more are closed as they arrive (default ${G.maxClientConnections})`,
  },
  {
    group: 'Limits',
    name: 'max-unauthenticated-connections',
    kind: 'integer',
    placeholder: 'N',
    help: 'of those, connections not logged in (yet); beyond it a new connection gets 503 at once (default half of --max-client-connections)',
  },
  {
    group: 'Limits',
    name: 'max-unauthenticated-connections-per-client',
    kind: 'integer',
    placeholder: 'N',
    help: 'of those, what one client address (IPv6: one /64; behind --trusted-proxy, the forwarded one) may hold; beyond it its new connections get 503 (default a tenth of --max-unauthenticated-connections, at least 4)',
  },
  {
    group: 'Limits',
    name: 'challenge-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `a connection not logged in is closed this long after a 401 unless the client answers (default ${duration(G.challengeTimeoutMs)})`,
  },
  {
    group: 'Limits',
    name: 'header-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `a request's headers must arrive within this long, else 408 and the connection is closed; also the TLS handshake's limit (default ${duration(G.headerTimeoutMs)})`,
  },
  {
    group: 'Limits',
    name: 'max-header-size',
    kind: 'integer',
    placeholder: 'BYTES',
    help: `a request's headers together, else 431 and the connection is closed; room for a Kerberos token of a user in many groups (default ${G.maxHeaderBytes})`,
  },
  {
    group: 'Limits',
    name: 'upstream-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `longest silence from the upstream, then 504 (default ${duration(G.upstreamTimeoutMs)})`,
  },
  {
    group: 'Limits',
    name: 'send-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `longest a client may take none of an answer, then its connection is closed (default ${duration(G.sendTimeoutMs)})`,
  },
  {
    group: 'Limits',
    name: 'shutdown-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `on SIGTERM, how long in-flight requests may finish (default ${duration(G.shutdownTimeoutMs)})`,
  },
  {
    group: 'Other',
    name: 'upstream-ca',
    kind: 'string',
    placeholder: 'FILE',
    help: 'CA certificate (PEM) for an https:// upstream',
  },
  {
    group: 'Other',
    name: 'operator-listen',
    kind: 'string',
    placeholder: 'HOST:PORT',
    help: 'serve the health, readiness and metrics paths on a plain-HTTP listener of their own (e.g. 127.0.0.1:9100), and not on --listen (default: on --listen)',
  },
  {
    group: 'Other',
    name: 'health-path',
    kind: 'string',
    placeholder: 'PATH',
    help: `answered without authentication (default ${G.healthPath}; "off" to disable)`,
  },
  {
    group: 'Other',
    name: 'ready-path',
    kind: 'string',
    placeholder: 'PATH',
    help: 'readiness, answered without authentication: 200 while a DC (or the Netlogon channel, and Redis when set) answers, else 503 (default /.ntlm-sso/ready; "off" to disable)',
  },
  {
    group: 'Other',
    name: 'metrics-path',
    kind: 'string',
    placeholder: 'PATH',
    help: 'Prometheus metrics, answered without authentication; needs prom-client installed (default /.ntlm-sso/metrics; "off" to disable)',
  },
  {
    group: 'Other',
    name: 'logout-path',
    kind: 'string',
    placeholder: 'PATH',
    help: `header mode: POST here revokes the caller's token and forgets their connection (default ${G.logoutPath}; "off" to disable)`,
  },
  {
    group: 'Other',
    name: 'debug',
    choices: ['0', '1', '2'],
    kind: 'string',
    placeholder: 'LEVEL',
    help: '0: info, warnings and errors: logons, refusals, DC transitions, one access line per request (default); 1: also each handshake step; 2: also tokens',
  },
  {
    group: 'Other',
    name: 'access-log',
    choices: ['on', 'off'],
    kind: 'string',
    placeholder: 'SWITCH',
    help: '"on" (default): one access line per request; "off" where a proxy in front logs requests already (each line costs CPU: ~1/6 of the rate)',
  },
  {
    group: 'Other',
    name: 'log-format',
    choices: ['auto', 'json', 'pretty'],
    kind: 'string',
    placeholder: 'FORMAT',
    help: '"json" (one object per line, ISO timestamps), "pretty" (one readable line), or "auto" (default): pretty on a terminal, JSON otherwise',
  },
  {
    group: 'Doctor',
    name: 'timeout',
    kind: 'duration',
    placeholder: 'TIME',
    commands: ['doctor'],
    help: 'longest wait of each step (default 3s)',
  },
  {
    group: 'Other',
    name: 'help',
    short: 'h',
    kind: 'boolean',
    commands: ['ntlm-sso', ...BOTH],
    environment: false,
    help: 'show this help',
  },
  {
    group: 'Other',
    name: 'version',
    short: 'v',
    kind: 'boolean',
    commands: ['ntlm-sso', ...BOTH],
    environment: false,
    help: 'show the version',
  },
];

/** The flags `command` takes, in the table's order. */
export function flagsOf(command: Command): readonly FlagSpec[] {
  return FLAGS.filter((spec) => (spec.commands ?? BOTH).includes(command));
}

export function environmentName(flag: string): string {
  return `NTLM_SSO_${flag.toUpperCase().replaceAll('-', '_')}`;
}
