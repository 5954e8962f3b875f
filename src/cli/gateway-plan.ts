import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { workerSharedStore } from '../cluster/worker-role.js';
import { gatewayLogger } from '../gateway/gateway-logger.js';
import { RedisStore } from '../store/redis-store.js';
import type { Store } from '../store/store.js';
import type { GatewayMode, GatewayOptions, NtlmOptions, UsernameFormat, Verifier } from '../types.js';
import { hideUrlPasswords } from '../url-credentials.js';
import { domainController } from '../verifiers/domain-controller.js';
import { localDirectoryFromFile } from '../verifiers/local-directory.js';
import { netlogon } from '../verifiers/netlogon.js';
import type { Settings } from './parse.js';
import { UsageError } from './usage-error.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface GatewayPlan {
  readonly listen: ListenAddress;
  readonly options: GatewayOptions;
  /** One line for the start-up message: where users come from. */
  readonly source: string;
}

/** `127.0.0.1:8080`, `[::1]:8080` or `:8080` (all interfaces), for `--listen` or another flag. */
export function parseListen(text: string, flag = 'listen'): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new UsageError(
      `--${flag} must be HOST:PORT such as 127.0.0.1:8080 or [::1]:8080, got ${JSON.stringify(text)}`,
    );
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function readFileSetting(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(cause as Error).message}`);
  }
}

const str = (settings: Settings, name: string) => settings[name] as string | undefined;
const list = (settings: Settings, name: string) => settings[name] as string[] | undefined;
const num = (settings: Settings, name: string) => settings[name] as number | undefined;

/** The settings that choose where users come from; exactly one of the first three. */
const SOURCES = ['users', 'dc', 'netlogon'] as const;
const DC_ONLY = ['dc-ca', 'dc-servername', 'lookup-url', 'lookup-user', 'lookup-password'];
const NETLOGON_ONLY = ['machine-account', 'machine-password-file', 'machine-password'];
/** The domain's DNS name and servers: where `auto` finds DCs, and with --netlogon the CHALLENGE's name. */
const DNS = ['dns-domain', 'dns-server'];

function verifierFrom(settings: Settings, store: Store | undefined): { verifier: Verifier; source: string } {
  const given = SOURCES.filter((name) => settings[name] !== undefined);
  if (given.length > 1)
    throw new UsageError(
      `use one of --users, --dc or --netlogon, not ${given.map((name) => `--${name}`).join(' and ')}`,
    );
  const [source] = given;
  const misplaced = [
    ...(source === 'dc' ? [] : DC_ONLY),
    ...(source === 'netlogon' ? [] : NETLOGON_ONLY),
    ...(source === 'users' ? DNS : []),
  ].filter((name) => settings[name] !== undefined);
  if (misplaced.length > 0) {
    const first = misplaced[0]!;
    const home = DC_ONLY.includes(first)
      ? '--dc'
      : NETLOGON_ONLY.includes(first)
        ? '--netlogon'
        : '--dc or --netlogon';
    throw new UsageError(
      `${misplaced.map((name) => (name === 'machine-password' ? 'NTLM_SSO_MACHINE_PASSWORD' : `--${name}`)).join(', ')}: ` +
        `only with ${home}`,
    );
  }
  const users = str(settings, 'users');
  if (users) return { verifier: localDirectoryFromFile(users), source: `users from ${users}` };
  if (source === 'netlogon') return netlogonFrom(settings, store);
  const dc = list(settings, 'dc');
  if (!dc)
    throw new UsageError(
      'header mode needs --users FILE or --dc URLS --domain NAME (or --netlogon HOSTS --domain NAME --machine-account NAME$)',
    );
  const domain = str(settings, 'domain');
  if (!domain) throw new UsageError('--dc needs --domain NAME (the NetBIOS name, e.g. EXAMPLE)');
  const caFile = str(settings, 'dc-ca');
  const servername = str(settings, 'dc-servername');
  const tls =
    caFile || servername
      ? { ca: caFile ? readFileSetting(caFile, 'dc-ca') : undefined, servername }
      : undefined;
  const lookupUrl = list(settings, 'lookup-url');
  // bindDN and password missing: domainController() says so (ConfigurationError).
  const lookupUser = str(settings, 'lookup-user') as string;
  const lookupPassword = str(settings, 'lookup-password') as string;
  return {
    verifier: domainController({
      domains: { [domain]: isAuto(dc) ? 'auto' : dc },
      ...dnsFrom(settings),
      tls,
      lookup: lookupUrl ? { url: lookupUrl, bindDN: lookupUser, password: lookupPassword, tls } : undefined,
      // With --redis, what the directory says about users is shared by every instance too.
      cache: store ? { store } : undefined,
    }),
    source: hideUrlPasswords(`${domain} via ${isAuto(dc) ? 'the DCs found in DNS' : dc.join(', ')}`),
  };
}

/** `--dc auto` / `--netlogon auto`: the DCs are found in DNS. */
const isAuto = (dcs: readonly string[]) => dcs.length === 1 && dcs[0] === 'auto';

/** --dns-domain and --dns-server, for the verifier to check (it refuses 'auto' without a DNS domain). */
function dnsFrom(settings: Settings): { dnsDomain?: string; dns?: { servers: string[] } } {
  const dnsDomain = str(settings, 'dns-domain');
  const servers = list(settings, 'dns-server');
  return { ...(dnsDomain ? { dnsDomain } : {}), ...(servers ? { dns: { servers } } : {}) };
}

/**
 * --netlogon: the DC validates each logon over the machine account's secure channel (MS-NRPC).
 * netlogon() checks the domain, the machine account and its password (exactly one source).
 */
function netlogonFrom(settings: Settings, store: Store | undefined): { verifier: Verifier; source: string } {
  const dcs = list(settings, 'netlogon')!;
  const domain = str(settings, 'domain') as string;
  const machineAccount = str(settings, 'machine-account') as string;
  const machinePasswordFile = str(settings, 'machine-password-file');
  const machinePassword = str(settings, 'machine-password');
  const verifier = netlogon({
    domain,
    dcs: isAuto(dcs) ? 'auto' : dcs,
    ...dnsFrom(settings),
    machineAccount,
    machinePassword,
    machinePasswordFile,
    // With --redis, group names (per SID) are shared by every instance too.
    cache: store ? { store } : undefined,
  });
  return {
    verifier,
    source: `${domain.toUpperCase()} via Netlogon (${isAuto(dcs) ? 'DCs found in DNS' : dcs.join(', ')}) as ${machineAccount}`,
  };
}

/** --keytab [--spn] [--kdc]: Kerberos beside NTLM (ntlm() reads the keytab and says when it cannot), and with --basic the KDCs that check passwords. */
function kerberosFrom(settings: Settings): NtlmOptions['kerberos'] {
  const keytab = str(settings, 'keytab');
  const spn = str(settings, 'spn');
  if (spn && !keytab) throw new UsageError('--spn needs --keytab FILE');
  if (list(settings, 'kdc') && !keytab) throw new UsageError('--kdc needs --keytab FILE (and --basic)');
  if (!keytab) return undefined;
  // The path, not the bytes: readiness reads the file again to see that it is still usable.
  return { keytab, servicePrincipal: spn, kdc: kdcFrom(settings) };
}

/**
 * --kdc, else the DCs already named (every AD DC is a KDC): --netlogon's hosts, --dc's URL hosts;
 * else (or with 'auto') the KDCs found in DNS for the keytab's realm.
 */
function kdcFrom(settings: Settings): string[] | 'auto' {
  const kdc = list(settings, 'kdc');
  if (kdc) return isAuto(kdc) ? 'auto' : kdc;
  const dcs = list(settings, 'netlogon') ?? list(settings, 'dc');
  if (!dcs || isAuto(dcs)) return 'auto';
  // Their hosts only: the ports given there are Netlogon's or LDAP's, the KDC's is 88.
  return dcs.map((dc) => (dc.includes('://') ? new URL(dc).hostname : dc.replace(/:\d+$/, '')));
}

/**
 * --extended-protection [--service-principal-names]: IIS's Extended Protection, checked where the
 * client's TLS channel ends, so only with the gateway's own --tls-cert.
 */
function extendedProtectionFrom(
  settings: Settings,
): Pick<NtlmOptions, 'extendedProtection' | 'servicePrincipalNames'> {
  const mode = (str(settings, 'extended-protection') ?? 'off') as NtlmOptions['extendedProtection'];
  const spns = list(settings, 'service-principal-names');
  if (mode !== 'off' && !settings['tls-cert'])
    throw new UsageError(
      `--extended-protection ${mode} needs --tls-cert and --tls-key: clients bind their logon to the TLS channel, which must end at the gateway`,
    );
  if (spns && mode === 'off')
    throw new UsageError('--service-principal-names: only with --extended-protection allow or require');
  return { extendedProtection: mode, servicePrincipalNames: spns };
}

function jwtSecret(settings: Settings): string | Buffer {
  const file = str(settings, 'jwt-secret-file');
  if (file && settings['jwt-secret'])
    throw new UsageError('use either --jwt-secret or --jwt-secret-file, not both');
  if (file) return readFileSetting(file, 'jwt-secret-file').toString('utf8').trim();
  return str(settings, 'jwt-secret') ?? randomBytes(32).toString('base64');
}

function authOptions(settings: Settings, debug: 0 | 1 | 2): { auth: NtlmOptions; source: string } {
  const redis = str(settings, 'redis');
  // --workers without --redis: the workers share the primary's store (src/cluster/).
  const store = redis ? new RedisStore({ redis }) : workerSharedStore();
  const { verifier, source } = verifierFrom(settings, store);
  const cookie = settings['token-cookie'] === true ? { secure: Boolean(settings['tls-cert']) } : undefined;
  const ttl = num(settings, 'token-ttl');
  const format = str(settings, 'username-format');
  const idle = num(settings, 'idle-timeout');
  const age = num(settings, 'max-age');
  return {
    source,
    auth: {
      verifier,
      kerberos: kerberosFrom(settings),
      ...extendedProtectionFrom(settings),
      debug,
      usernameFormat: format as UsernameFormat | undefined,
      allowUsers: list(settings, 'allow-users'),
      allowGroups: list(settings, 'allow-groups'),
      trustedDomains: list(settings, 'trusted-domains'),
      allowComputerAccounts: settings['allow-computer-accounts'] === true ? true : undefined,
      basic: settings.basic === true ? true : undefined,
      maxConnections: num(settings, 'max-connections'),
      connectionIdleTimeoutMs: idle,
      maxConnectionAgeMs: age,
      maxRequestsPerConnection: num(settings, 'max-requests'),
      bearer: {
        secret: jwtSecret(settings),
        expiresInSeconds: ttl === undefined ? undefined : Math.ceil(ttl / 1000),
        cookie,
      },
      store,
    },
  };
}

/** A path the gateway answers itself: `/...`, `off`, or unset (the gateway's default). */
function gatewayPath(settings: Settings, name: string): string | false | undefined {
  const path = str(settings, name);
  if (path === undefined) return undefined;
  if (path === 'off') return false;
  if (!path.startsWith('/'))
    throw new UsageError(`--${name} must start with "/" (or be "off"), got ${JSON.stringify(path)}`);
  return path;
}

const HEADER_MODE_ONLY = [
  'users',
  'dc',
  'domain',
  'dns-domain',
  'dns-server',
  'dc-ca',
  'dc-servername',
  'netlogon',
  'machine-account',
  'machine-password-file',
  'machine-password',
  'keytab',
  'spn',
  'kdc',
  'extended-protection',
  'service-principal-names',
  'lookup-url',
  'lookup-user',
  'lookup-password',
  'allow-users',
  'allow-groups',
  'trusted-domains',
  'allow-computer-accounts',
  'basic',
  'jwt-secret',
  'jwt-secret-file',
  'token-ttl',
  'token-cookie',
  'redis',
  'username-format',
  'forward-groups',
  'forward-token',
  'logout-path',
];

/**
 * Turns parsed settings into what createGateway() takes. A conflict between flags that only the
 * command line has (which source of users, files it reads, header-mode-only flags) is a
 * UsageError; what createGateway(), ntlm() and the verifiers check (the upstream, ranges,
 * required options, the keytab) is theirs to say, as a ConfigurationError.
 */
export function planGateway(settings: Settings): GatewayPlan {
  const upstream = str(settings, 'upstream') as string;
  const mode = (str(settings, 'mode') ?? 'header') as GatewayMode;
  const cert = str(settings, 'tls-cert');
  const key = str(settings, 'tls-key');
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert and --tls-key go together');
  if (settings.basic === true && !cert)
    throw new UsageError(
      '--basic needs TLS: give --tls-cert and --tls-key (Basic sends the password itself, so it is offered and taken over TLS only)',
    );
  const upstreamCa = str(settings, 'upstream-ca');
  const operatorListen = str(settings, 'operator-listen');
  // --debug and --log-format take only their choices (flags.ts).
  const debug = Number(str(settings, 'debug') ?? '0') as 0 | 1 | 2;
  const logFormat = (str(settings, 'log-format') ?? 'auto') as 'auto' | 'json' | 'pretty';

  const common: GatewayOptions = {
    upstream,
    mode,
    upstreamTimeoutMs: num(settings, 'upstream-timeout'),
    sendTimeoutMs: num(settings, 'send-timeout'),
    upstreamTls: upstreamCa ? { ca: readFileSetting(upstreamCa, 'upstream-ca') } : undefined,
    healthPath: gatewayPath(settings, 'health-path'),
    readyPath: gatewayPath(settings, 'ready-path'),
    metricsPath: gatewayPath(settings, 'metrics-path'),
    operatorListen: operatorListen === undefined ? undefined : parseListen(operatorListen, 'operator-listen'),
    tls:
      cert && key
        ? { cert: readFileSetting(cert, 'tls-cert'), key: readFileSetting(key, 'tls-key') }
        : undefined,
    shutdownTimeoutMs: num(settings, 'shutdown-timeout'),
    maxClientConnections: num(settings, 'max-client-connections'),
    maxUnauthenticatedConnections: num(settings, 'max-unauthenticated-connections'),
    maxUnauthenticatedConnectionsPerClient: num(settings, 'max-unauthenticated-connections-per-client'),
    challengeTimeoutMs: num(settings, 'challenge-timeout'),
    headerTimeoutMs: num(settings, 'header-timeout'),
    maxHeaderBytes: num(settings, 'max-header-size'),
    trustedProxies: list(settings, 'trusted-proxy'),
    logger: gatewayLogger(logFormat, debug),
    accessLog: str(settings, 'access-log') === 'off' ? false : undefined,
  };
  const listen = parseListen(str(settings, 'listen') ?? '127.0.0.1:8080');

  if (mode === 'pass-through') {
    const misplaced = HEADER_MODE_ONLY.filter((name) => settings[name] !== undefined);
    if (misplaced.length > 0)
      throw new UsageError(
        `${misplaced.map((name) => `--${name}`).join(', ')}: header mode only; in pass-through mode the upstream authenticates`,
      );
    return {
      listen,
      source: 'the upstream (pass-through)',
      options: {
        ...common,
        pinning: {
          maxConnections: num(settings, 'max-connections'),
          maxConnectionsPerClient: num(settings, 'max-connections-per-client'),
          idleTimeoutMs: num(settings, 'idle-timeout'),
          maxAgeMs: num(settings, 'max-age'),
          maxRequests: num(settings, 'max-requests'),
        },
      },
    };
  }
  if (settings['max-connections-per-client'] !== undefined)
    throw new UsageError(
      '--max-connections-per-client: pass-through mode only (it limits pinned upstream connections)',
    );
  const { auth, source } = authOptions(settings, debug);
  return {
    listen,
    source,
    options: {
      ...common,
      auth,
      forwardGroups: settings['forward-groups'] === true,
      forwardToken: settings['forward-token'] === true,
      logoutPath: gatewayPath(settings, 'logout-path'),
    },
  };
}
