import { DEFAULTS } from './defaults.js';
import { ConfigurationError } from './errors.js';
import { adaptLogger, consoleLogger, levelledLogger } from './logger.js';
import { resolveMetricsOption } from './metrics/prometheus.js';
import { TrustedProxies } from './net/client-address.js';
import { OPTION_KEYS } from './option-keys.js';
import { isSid } from './session/access-rules.js';
import type { CheckedOptions } from './session/resolved-options.js';
import type { KerberosOptions, NtlmOptions } from './types.js';
import { knownKeysOnly, oneOf, positiveInteger } from './validation.js';

export type { CheckedOptions };

/** `kerberos`: its keys only; kerberosAcceptor() checks their values when the composition root builds it. */
function kerberosOptions(kerberos: KerberosOptions | undefined): KerberosOptions | undefined {
  if (kerberos === undefined) return undefined;
  if (typeof kerberos !== 'object' || kerberos === null) {
    throw new ConfigurationError('ntlm(): kerberos must be { keytab, servicePrincipal?, ... }');
  }
  knownKeysOnly(kerberos, OPTION_KEYS.kerberos, 'ntlm()', 'kerberos.');
  return kerberos;
}

function schemeList(value: unknown, kerberos: boolean): readonly ('Negotiate' | 'NTLM')[] {
  if (value === undefined) return kerberos ? ['Negotiate', 'NTLM'] : ['NTLM'];
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    new Set(value).size !== value.length ||
    !value.every((scheme) => scheme === 'Negotiate' || scheme === 'NTLM')
  ) {
    throw new ConfigurationError(
      `ntlm(): schemes must list 'Negotiate' and/or 'NTLM' once each, in the order offered, got ${JSON.stringify(value)}`,
    );
  }
  return [...value];
}

function stringList(value: unknown, name: string, lowerCase = true): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
    throw new ConfigurationError(`ntlm(): ${name} must be an array of non-empty strings`, {
      code: 'ERR_NTLM_CONFIG_NOT_A_LIST',
      option: `ntlm().${name}`,
    });
  }
  return lowerCase ? value.map((item) => item.toLowerCase()) : value;
}

/** An optional switch: true or false, nothing else. */
function flag(value: unknown, name: string, fallback = false): boolean {
  const text = value === undefined ? undefined : String(value);
  return oneOf(text, name, ['true', 'false'], String(fallback) as 'true' | 'false') === 'true';
}

function optionalFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new ConfigurationError(`ntlm(): ${name} must be a function, got ${typeof value}`, {
      code: 'ERR_NTLM_CONFIG_NOT_A_FUNCTION',
      option: `ntlm().${name}`,
    });
  return value;
}

/**
 * The identity policy's rules: the configured domains are the verifier's (the composition root
 * adds the keytab's realms); a verifier that names none would leave no way to tell our users from
 * a trust's, so it is refused.
 */
function identityRules(options: NtlmOptions): CheckedOptions['identityRules'] {
  const domains = stringList(options.verifier.domains, 'verifier.domains', false);
  if (!domains?.length) {
    throw new ConfigurationError(
      `ntlm(): the verifier ${options.verifier.name} names no domain (verifier.domains), so its users could not be told from another domain's; give it domains: ['EXAMPLE', 'example.test']`,
      { code: 'ERR_NTLM_CONFIG_MISSING', option: 'ntlm().verifier.domains' },
    );
  }
  return {
    ownDomains: domains,
    trustedDomains: stringList(options.trustedDomains, 'trustedDomains') ?? [],
    allowComputerAccounts: flag(
      options.allowComputerAccounts,
      'allowComputerAccounts',
      DEFAULTS.ntlm.allowComputerAccounts,
    ),
  };
}

/**
 * Group names in allowGroups need something that names a logon's group SIDs. Kerberos logons
 * bring SIDs only (the PAC): without a verifier that can name them (Netlogon's machine account,
 * or a domainController() lookup account) such a rule would refuse every Kerberos user, silently.
 */
function checkGroupsNameable(
  allowGroups: readonly string[] | undefined,
  options: NtlmOptions,
): readonly string[] | undefined {
  const names = options.allowGroups?.filter((group) => typeof group === 'string' && !isSid(group)) ?? [];
  if (names.length === 0 || options.kerberos === undefined || options.verifier.nameGroups) return allowGroups;
  throw new ConfigurationError(
    `ntlm(): allowGroups names groups (${names.join(', ')}), but Kerberos logons carry group SIDs only and nothing configured can name them: ` +
      'use the netlogon() verifier (gateway: --netlogon with --machine-account; its machine account names SIDs through LSA), ' +
      'or give domainController() a lookup account (gateway: --lookup-url --lookup-user --lookup-password), ' +
      'or list the groups by SID (S-1-5-21-...)',
    { code: 'ERR_NTLM_CONFIG_GROUPS_UNRESOLVABLE', option: 'ntlm().allowGroups' },
  );
}

/**
 * Checks options once, at start-up, and fills in the defaults documented in types.ts. It builds
 * nothing: the tokens, the Kerberos acceptor and the mechanisms are built from what it returns by
 * the composition root (compose.ts), whose constructors check what is theirs (keys, keytab).
 */
export function resolveOptions(options: NtlmOptions): CheckedOptions {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError('ntlm(): options object is required');
  knownKeysOnly(options, OPTION_KEYS.ntlm, 'ntlm()');
  const { verifier } = options;
  if (typeof verifier?.startHandshake !== 'function') {
    throw new ConfigurationError(
      'ntlm(): a verifier is required, e.g. ntlm({ verifier: localDirectory({ domain, users }) })',
      { code: 'ERR_NTLM_CONFIG_MISSING', option: 'ntlm().verifier' },
    );
  }
  const N = DEFAULTS.ntlm;
  type Count =
    | 'maxPendingHandshakes'
    | 'handshakeTimeoutMs'
    | 'maxConnections'
    | 'connectionIdleTimeoutMs'
    | 'maxConnectionAgeMs'
    | 'maxRequestsPerConnection';
  const count = (name: Count) => positiveInteger(options[name], name, N[name]);
  const debug = oneOf(String(options.debug ?? N.debug), 'debug', ['0', '1', '2'], '0');
  const level = Number(debug) as 0 | 1 | 2;
  const maxPendingHandshakes = count('maxPendingHandshakes');
  const kerberos = kerberosOptions(options.kerberos);
  const maxPendingHandshakesPerClient = positiveInteger(
    options.maxPendingHandshakesPerClient,
    'maxPendingHandshakesPerClient',
    Math.max(1, Math.floor(maxPendingHandshakes * N.pendingHandshakesPerClientShare)),
  );
  return {
    verifier,
    usernameFormat: oneOf(
      options.usernameFormat,
      'usernameFormat',
      ['user', 'domain\\user'],
      N.usernameFormat,
    ),
    otherSchemes: oneOf(options.otherSchemes, 'otherSchemes', ['challenge', 'next'], N.otherSchemes),
    maxPendingHandshakes,
    maxPendingHandshakesPerClient,
    trustedProxies: new TrustedProxies(stringList(options.trustedProxies, 'trustedProxies', false)),
    handshakeTimeoutMs: count('handshakeTimeoutMs'),
    extendedProtection: oneOf(
      options.extendedProtection,
      'extendedProtection',
      ['off', 'allow', 'require'],
      N.extendedProtection,
    ),
    servicePrincipalNames: stringList(options.servicePrincipalNames, 'servicePrincipalNames', false) ?? [],
    logger: levelledLogger(adaptLogger(options.logger ?? consoleLogger), level),
    maxConnections: count('maxConnections'),
    connectionIdleTimeoutMs: count('connectionIdleTimeoutMs'),
    maxConnectionAgeMs: count('maxConnectionAgeMs'),
    maxRequestsPerConnection:
      options.maxRequestsPerConnection === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : count('maxRequestsPerConnection'),
    allowUsers: stringList(options.allowUsers, 'allowUsers'),
    allowGroups: checkGroupsNameable(stringList(options.allowGroups, 'allowGroups'), options),
    identityRules: identityRules(options),
    debug: level,
    bearer: options.bearer,
    store: options.store,
    kerberos,
    schemes: schemeList(options.schemes, options.kerberos !== undefined),
    basic: flag(options.basic, 'basic', DEFAULTS.ntlm.basic)
      ? { realm: String(options.verifier.domains?.[0] ?? 'ntlm-sso').toUpperCase() }
      : undefined,
    skip: optionalFunction(options.skip, 'skip'),
    handlers: {
      401: optionalFunction(options.onUnauthorized, 'onUnauthorized'),
      403: optionalFunction(options.onForbidden, 'onForbidden'),
      503: optionalFunction(options.onUnavailable, 'onUnavailable'),
    },
    setUser: flag(options.setUser, 'setUser'),
    metrics: resolveMetricsOption(options.metrics),
  };
}
