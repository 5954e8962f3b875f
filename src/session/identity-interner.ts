import { isSealedIdentity, sealIdentity } from '../sealed-identities.js';
import type { NtlmIdentity } from '../types.js';

/** Different identities of one user kept at once (other workstations, groups changed meanwhile). */
const MAX_VARIANTS_PER_USER = 8;

/**
 * One frozen identity object for all connections of one user (same name, groups and the rest):
 * a directory-cache hit or a PAC is parsed afresh for every logon, and each connection kept its
 * own copy of the strings and group arrays until it closed (most of the heap an idle
 * authenticated connection held). Found by user, then compared field by field: serialising the
 * whole identity as the key cost a tenth of a Kerberos logon's own CPU. Entries go when no
 * connection refers to their identity (a Kerberos ticket kept open refers to its own: it lives as
 * long as the ticket is kept).
 */
export class IdentityInterner {
  readonly #byUser = new Map<string, WeakRef<NtlmIdentity>[]>();
  /**
   * What a sealed identity (sealed-identities.ts) interned to, by its object: it cannot differ now
   * from when it was compared. A Kerberos ticket kept open hands over the same one at every logon
   * (mechanisms/negotiate.ts); the interner's own are sealed too, and found so once given back.
   */
  readonly #bySealedObject = new WeakMap<NtlmIdentity, NtlmIdentity>();
  readonly #cleanup = new FinalizationRegistry<string>((user) => {
    const alive = this.#byUser.get(user)?.filter((ref) => ref.deref() !== undefined);
    if (alive?.length) this.#byUser.set(user, alive);
    else this.#byUser.delete(user);
  });

  /** The shared, frozen identity equal to `identity` (made from it if there is none yet). */
  intern(identity: NtlmIdentity): NtlmIdentity {
    const seen = this.#bySealedObject.get(identity);
    if (seen) return seen;
    const interned = this.#find(identity);
    if (isSealedIdentity(identity)) this.#bySealedObject.set(identity, interned);
    return interned;
  }

  #find(identity: NtlmIdentity): NtlmIdentity {
    const user = `${identity.domain}\\${identity.username}`;
    const variants = this.#byUser.get(user);
    if (variants) {
      for (const ref of variants) {
        const known = ref.deref();
        if (known && sameIdentity(known, identity)) return known;
      }
    }
    // A sealed one is kept as it is: a copy would be a second object for as long as its ticket.
    const frozen = isSealedIdentity(identity) ? identity : frozenCopy(identity);
    const ref = new WeakRef(frozen);
    if (!variants) this.#byUser.set(user, [ref]);
    else if (variants.push(ref) > MAX_VARIANTS_PER_USER) variants.shift();
    this.#cleanup.register(frozen, user);
    return frozen;
  }
}

/**
 * Equal in every own field (arrays element by element); a field set to undefined equals an
 * absent one. Own fields only: a field named like an Object.prototype member (`constructor`)
 * on one side is compared with what the other side has of its own, which is nothing.
 */
function sameIdentity(known: NtlmIdentity, candidate: NtlmIdentity): boolean {
  const a = known as unknown as Record<string, unknown>;
  const b = candidate as unknown as Record<string, unknown>;
  // Symbol-keyed fields (a verifier's own marks) are not compared: such identities are kept apart.
  if (Object.getOwnPropertySymbols(a).length > 0 || Object.getOwnPropertySymbols(b).length > 0) return false;
  for (const key of Object.keys(b)) if (!sameValue(ownField(a, key), b[key])) return false;
  for (const key of Object.keys(a)) if (!sameValue(a[key], ownField(b, key))) return false;
  return true;
}

function ownField(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A copy, frozen with its arrays: the verifier's own objects are left as they are. */
function frozenCopy(identity: NtlmIdentity): NtlmIdentity {
  const copy: { -readonly [K in keyof NtlmIdentity]: NtlmIdentity[K] } = { ...identity };
  if (copy.groups) copy.groups = Object.freeze([...copy.groups]);
  if (copy.groupSids) copy.groupSids = Object.freeze([...copy.groupSids]);
  return sealIdentity(copy);
}
