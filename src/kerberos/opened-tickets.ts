import { LRUCache } from 'lru-cache';
import { ownBytes } from '../own-copy.js';
import type { Ticket } from './ap-req.js';
import type { EncTicketPart } from './enc-ticket-part.js';
import { principalText } from './keytab.js';
import type { KerberosIdentity } from './pac-identity.js';

/** What a logon reads of its ticket once it is open: the PAC and the rest are not kept. */
export type TicketPart = Pick<
  EncTicketPart,
  'flags' | 'key' | 'crealm' | 'cname' | 'authtime' | 'starttime' | 'endtime'
>;

/** A service ticket opened with our key: what later logons read of it, its client, and the identity its PAC gives. */
export interface OpenedTicket {
  readonly part: TicketPart;
  /** The client principal, `alice@EXAMPLE.COM`. */
  readonly client: string;
  readonly identity: KerberosIdentity;
}

/**
 * What an entry costs besides its key (a copy of the ticket's ciphertext), measured with 3,000
 * tickets: ~5 KB of heap (the kept part, the identity, the session key's derived keys and MACs)
 * and ~2 KB of native memory (the session key's three kept AES contexts, aes-sha1.ts).
 */
const ENTRY_BYTES = 8 * 1024;
/** And per group in the identity: a SID string of the heap (~60–80 bytes), against 8 of ciphertext. */
const GROUP_BYTES = 80;
/** About 3,500 tickets of 1 KB: the users who logged on with Kerberos within a ticket's life. */
const MAX_BYTES = 32 * 1024 * 1024;

/**
 * Tickets opened before, by their ciphertext. A client sends the same service ticket on every new
 * connection for the ticket's life (10 hours by default), each time with a new authenticator.
 * Opening it again (AES decryption, DER, the PAC's signature and NDR) gives the same answer, so it
 * is done once per ticket; what a logon brings that is new (the ticket's times against our clock,
 * the authenticator, channel bindings, the replay cache) is checked every time. Keyed by the exact
 * ciphertext and the service key it was opened with. A ticket that fails a check is never kept,
 * an entry leaves when its ticket expires, and the whole is bounded in bytes (the least recently
 * used goes first). The session keys of the tickets kept stay in memory as long (as in a client's
 * credential cache); the keytab that opens them all is there anyway.
 */
export class OpenedTickets {
  readonly #cache = new LRUCache<string, OpenedTicket>({
    maxSize: MAX_BYTES,
    sizeCalculation: (opened, key) =>
      key.length + ENTRY_BYTES + GROUP_BYTES * opened.identity.groupSids.length,
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
 * The part of a ticket an entry keeps, copied out of the decrypted ticket. The decoder's Buffers
 * are views, and small Buffers share Node's 8 KB allocation pool: one view kept for the ticket's
 * life held every slab it touched: 8.5 KB of external memory per cached ticket, 0.1 KB with
 * copies (and with aes-sha1.ts keeping derived keys of their own as well).
 */
export function keptPart(part: EncTicketPart): TicketPart {
  return {
    flags: ownBytes(part.flags),
    key: { etype: part.key.etype, value: ownBytes(part.key.value) },
    crealm: part.crealm,
    cname: part.cname,
    authtime: part.authtime,
    starttime: part.starttime,
    endtime: part.endtime,
  };
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
