// The composition root of ntlm() and its adapters: options.ts checks the options and fills in the
// defaults; this builds, once, what they name: the Kerberos acceptor, the Bearer tokens (with
// their signing keys), the identity policy, and the authenticator with its mechanism map.
import { DEFAULTS } from './defaults.js';
import { type KerberosAcceptor, kerberosAcceptor } from './kerberos/acceptor.js';
import { kdcAddresses } from './kerberos/kdc-locator.js';
import { KdcTransport } from './kerberos/kdc-transport.js';
import { buildRegistry } from './mechanisms/registry.js';
import { resolveOptions } from './options.js';
import { Authenticator } from './session/authenticator.js';
import { BearerTokens } from './session/bearer-tokens.js';
import { IdentityPolicy } from './session/identity-policy.js';
import type { ResolvedOptions } from './session/resolved-options.js';
import type { KerberosOptions, NtlmOptions, Store } from './types.js';
import { positiveInteger } from './validation.js';

export type { ResolvedOptions };

/** `kerberos` → an acceptor whose replay cache lives in the middleware's store (shared across instances). */
function acceptorFrom(options: KerberosOptions, store: Store | undefined): KerberosAcceptor {
  // The KDC settings are Basic's (kdcTransportFrom), not the acceptor's.
  const { kdc: _kdc, kdcTimeoutMs: _kdcTimeoutMs, ...acceptorOptions } = options;
  return kerberosAcceptor({ ...acceptorOptions, replayStore: store });
}

/** A KDC answer larger than this is refused: a ticket with a thousand groups in its PAC is ~30 KiB. */
const KDC_MAX_ANSWER_BYTES = 256 * 1024;

/** With a keytab, Basic checks passwords with the KDC: its addresses and waits (`kerberos.kdc`). */
function kdcTransportFrom(options: KerberosOptions, realm: string): KdcTransport {
  const timeoutMs = positiveInteger(
    options.kdcTimeoutMs,
    'kerberos.kdcTimeoutMs',
    DEFAULTS.kerberos.kdcTimeoutMs,
  );
  const kdcs = kdcAddresses(options.kdc ?? DEFAULTS.kerberos.kdc, realm, 'ntlm().kerberos.kdc');
  return new KdcTransport(kdcs.list, {
    connectTimeoutMs: timeoutMs,
    timeoutMs,
    maxAnswerBytes: KDC_MAX_ANSWER_BYTES,
  });
}

/** ntlm()'s options, checked, with the objects they name built; a ConfigurationError when one cannot be. */
export function composeOptions(userOptions: NtlmOptions): ResolvedOptions {
  const { identityRules, bearer, kerberos: kerberosOptions, ...checked } = resolveOptions(userOptions);
  const kerberos = kerberosOptions && acceptorFrom(kerberosOptions, checked.store);
  return {
    ...checked,
    kerberos,
    // With a keytab, Basic's passwords go to the KDC of the keytab's realm.
    basic: checked.basic && {
      ...checked.basic,
      kdc: kerberos && kdcTransportFrom(kerberosOptions, kerberos.servicePrincipal.realm),
    },
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
