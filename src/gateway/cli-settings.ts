import { parseArgs } from 'node:util';
import { DEFAULTS } from '../defaults.js';
import { readJsonObject } from '../json-file.js';

const G = DEFAULTS.gateway;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A time as `--help` shows it: the largest unit that divides it (`1h`, `60s`, `500ms`). */
function duration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const)
    if (ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
  return `${ms}ms`;
}

/** A command-line mistake: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Kind = 'string' | 'boolean' | 'list' | 'integer' | 'duration';

export interface FlagSpec {
  readonly name: string;
  readonly kind: Kind;
  readonly placeholder?: string;
  readonly help: string;
  /** A secret: only its NTLM_SSO_* variable sets it, never a command-line argument (visible in `ps`) or the config file. */
  readonly environmentOnly?: true;
  readonly group:
    | 'Gateway'
    | 'Header mode: who users are'
    | 'Header mode: tokens and headers'
    | 'Limits'
    | 'Other';
}

/** Every flag, once: parsing, the NTLM_SSO_* variables, the config file keys and --help come from here. */
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
    name: 'upstream-timeout',
    kind: 'duration',
    placeholder: 'TIME',
    help: `longest silence from the upstream, then 504 (default ${duration(G.upstreamTimeoutMs)})`,
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
    kind: 'string',
    placeholder: 'LEVEL',
    help: '0: info, warnings and errors: logons, refusals, DC transitions, one access line per request (default); 1: also each handshake step; 2: also tokens',
  },
  {
    group: 'Other',
    name: 'log-format',
    kind: 'string',
    placeholder: 'FORMAT',
    help: '"json" (one object per line, ISO timestamps), "pretty" (one readable line), or "auto" (default): pretty on a terminal, JSON otherwise',
  },
  { group: 'Other', name: 'help', kind: 'boolean', help: 'show this help' },
  { group: 'Other', name: 'version', kind: 'boolean', help: 'show the version' },
];

export type SettingValue = string | boolean | number | string[];
export type Settings = Record<string, SettingValue>;

export function environmentName(flag: string): string {
  return `NTLM_SSO_${flag.toUpperCase().replaceAll('-', '_')}`;
}

/** nginx-style times: `500ms`, `30s`, `5m`, `1h`; a bare number means seconds. */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0)
    throw new UsageError(`--${flag} must be a time such as 30s, 5m or 1h, got ${JSON.stringify(text)}`);
  return ms;
}

function normalize(spec: FlagSpec, raw: SettingValue, source: string): SettingValue {
  const where = `${source === 'flag' ? '' : `${source}: `}--${spec.name}`;
  switch (spec.kind) {
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
      if (/^(0|false|no|off|)$/i.test(String(raw))) return false;
      throw new UsageError(`${where} is a switch: use true or false, got ${JSON.stringify(raw)}`);
    case 'list': {
      const items = Array.isArray(raw) ? raw : String(raw).split(',');
      const list = items.map((item) => String(item).trim()).filter(Boolean);
      if (list.length === 0) throw new UsageError(`${where} needs at least one value`);
      return list;
    }
    case 'integer': {
      const value = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isSafeInteger(value) || value <= 0)
        throw new UsageError(`${where} must be a positive whole number, got ${JSON.stringify(raw)}`);
      return value;
    }
    case 'duration':
      return parseDuration(String(raw), spec.name);
    default:
      if (typeof raw !== 'string' || raw === '') throw new UsageError(`${where} needs a value`);
      return raw;
  }
}

/**
 * The gateway's settings from, in order of precedence: command-line flags, NTLM_SSO_* variables,
 * the --config file. Unknown flags, unknown config keys and malformed values are UsageErrors;
 * a config file that cannot be read is a ConfigurationError.
 */
export function readSettings(argv: readonly string[], env: NodeJS.ProcessEnv): Settings {
  const byName = new Map(FLAGS.map((spec) => [spec.name, spec]));
  for (const spec of FLAGS) {
    if (
      spec.environmentOnly &&
      argv.some((arg) => arg === `--${spec.name}` || arg.startsWith(`--${spec.name}=`))
    )
      throw new UsageError(
        `--${spec.name} is never a command-line argument (every user can read it in ps): set ${environmentName(spec.name)}${byName.has(`${spec.name}-file`) ? ` or use --${spec.name}-file FILE` : ''}`,
      );
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        FLAGS.filter((spec) => !spec.environmentOnly).map(
          (spec) => [spec.name, { type: spec.kind === 'boolean' ? 'boolean' : 'string' }] as const,
        ),
      ),
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }

  const settings: Settings = {};
  const configPath = (parsed.values.config as string | undefined) ?? env[environmentName('config')];
  if (configPath) {
    for (const [key, value] of Object.entries(readJsonObject(configPath, 'config file') as Settings)) {
      const spec = byName.get(key);
      if (!spec || key === 'config' || key === 'help' || key === 'version')
        throw new UsageError(`config file ${configPath}: unknown key ${JSON.stringify(key)}`);
      if (spec.environmentOnly)
        throw new UsageError(
          `config file ${configPath}: "${key}" is a secret: set ${environmentName(key)}${byName.has(`${key}-file`) ? ` or "${key}-file"` : ''} instead`,
        );
      settings[key] = normalize(spec, value, `config file ${configPath}`);
    }
  }
  for (const spec of FLAGS) {
    const fromEnv = env[environmentName(spec.name)];
    if (fromEnv !== undefined && spec.name !== 'config')
      settings[spec.name] = normalize(spec, fromEnv, environmentName(spec.name));
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value !== undefined) settings[name] = normalize(byName.get(name)!, value as SettingValue, 'flag');
  }
  return settings;
}

/** One option's help, wrapped to 100 columns under its description column. */
function wrap(prefix: string, text: string): string[] {
  const lines: string[] = [];
  let line = prefix;
  for (const word of text.split(' ')) {
    if (line.length + word.length > 100 && line.trim() !== prefix.trim()) {
      lines.push(line.trimEnd());
      line = ' '.repeat(prefix.length);
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines;
}

export function helpText(version: string): string {
  const lines = [
    `ntlm-sso ${version}: Windows single sign-on (NTLM) in front of any HTTP application`,
    '',
    'Usage:',
    '  ntlm-sso gateway --upstream URL (--users FILE | --dc URLS --domain NAME) [options]',
    '  ntlm-sso gateway --upstream URL --netlogon HOSTS --domain NAME --machine-account NAME$ --machine-password-file FILE [options]',
    '  ntlm-sso gateway --upstream URL --mode pass-through [options]',
    '',
    'Example:',
    '  npx ntlm-sso gateway --listen 127.0.0.1:8080 --upstream http://127.0.0.1:9000 --users demo-app/users.json',
  ];
  let group = '';
  for (const spec of FLAGS) {
    if (spec.group !== group) {
      group = spec.group;
      lines.push('', `${group}:`);
    }
    const flag = spec.environmentOnly
      ? environmentName(spec.name)
      : `--${spec.name}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
    lines.push(...wrap(`  ${flag.padEnd(26)} `, spec.help));
  }
  lines.push(
    '',
    'Every flag can also be set as an environment variable: --jwt-secret is NTLM_SSO_JWT_SECRET,',
    '--dc is NTLM_SSO_DC, a switch is NTLM_SSO_FORWARD_GROUPS=true. Flags win over variables,',
    'variables over the --config file. Times: 500ms, 30s, 5m, 1h (a bare number is seconds).',
    '',
    'SIGTERM or SIGINT: stop accepting, finish in-flight requests (--shutdown-timeout), exit 0.',
  );
  return `${lines.join('\n')}\n`;
}
