import { LRUCache } from 'lru-cache';
import { ownBytes } from '../own-copy.js';
import type { Ticket } from './ap-req.js';
import type { EncTicketPart } from './enc-ticket-part.js';
import type { EncryptionKey } from './enctypes.js';
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
 * What an entry costs besides its copy of the ticket's ciphertext, measured with 3,000
 * tickets: ~5 KB of heap (the kept part, the identity, the session key's derived keys and MACs)
 * and ~2 KB of native memory (the session key's three kept AES contexts, aes-sha1.ts). Since
 * then an entry also keeps the NtlmIdentity made from its identity once (mechanisms/negotiate.ts),
 * a few hundred bytes that share its strings and group array.
 */
const ENTRY_BYTES = 8 * 1024;
/** And per group in the identity: a SID string of the heap (~60–80 bytes), against 8 of ciphertext. */
const GROUP_BYTES = 80;
/** About 3,500 tickets of 1 KB: the users who logged on with Kerberos within a ticket's life. */
const MAX_BYTES = 32 * 1024 * 1024;

/** An entry: the ticket's exact ciphertext and the service key that opened it, with what it gave. */
interface Entry {
  readonly cipher: Buffer;
  readonly serviceKey: EncryptionKey;
  readonly opened: OpenedTicket;
}

/** Bytes of a ticket's ciphertext that name its entry: for AES, the HMAC's 12 and 4 before them. */
const TAG_BYTES = 16;

/**
 * Tickets opened before, by their ciphertext. A client sends the same service ticket on every new
 * connection for the ticket's life (10 hours by default), each time with a new authenticator.
 * Opening it again (AES decryption, DER, the PAC's signature and NDR) gives the same answer, so it
 * is done once per ticket; what a logon brings that is new (the ticket's times against our clock,
 * the authenticator, channel bindings, the replay cache) is checked every time.
 *
 * An entry is found by the ciphertext's last 16 bytes (its integrity tag for AES, the RC4 stream's
 * end for rc4-hmac: random for every ticket the KDC seals) and is used only when the whole
 * ciphertext and the service key are the same as when it was opened. A key made of the whole
 * ciphertext cost a 1 KB string per logon, hashed by the table. A ticket that matches a tag but
 * not the rest is opened as a new one, and fails there unless it is a ticket of ours.
 *
 * A ticket that fails a check is never kept, an entry leaves when its ticket expires, and the whole
 * is bounded in bytes (the least recently used goes first). The session keys of the tickets kept
 * stay in memory as long (as in a client's credential cache); the keytab that opens them all is
 * there anyway.
 */
export class OpenedTickets {
  readonly #cache = new LRUCache<string, Entry>({
    maxSize: MAX_BYTES,
    sizeCalculation: ({ cipher, opened }) =>
      cipher.length + ENTRY_BYTES + GROUP_BYTES * opened.identity.groupSids.length,
  });

  /** The ticket as opened before with `serviceKey`, if it was. */
  get(ticket: Ticket, serviceKey: EncryptionKey): OpenedTicket | undefined {
    const { cipher } = ticket.encPart;
    const tag = tagOf(cipher);
    // peek: a ticket that only shares the tag must not keep the entry from its turn to go.
    const entry = this.#cache.peek(tag);
    if (!entry || entry.serviceKey !== serviceKey || !entry.cipher.equals(cipher)) return undefined;
    this.#cache.get(tag);
    return entry.opened;
  }

  /**
   * Keeps `opened` (which passed every check) for `lifetimeMs`: until its ticket expires. It
   * replaces an entry under the same tag: one of ours, or a ticket that opened too.
   */
  set(ticket: Ticket, serviceKey: EncryptionKey, opened: OpenedTicket, lifetimeMs: number): void {
    const { cipher } = ticket.encPart;
    if (lifetimeMs > 0)
      this.#cache.set(tagOf(cipher), { cipher: ownBytes(cipher), serviceKey, opened }, { ttl: lifetimeMs });
  }
}

/** latin1: one character per byte, so the tag costs a 16-byte copy, not an encoding. */
function tagOf(cipher: Buffer): string {
  return cipher.toString('latin1', Math.max(0, cipher.length - TAG_BYTES));
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
