import { LRUCache } from 'lru-cache';
import type { Ticket } from './ap-req.js';
import type { EncTicketPart } from './enc-ticket-part.js';
import { principalText } from './keytab.js';
import type { KerberosIdentity } from './pac-identity.js';

/** A service ticket opened with our key: its encrypted part, client, and the identity its PAC gives. */
export interface OpenedTicket {
  readonly part: EncTicketPart;
  /** The client principal, `alice@EXAMPLE.COM`. */
  readonly client: string;
  readonly identity: KerberosIdentity;
}

/** Bytes of ciphertext kept as keys, about a third of what the cache holds: ~2,700 tickets of 1 KB. */
const MAX_CIPHER_BYTES = 8 * 1024 * 1024;

/**
 * Tickets opened before, by their ciphertext. A client sends the same service ticket on every new
 * connection for the ticket's life (10 hours by default), each time with a new authenticator.
 * Opening it again (AES decryption, DER, the PAC's signature and NDR) gives the same answer, so it
 * is done once per ticket; what a logon brings that is new (the ticket's times against our clock,
 * the authenticator, channel bindings, the replay cache) is checked every time. Keyed by the exact
 * ciphertext and the service key it was opened with. A ticket that fails a check is never kept,
 * an entry leaves when its ticket expires, and the whole is bounded in bytes. The session keys of
 * the tickets kept stay in memory as long (as in a client's credential cache); the keytab that
 * opens them all is there anyway.
 */
export class OpenedTickets {
  readonly #cache = new LRUCache<string, OpenedTicket>({
    maxSize: MAX_CIPHER_BYTES,
    sizeCalculation: (_opened, key) => Math.max(1, key.length),
  });

  /** The ticket under `key` (ticketKey) as opened before, if it was. */
  get(key: string): OpenedTicket | undefined {
    return this.#cache.get(key);
  }

  /** Keeps `opened` (which passed every check) under `key` for `lifetimeMs`: until its ticket expires. */
  set(key: string, opened: OpenedTicket, lifetimeMs: number): void {
    if (lifetimeMs > 0) this.#cache.set(key, opened, { ttl: lifetimeMs });
  }
}

/**
 * A ticket's key in OpenedTickets: the service principal, the key it was sealed with, and the
 * exact ciphertext. Made once per logon (a copy of the ciphertext), for the lookup and, on a
 * miss, the entry.
 */
export function ticketKey({ encPart, sname, realm }: Ticket): string {
  // latin1: one character per byte, so the key costs a copy, not an encoding.
  return `${principalText(sname.components, realm)} ${encPart.etype} ${encPart.kvno ?? ''} ${encPart.cipher.toString('latin1')}`;
}
