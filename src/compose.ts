// The composition root of ntlm() and its adapters: options.ts checks the options and fills in the
// defaults; this builds, once, what they name: the Kerberos acceptor, the Bearer tokens (with
// their signing keys), the identity policy, and the authenticator with its mechanism map.
import { type KerberosAcceptor, kerberosAcceptor } from './kerberos/acceptor.js';
import { buildRegistry } from './mechanisms/registry.js';
import { resolveOptions } from './options.js';
import { Authenticator } from './session/authenticator.js';
import { BearerTokens } from './session/bearer-tokens.js';
import { IdentityPolicy } from './session/identity-policy.js';
import type { ResolvedOptions } from './session/resolved-options.js';
import type { KerberosOptions, NtlmOptions, Store } from './types.js';

export type { ResolvedOptions };

/** `kerberos` → an acceptor whose replay cache lives in the middleware's store (shared across instances). */
function acceptorFrom(options: KerberosOptions, store: Store | undefined): KerberosAcceptor {
  const { keytab, servicePrincipal, maxClockSkewMs, allowRc4, maxReplayEntries } = options;
  return kerberosAcceptor({
    keytab,
    servicePrincipal,
    maxClockSkewMs,
    allowRc4,
    maxReplayEntries,
    replayStore: store,
  });
}

/** ntlm()'s options, checked, with the objects they name built; a ConfigurationError when one cannot be. */
export function composeOptions(userOptions: NtlmOptions): ResolvedOptions {
  const { identityRules, bearer, kerberos: kerberosOptions, ...checked } = resolveOptions(userOptions);
  const kerberos = kerberosOptions && acceptorFrom(kerberosOptions, checked.store);
  return {
    ...checked,
    kerberos,
    // The keytab's realms are the site's own domains too.
    identityPolicy: new IdentityPolicy({
      ...identityRules,
      ownDomains: [...identityRules.ownDomains, ...(kerberos?.realms ?? [])],
    }),
    tokens: bearer ? new BearerTokens(bearer, checked.store) : undefined,
  };
}

/** The authenticator for resolved options, with the mechanisms they turn on (buildRegistry). */
export function createAuthenticator(options: ResolvedOptions): Authenticator {
  return new Authenticator(options, buildRegistry(options));
}
