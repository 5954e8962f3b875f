import { ConfigurationError } from '../errors.js';
import type { KerberosAcceptor } from '../kerberos/acceptor.js';
import type { KdcTransport } from '../kerberos/kdc-transport.js';
import type { NtlmIdentity, Verifier } from '../types.js';
import { BasicMechanism } from './basic.js';
import { KerberosPasswordVerifier } from './kerberos-password.js';
import type { Mechanism } from './mechanism.js';
import { NegotiateMechanism } from './negotiate.js';
import { NtlmMechanism, type NtlmMechanismOptions } from './ntlm.js';
import { isPasswordVerifier, type PasswordVerifier } from './password-verifier.js';

/** The HTTP schemes a mechanism may run under. */
export type MechanismScheme = 'NTLM' | 'Negotiate' | 'Basic';

/** One mechanism and how the authenticator treats its scheme. */
export interface MechanismEntry {
  readonly scheme: MechanismScheme;
  readonly mechanism: Mechanism;
  /** Its `WWW-Authenticate` challenge on a fresh 401, or undefined: accepted, never offered. */
  readonly challenge: string | undefined;
  /** Offered and taken over TLS only (isSecureRequest); over plain HTTP its credentials get 401. */
  readonly tlsOnly: boolean;
  /** Whether its tokens may go into debug logs (never a Basic token: it is the password). */
  readonly loggableTokens: boolean;
}

/**
 * The mechanisms of one ntlm(), in the order a 401 offers them; the one place that knows which
 * exist. The authenticator asks it for the mechanism of a scheme and for the offers of a
 * request; adding a mechanism is an entry here and its module beside this one.
 */
export class MechanismRegistry {
  readonly #entries: readonly MechanismEntry[];
  readonly #byScheme: ReadonlyMap<string, MechanismEntry>;
  readonly #offers: { readonly plain: readonly string[]; readonly secure: readonly string[] };

  constructor(entries: readonly MechanismEntry[]) {
    this.#entries = entries;
    this.#byScheme = new Map(entries.map((entry) => [entry.scheme.toLowerCase(), entry]));
    const offered = (secure: boolean) =>
      entries.flatMap((entry) =>
        entry.challenge !== undefined && (secure || !entry.tlsOnly) ? [entry.challenge] : [],
      );
    this.#offers = { plain: offered(false), secure: offered(true) };
  }

  /** The entry for a scheme as the client spelled it (case-insensitive), if we run it. */
  find(scheme: string): MechanismEntry | undefined {
    return this.#byScheme.get(scheme.toLowerCase());
  }

  /** The schemes whose Authorization header carries a token for a mechanism here. */
  get schemes(): readonly MechanismScheme[] {
    return this.#entries.map((entry) => entry.scheme);
  }

  /**
   * A fresh 401's challenges, each in a `WWW-Authenticate` header of its own (Java's HttpClient
   * reads only the first scheme of each header): Basic only over TLS, and always last.
   */
  offers(secure: boolean): readonly string[] {
    return secure ? this.#offers.secure : this.#offers.plain;
  }
}

/** What the registry is built from: ntlm()'s resolved options. */
export interface RegistryOptions extends NtlmMechanismOptions {
  readonly verifier: Verifier;
  readonly kerberos: KerberosAcceptor | undefined;
  /** The schemes offered first, in order (`schemes`). */
  readonly schemes: readonly ('Negotiate' | 'NTLM')[];
  /** Basic over TLS, last; its realm, and with a keytab the KDCs that check its passwords. */
  readonly basic: { readonly realm: string; readonly kdc?: KdcTransport | undefined } | undefined;
}

/**
 * Who checks Basic's passwords. With a keytab, the KDC (an AS and a TGS exchange, the ticket
 * opened with the keytab): preferred over the verifier's own check because it proves that the
 * answer came from the domain without any machine-account channel, and gives the PAC. Else the
 * verifier (Netlogon, the LDAPS relay, the local directory).
 */
function passwordVerifier(options: RegistryOptions, kdc: KdcTransport | undefined): PasswordVerifier {
  const { verifier } = options;
  if (options.kerberos && kdc) {
    return new KerberosPasswordVerifier(options.kerberos, kdc, groupNamer(verifier));
  }
  if (!isPasswordVerifier(verifier)) {
    throw new ConfigurationError(
      `ntlm(): basic needs a keytab (kerberos) or a verifier that checks passwords (netlogon(), domainController() or localDirectory()); ${verifier.name} does not`,
      { code: 'ERR_NTLM_CONFIG', option: 'ntlm().basic' },
    );
  }
  return verifier;
}

/**
 * The verifier's nameGroups for the Kerberos mechanisms, handed a shallow copy of the identity:
 * theirs is shared (one per ticket kept open, mechanisms/negotiate.ts), frozen, and a verifier's
 * nameGroups may write to what it is given.
 */
function groupNamer(verifier: Verifier): ((identity: NtlmIdentity) => Promise<NtlmIdentity>) | undefined {
  const { nameGroups } = verifier;
  return nameGroups && ((identity) => nameGroups.call(verifier, { ...identity }));
}

/**
 * NTLM, and Negotiate (SPNEGO with Kerberos from the keytab or NTLM inside; raw NTLMSSP),
 * accepted whether offered or not, offered as `schemes` says; then Basic when it is on.
 */
export function buildRegistry(options: RegistryOptions): MechanismRegistry {
  const ntlm = new NtlmMechanism(options.verifier, options);
  const connection: Record<'NTLM' | 'Negotiate', Mechanism> = {
    NTLM: ntlm,
    Negotiate: new NegotiateMechanism(
      ntlm,
      options.kerberos,
      options.extendedProtection,
      groupNamer(options.verifier),
    ),
  };
  const order: readonly ('Negotiate' | 'NTLM')[] = [
    ...options.schemes,
    ...(['Negotiate', 'NTLM'] as const).filter((scheme) => !options.schemes.includes(scheme)),
  ];
  const entries: MechanismEntry[] = order.map((scheme) => ({
    scheme,
    mechanism: connection[scheme],
    challenge: options.schemes.includes(scheme) ? scheme : undefined,
    tlsOnly: false,
    loggableTokens: true,
  }));
  if (options.basic) {
    entries.push({
      scheme: 'Basic',
      mechanism: new BasicMechanism(passwordVerifier(options, options.basic.kdc)),
      challenge: `Basic realm="${options.basic.realm}", charset="UTF-8"`,
      tlsOnly: true,
      loggableTokens: false,
    });
  }
  return new MechanismRegistry(entries);
}
