import type { NtlmIdentity } from '../types.js';

/**
 * One frozen identity object for all connections of one user (same name, groups and the rest):
 * a directory-cache hit or a PAC is parsed afresh for every logon, and each connection kept its
 * own copy of the strings and group arrays until it closed (most of the heap an idle
 * authenticated connection held). Entries go when no connection refers to their identity.
 */
export class IdentityInterner {
  readonly #byKey = new Map<string, WeakRef<NtlmIdentity>>();
  readonly #cleanup = new FinalizationRegistry<string>((key) => {
    if (this.#byKey.get(key)?.deref() === undefined) this.#byKey.delete(key);
  });

  /** The shared, frozen identity equal to `identity` (made from it if there is none yet). */
  intern(identity: NtlmIdentity): NtlmIdentity {
    const key = JSON.stringify(identity);
    const known = this.#byKey.get(key)?.deref();
    if (known) return known;
    const frozen = frozenCopy(identity);
    this.#byKey.set(key, new WeakRef(frozen));
    this.#cleanup.register(frozen, key);
    return frozen;
  }
}

/** A copy, frozen with its arrays: the verifier's own objects are left as they are. */
function frozenCopy(identity: NtlmIdentity): NtlmIdentity {
  const copy: { -readonly [K in keyof NtlmIdentity]: NtlmIdentity[K] } = { ...identity };
  if (copy.groups) copy.groups = Object.freeze([...copy.groups]);
  if (copy.groupSids) copy.groupSids = Object.freeze([...copy.groupSids]);
  return Object.freeze(copy);
}
