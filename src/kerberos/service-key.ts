import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.js';
import type { Ticket } from './ap-req.js';
import { type EncryptionKey, EncType, keyLengthOk } from './enctypes.js';
import { type KeytabEntry, parseKeytab, principalText, samePrincipal } from './keytab.js';
import { refuse } from './refuse.js';

/**
 * The service's long-term keys, from a keytab, and the choice of the one that opens a ticket
 * (RFC 4120 3.2.3: the server key named by the ticket's sname, etype and kvno).
 */

/** A configured servicePrincipal; without a realm it matches the principal in any realm. */
interface ServiceName {
  readonly components: string[];
  readonly realm: string | undefined;
}

export class ServiceKeys {
  readonly #entries: KeytabEntry[];
  readonly #service: ServiceName | undefined;
  readonly #servicePrincipal: string | undefined;
  readonly #allowRc4: boolean;

  private constructor(entries: KeytabEntry[], servicePrincipal: string | undefined, allowRc4: boolean) {
    this.#entries = entries;
    this.#servicePrincipal = servicePrincipal;
    this.#service = servicePrincipal === undefined ? undefined : parseServiceName(servicePrincipal);
    this.#allowRc4 = allowRc4;
  }

  /**
   * The usable keys of a keytab (AES; rc4-hmac only with allowRc4); throws ConfigurationError
   * when none is left, or none for `servicePrincipal`.
   */
  static fromKeytab(keytab: unknown, servicePrincipal: string | undefined, allowRc4: boolean): ServiceKeys {
    const entries = loadKeytab(keytab).filter(
      (e) =>
        keyLengthOk(e.key) &&
        (e.key.etype === EncType.AES128_CTS_HMAC_SHA1_96 ||
          e.key.etype === EncType.AES256_CTS_HMAC_SHA1_96 ||
          (allowRc4 && e.key.etype === EncType.RC4_HMAC)),
    );
    if (entries.length === 0) {
      throw new ConfigurationError(
        `kerberosAcceptor(): the keytab has no usable key (aes256/aes128${allowRc4 ? '/rc4' : '; rc4 needs allowRc4'})`,
      );
    }
    const keys = new ServiceKeys(entries, servicePrincipal, allowRc4);
    if (keys.#service && !entries.some((e) => matchesService(keys.#service!, e))) {
      throw new ConfigurationError(
        `kerberosAcceptor(): the keytab has no usable key for ${servicePrincipal}`,
      );
    }
    return keys;
  }

  /** The realms of the principals served (the keytab's, or only the servicePrincipal's): the site's own. */
  get realms(): string[] {
    const served = this.#entries.filter((e) => !this.#service || matchesService(this.#service, e));
    return [...new Set(served.map((e) => e.realm))];
  }

  /** The principal served, with its realm: servicePrincipal's entry, else the keytab's first usable one. */
  get principal(): { components: readonly string[]; realm: string } {
    const entry = this.#entries.find((e) => !this.#service || matchesService(this.#service, e))!;
    return { components: entry.components, realm: entry.realm };
  }

  /** Which keytab key opens this ticket: principal, then enctype, then kvno (rotation). */
  forTicket(ticket: Ticket): EncryptionKey {
    const target = { components: ticket.sname.components, realm: ticket.realm };
    // For the refusals only: a logon served makes no string.
    const name = () => principalText(target.components, target.realm);
    if (this.#service && !matchesService(this.#service, target)) {
      refuse('ERR_KRB_WRONG_SERVICE', `ticket is for ${name()}, not ${this.#servicePrincipal}`);
    }
    const forPrincipal = this.#entries.filter((e) => samePrincipal(e, target));
    if (forPrincipal.length === 0) refuse('ERR_KRB_WRONG_SERVICE', `no key in the keytab for ${name()}`);
    const { etype, kvno } = ticket.encPart;
    if (etype === EncType.RC4_HMAC && !this.#allowRc4) {
      refuse(
        'ERR_KRB_ENCTYPE_REFUSED',
        `ticket for ${name()} is encrypted with rc4-hmac; set allowRc4 to accept it`,
      );
    }
    const sameType = forPrincipal.filter((e) => e.key.etype === etype);
    if (sameType.length === 0)
      refuse('ERR_KRB_NO_KEY', `no key of enctype ${etype} for ${name()} in the keytab`);
    // No kvno in the ticket: the newest key; with one, exactly that key (RFC 4120 5.2.9).
    const key =
      kvno === undefined
        ? sameType.reduce((a, b) => (b.kvno > a.kvno ? b : a))
        : sameType.find((e) => e.kvno === kvno);
    if (!key) {
      refuse(
        'ERR_KRB_NO_KEY',
        `no key with kvno ${kvno} for ${name()} (keytab has ${sameType.map((e) => e.kvno).join(', ')}): export the keytab again`,
      );
    }
    return key.key;
  }
}

function loadKeytab(keytab: unknown): KeytabEntry[] {
  if (Buffer.isBuffer(keytab)) return parseKeytab(keytab);
  if (typeof keytab !== 'string' || keytab === '') {
    throw new ConfigurationError('kerberosAcceptor(): keytab must be a file path or a Buffer');
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(keytab);
  } catch (error) {
    throw new ConfigurationError(`kerberosAcceptor(): cannot read the keytab ${keytab}`, { cause: error });
  }
  return parseKeytab(bytes);
}

/** `HTTP/web.example.com` or `HTTP/web.example.com@REALM` (RFC 4120 6.2 / RFC 1964 2.1.1 text form). */
function parseServiceName(text: string): ServiceName {
  const at = text.lastIndexOf('@');
  const name = at >= 0 ? text.slice(0, at) : text;
  const realm = at >= 0 ? text.slice(at + 1) : undefined;
  const components = name.split('/');
  if (components.some((part) => part === '') || realm === '') {
    throw new ConfigurationError(
      `kerberosAcceptor(): servicePrincipal ${JSON.stringify(text)} is not a principal name`,
    );
  }
  return { components, realm };
}

function matchesService(
  service: ServiceName,
  entry: { components: readonly string[]; realm: string },
): boolean {
  return samePrincipal({ components: service.components, realm: service.realm ?? entry.realm }, entry);
}
