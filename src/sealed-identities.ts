/**
 * Identities this package made and froze whole (no getters, no mutable arrays or objects inside),
 * which no one can change afterwards: the Kerberos acceptor's per ticket, the NtlmIdentity made
 * from one (mechanisms/negotiate.ts), the identity interner's own. They are taken by their object
 * without being compared field by field. Only this package's own objects: a verifier's frozen
 * object may hold a mutable array or a getter whose answer changes, so it is compared every time.
 */
const sealed = new WeakSet<object>();

/** Freezes `identity`, whose arrays must already be frozen and whose fields are plain data, and marks it sealed. */
export function sealIdentity<T extends object>(identity: T): T {
  Object.freeze(identity);
  sealed.add(identity);
  return identity;
}

export function isSealedIdentity(identity: object): boolean {
  return sealed.has(identity);
}
