import { hash } from 'node:crypto';
import { ConfigurationError, ServiceUnavailableError } from '../errors.js';
import { MemoryStore, type Store } from '../store/store.js';
import { ciphertextMac } from './enctypes.js';

export interface ReplayEntry {
  readonly client: string;
  readonly server: string;
  readonly ctime: Date;
  readonly cusec: number;
  /** The encrypted authenticator as sent, with its enctype (which says where its checksum is). */
  readonly authenticatorCipher: Buffer;
  readonly authenticatorEtype: number;
}

export type ReplayVerdict = 'first' | 'replay';

export interface ReplayCacheOptions {
  readonly store: Store | undefined;
  readonly maxClockSkewMs: number;
  readonly maxEntries: number;
  /** Entries one client principal may hold of them (a user flooding fills only this share). @default maxEntries */
  readonly maxEntriesPerClient?: number;
  /** The acceptor's clock, ms since the epoch. */
  readonly now: () => number;
}

/**
 * The replay cache (RFC 4120 3.2.3): an authenticator is accepted once, told by its ciphertext,
 * not by client and ctime (as MIT since 1.18: two distinct authenticators in the same microsecond
 * are not a replay). An entry lives as long as its authenticator could pass the clock-skew check:
 * twice the skew.
 *
 * The key:
 * - in this process, the authenticator's integrity checksum (its HMAC, as MIT's
 *   k5_rc_tag_from_ciphertext takes it): unique to each authenticator, made by no one without the
 *   session key, and checked before the cache is asked. Nothing to hash per logon;
 * - in a shared store, a SHA-256 of client, server, ctime, cusec and the whole ciphertext: the
 *   name every version has written, so that instances of mixed versions (a rolling upgrade) see
 *   each other's entries.
 *
 * An entry is never dropped before then (an LRU could be flushed by a flood of fresh
 * authenticators, and a captured AP-REQ would be accepted again). When `maxEntries` are held,
 * new logons get 503 until entries expire; a replay is looked up first, so it gets 401 even then.
 * One client principal holds at most `maxEntriesPerClient` of them: a user (or one stolen
 * account) flooding fresh authenticators gets 503 for its own new logons and leaves the rest of
 * the cache to everyone else.
 *
 * Where the entries live:
 * - no store, or a MemoryStore: an in-process table (one per MemoryStore, so acceptors sharing
 *   one share it), which never evicts;
 * - any other store (RedisStore): the store, through its atomic `setIfAbsent`, so a token
 *   replayed to another instance is refused too; this process counts what it put there.
 */
export class ReplayCache {
  readonly #backend: ReplayBackend;
  readonly #lifetimeMs: number;
  readonly #maxEntries: number;
  readonly #shares: ClientShares;
  readonly #now: () => number;

  constructor(options: ReplayCacheOptions) {
    const { store } = options;
    this.#lifetimeMs = 2 * options.maxClockSkewMs;
    this.#maxEntries = options.maxEntries;
    this.#shares = new ClientShares(options.maxEntriesPerClient ?? options.maxEntries);
    this.#now = options.now;
    if (store === undefined) this.#backend = new InProcessBackend(new SeenTable());
    else if (store instanceof MemoryStore) this.#backend = new InProcessBackend(tableOf(store));
    else if (typeof store.setIfAbsent === 'function') {
      this.#backend = new StoreBackend(store as Store & Required<Pick<Store, 'setIfAbsent'>>);
    } else {
      throw new ConfigurationError(
        'kerberosAcceptor(): replayStore must implement setIfAbsent (an atomic set-if-absent); MemoryStore and RedisStore do',
      );
    }
  }

  /**
   * 'first' the first time this authenticator is seen (now recorded), 'replay' after; 503 when
   * full. Answered at once from the in-process table (no promise: a Kerberos logon waits on
   * nothing else), and as a promise from a shared store; a refusal is thrown or rejected alike.
   */
  admit(entry: ReplayEntry): ReplayVerdict | Promise<ReplayVerdict> {
    const now = this.#now();
    const expiresAt = now + this.#lifetimeMs;
    const refusal = (held: number) =>
      held >= this.#maxEntries
        ? cacheFull(this.#maxEntries)
        : this.#shares.full(entry.client, now)
          ? shareFull(this.#shares.max)
          : undefined;
    let answer: ReplayVerdict | Promise<ReplayVerdict>;
    try {
      answer = this.#backend.admit(entry, now, expiresAt, refusal);
    } catch (error) {
      throw unavailable(error);
    }
    if (typeof answer === 'string') return this.#counted(answer, entry.client, expiresAt);
    return answer.then(
      (verdict) => this.#counted(verdict, entry.client, expiresAt),
      (error: unknown) => {
        throw unavailable(error);
      },
    );
  }

  #counted(verdict: ReplayVerdict, client: string, expiresAt: number): ReplayVerdict {
    if (verdict === 'first') this.#shares.add(client, expiresAt);
    return verdict;
  }
}

/** Without the cache we cannot tell a replay from a first use: refuse to decide. */
function unavailable(error: unknown): ServiceUnavailableError {
  if (error instanceof ServiceUnavailableError) return error;
  return new ServiceUnavailableError('ERR_NTLM_STORE_UNAVAILABLE', 'Kerberos replay cache unavailable', {
    cause: error,
  });
}

/** The shared store's key. One-shot: a Hash object per logon cost more than the hashing (bench/analysis.md). */
function replayDigest(entry: ReplayEntry): Buffer {
  const fields = `${entry.client}\0${entry.server}\0${entry.ctime.getTime()}\0${entry.cusec}\0`;
  return hash('sha256', Buffer.concat([Buffer.from(fields), entry.authenticatorCipher]), 'buffer');
}

/**
 * The in-process key: the authenticator's checksum (ciphertextMac), as a one-byte string (12
 * characters for AES). An enctype without one (the acceptor takes none) falls back to the first
 * 128 bits of the digest.
 */
function replayTag(entry: ReplayEntry): string {
  const mac = ciphertextMac(entry.authenticatorEtype, entry.authenticatorCipher);
  return mac ? mac.toString('latin1') : replayDigest(entry).toString('base64url', 0, 16);
}

function cacheFull(maxEntries: number): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_KRB_REPLAY_CACHE_FULL',
    `Kerberos replay cache full (${maxEntries} authenticators inside the clock-skew window): new Kerberos logons are refused until entries expire, rather than forgetting one (see kerberos.maxReplayEntries)`,
    { retryAfterSeconds: 1 },
  );
}

function shareFull(maxPerClient: number): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'ERR_KRB_REPLAY_SHARE_FULL',
    `this client principal holds ${maxPerClient} authenticators inside the clock-skew window: its new Kerberos logons are refused until some expire (see kerberos.maxReplayEntriesPerClient)`,
    { retryAfterSeconds: 1 },
  );
}

/** Why a new entry may not be added, given how many are held; undefined when it may. */
type Refusal = (held: number) => ServiceUnavailableError | undefined;

interface ReplayBackend {
  admit(
    entry: ReplayEntry,
    now: number,
    expiresAt: number,
    refusal: Refusal,
  ): ReplayVerdict | Promise<ReplayVerdict>;
}

/**
 * How many live entries each client principal added through this cache. Entries expire in the
 * order they were added (one lifetime), so a queue of (expiry, client) tells, from its front,
 * whose count to lower: pruning costs what it removes, and a client with none left is forgotten.
 */
class ClientShares {
  readonly #counts = new Map<string, number>();
  #expiries: number[] = [];
  #clients: string[] = [];
  #head = 0;

  constructor(readonly max: number) {}

  full(client: string, now: number): boolean {
    this.#prune(now);
    return (this.#counts.get(client) ?? 0) >= this.max;
  }

  add(client: string, expiresAt: number): void {
    this.#counts.set(client, (this.#counts.get(client) ?? 0) + 1);
    this.#expiries.push(expiresAt);
    this.#clients.push(client);
  }

  #prune(now: number): void {
    while (this.#head < this.#expiries.length && this.#expiries[this.#head]! <= now) {
      const client = this.#clients[this.#head]!;
      const left = this.#counts.get(client)! - 1;
      if (left === 0) this.#counts.delete(client);
      else this.#counts.set(client, left);
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#expiries.length) {
      this.#expiries = this.#expiries.slice(this.#head);
      this.#clients = this.#clients.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * Seen keys and when each may be forgotten, in insertion order. With one lifetime that is also
 * expiry order, so the expired ones are always at the front: pruning costs only what it removes.
 *
 * Compact, since it may hold hundreds of thousands: the key is the authenticator's checksum (96
 * bits for AES, 12 characters; a chance collision among 500,000 entries is 2^-59 likely, and a
 * client can collide only with its own), the expiry a small integer of seconds (rounded up: an
 * entry may live up to a second longer, never shorter).
 */
class SeenTable {
  readonly #expiries = new Map<string, number>();

  get size(): number {
    return this.#expiries.size;
  }

  /** Seen and not yet expired. */
  has(key: string, now: number): boolean {
    const expiresAt = this.#expiries.get(key);
    return expiresAt !== undefined && expiresAt > seconds(now);
  }

  add(key: string, expiresAt: number): void {
    this.#expiries.delete(key); // an expired entry of the same key goes to the back
    this.#expiries.set(key, Math.ceil(seconds(expiresAt)));
  }

  /** Forgets the expired entries at the front (acceptors sharing a table may differ in lifetime). */
  prune(now: number): void {
    const t = seconds(now);
    for (const [key, expiresAt] of this.#expiries) {
      if (expiresAt > t) return;
      this.#expiries.delete(key);
    }
  }
}

/** Seconds since 2023-11-14 (1.7e9 s after the epoch): small integers V8 stores unboxed until 2057. */
function seconds(ms: number): number {
  return ms / 1000 - 1_700_000_000;
}

const tables = new WeakMap<MemoryStore, SeenTable>();

function tableOf(store: MemoryStore): SeenTable {
  let table = tables.get(store);
  if (!table) {
    table = new SeenTable();
    tables.set(store, table);
  }
  return table;
}

class InProcessBackend implements ReplayBackend {
  constructor(private readonly table: SeenTable) {}

  admit(entry: ReplayEntry, now: number, expiresAt: number, refusal: Refusal): ReplayVerdict {
    const key = replayTag(entry);
    this.table.prune(now);
    // The replay first: a captured AP-REQ gets 401 even while the cache is full.
    if (this.table.has(key, now)) return 'replay';
    const refused = refusal(this.table.size);
    if (refused) throw refused;
    this.table.add(key, expiresAt);
    return 'first';
  }
}

/** A shared store: the store decides first use atomically; this process bounds what it adds. */
class StoreBackend implements ReplayBackend {
  /** When each entry this process added expires, oldest first (a queue: head index + array). */
  #expiries: number[] = [];
  #head = 0;

  constructor(private readonly store: Store & Required<Pick<Store, 'setIfAbsent'>>) {}

  async admit(entry: ReplayEntry, now: number, expiresAt: number, refusal: Refusal): Promise<ReplayVerdict> {
    // The whole hash, under the name every version has used: instances of mixed versions agree.
    const key = `krb-replay:${replayDigest(entry).toString('base64url')}`;
    const refused = refusal(this.#held(now));
    if (refused) {
      if ((await this.store.get(key)) !== undefined) return 'replay';
      throw refused;
    }
    const ttlSeconds = Math.ceil((expiresAt - now) / 1000);
    let first: boolean;
    try {
      first = await this.store.setIfAbsent(key, '1', ttlSeconds);
    } catch (error) {
      // A store refusing writes (Redis at maxmemory with noeviction) may still answer a read:
      // a replay stays a 401 there too.
      if ((await this.store.get(key).catch(() => undefined)) !== undefined) return 'replay';
      throw error;
    }
    if (!first) return 'replay';
    this.#expiries.push(expiresAt);
    return 'first';
  }

  #held(now: number): number {
    while (this.#head < this.#expiries.length && this.#expiries[this.#head]! <= now) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#expiries.length) {
      this.#expiries = this.#expiries.slice(this.#head);
      this.#head = 0;
    }
    return this.#expiries.length - this.#head;
  }
}
