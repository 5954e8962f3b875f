// The Kerberos replay cache on its own, with a clock of our own: entries last exactly the
// clock-skew window (twice the skew), are never evicted before, and a replay is told apart from
// a full cache in every backend (in process, a shared MemoryStore, a store like Redis).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ServiceUnavailableError } from '../../src/errors.js';
import { ReplayCache, type ReplayEntry } from '../../src/kerberos/replay-cache.js';
import { MemoryStore, type Store } from '../../src/store/store.js';

const SKEW = 300_000;

/** A distinct authenticator each call: random, as an AES ciphertext and its checksum are. */
function entry(client = 'alice@EXAMPLE.TEST'): ReplayEntry {
  return {
    client,
    server: 'HTTP/localhost@EXAMPLE.TEST',
    ctime: new Date(),
    cusec: 0,
    authenticatorCipher: randomBytes(64),
    authenticatorEtype: 18,
  };
}

const full = (error: unknown) =>
  error instanceof ServiceUnavailableError && error.code === 'ERR_KRB_REPLAY_CACHE_FULL';

/** A store with setIfAbsent and real TTLs on our clock, that never evicts (Redis with noeviction). */
function sharedStore(clock: { t: number }, options: { refuseWrites?: boolean } = {}): Store {
  const entries = new Map<string, number>();
  const live = (key: string) => (entries.get(key) ?? 0) > clock.t;
  return {
    get: async (key) => (live(key) ? '1' : undefined),
    set: async (key, _value, ttl) => void entries.set(key, clock.t + ttl * 1000),
    delete: async (key) => void entries.delete(key),
    setIfAbsent: async (key, _value, ttl) => {
      if (options.refuseWrites) throw new Error('OOM command not allowed when used memory > maxmemory');
      if (live(key)) return false;
      entries.set(key, clock.t + ttl * 1000);
      return true;
    },
  };
}

describe('Kerberos replay cache', () => {
  for (const backend of ['in process', 'a shared MemoryStore', 'a store like Redis'] as const) {
    it(`${backend}: full at the cap, a replay still found, entries gone after twice the skew`, async () => {
      const clock = { t: 1_000_000 };
      const store =
        backend === 'in process'
          ? undefined
          : backend === 'a shared MemoryStore'
            ? new MemoryStore()
            : sharedStore(clock);
      const cache = new ReplayCache({ store, maxClockSkewMs: SKEW, maxEntries: 3, now: () => clock.t });
      const bob = entry('bob@EXAMPLE.TEST');
      assert.equal(await cache.admit(bob), 'first');
      assert.equal(await cache.admit(bob), 'replay');
      assert.equal(await cache.admit(entry()), 'first');
      assert.equal(await cache.admit(entry()), 'first');
      await assert.rejects(async () => cache.admit(entry()), full);
      assert.equal(await cache.admit(bob), 'replay', 'a replay is looked up before the capacity');
      clock.t += 2 * SKEW - 1;
      assert.equal(await cache.admit(bob), 'replay', 'still inside the window');
      await assert.rejects(async () => cache.admit(entry()), full);
      clock.t += 1;
      // Past the window the acceptor's skew check refuses bob's authenticator; the cache has room again.
      assert.equal(await cache.admit(entry()), 'first');
    });
  }

  it('answers at once from the table in this process, and as a promise from a shared store', async () => {
    const clock = { t: 1_000_000 };
    const local = new ReplayCache({
      store: undefined,
      maxClockSkewMs: SKEW,
      maxEntries: 1,
      now: () => clock.t,
    });
    const token = entry();
    assert.equal(local.admit(token), 'first');
    assert.equal(local.admit(token), 'replay');
    assert.throws(() => local.admit(entry()), full, 'a refusal is thrown there');
    const shared = new ReplayCache({
      store: sharedStore(clock),
      maxClockSkewMs: SKEW,
      maxEntries: 1,
      now: () => clock.t,
    });
    const answer = shared.admit(token);
    assert.ok(answer instanceof Promise);
    assert.equal(await answer, 'first');
  });

  it('acceptors sharing one MemoryStore share the table: a replay to the other is caught', async () => {
    const store = new MemoryStore();
    const options = { store, maxClockSkewMs: SKEW, maxEntries: 10, now: () => 0 };
    const [one, two] = [new ReplayCache(options), new ReplayCache(options)];
    const token = entry();
    assert.equal(await one.admit(token), 'first');
    assert.equal(await two.admit(token), 'replay');
  });

  it('a store refusing writes (Redis at maxmemory): a replay is still 401, a new logon 503', async () => {
    const clock = { t: 0 };
    const store = sharedStore(clock);
    const token = entry();
    await new ReplayCache({ store, maxClockSkewMs: SKEW, maxEntries: 10, now: () => clock.t }).admit(token);
    const refusing = { ...store, setIfAbsent: sharedStore(clock, { refuseWrites: true }).setIfAbsent };
    const cache = new ReplayCache({
      store: refusing,
      maxClockSkewMs: SKEW,
      maxEntries: 10,
      now: () => clock.t,
    });
    assert.equal(await cache.admit(token), 'replay');
    await assert.rejects(
      async () => cache.admit(entry()),
      (error: unknown) =>
        error instanceof ServiceUnavailableError && error.code === 'ERR_NTLM_STORE_UNAVAILABLE',
    );
  });

  it("the review's flood: 100,001 fresh authenticators after bob's, and bob's is still a replay", async () => {
    const cache = new ReplayCache({
      store: undefined,
      maxClockSkewMs: SKEW,
      maxEntries: 100_002,
      now: () => 0,
    });
    const bob = entry('bob@EXAMPLE.TEST');
    assert.equal(await cache.admit(bob), 'first');
    for (let i = 0; i < 100_001; i++) assert.equal(await cache.admit(entry()), 'first');
    assert.equal(await cache.admit(bob), 'replay');
    await assert.rejects(async () => cache.admit(entry()), full);
  });
  for (const backend of ['in process', 'a store like Redis'] as const) {
    it(`${backend}: one principal flooding fills its own share only; its replays stay replays, others log on`, async () => {
      const clock = { t: 1_000_000 };
      const store = backend === 'in process' ? undefined : sharedStore(clock);
      const cache = new ReplayCache({
        store,
        maxClockSkewMs: SKEW,
        maxEntries: 10,
        maxEntriesPerClient: 3,
        now: () => clock.t,
      });
      const first = entry();
      const verdicts: string[] = [];
      for (const next of [first, entry(), entry(), entry(), entry()]) {
        verdicts.push(
          await (async () => cache.admit(next))().catch(
            (error: unknown) => (error as ServiceUnavailableError).code,
          ),
        );
      }
      assert.deepEqual(verdicts, [
        'first',
        'first',
        'first',
        'ERR_KRB_REPLAY_SHARE_FULL',
        'ERR_KRB_REPLAY_SHARE_FULL',
      ]);
      assert.equal(
        await cache.admit(first),
        'replay',
        "alice's replay is still told apart while her share is full",
      );
      assert.equal(await cache.admit(entry('bob@EXAMPLE.TEST')), 'first', 'bob logs on meanwhile');
      clock.t += 2 * SKEW + 1000;
      assert.equal(await cache.admit(entry()), 'first', 'her share is free again once her entries expire');
    });
  }
});

describe('the replay key in a shared store', () => {
  it('is what every version has written: SHA-256 of client, server, ctime, cusec, then the ciphertext (mixed versions share one Redis)', async () => {
    const keys: string[] = [];
    const recording: Store = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      setIfAbsent: async (key) => {
        keys.push(key);
        return true;
      },
    };
    const cache = new ReplayCache({ store: recording, maxClockSkewMs: SKEW, maxEntries: 10, now: () => 0 });
    const authenticator: ReplayEntry = {
      client: 'jürgen@EXAMPLE.TEST',
      server: 'HTTP/web01.example.test@EXAMPLE.TEST',
      ctime: new Date('2026-11-23T13:10:59Z'),
      cusec: 763_836,
      authenticatorCipher: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      authenticatorEtype: 18,
    };
    assert.equal(await cache.admit(authenticator), 'first');
    // The fixed value guards the format; the streaming hash is how the first versions made it.
    const streamed = createHash('sha256')
      .update(
        `${authenticator.client}\0${authenticator.server}\0${authenticator.ctime.getTime()}\0${authenticator.cusec}\0`,
      )
      .update(authenticator.authenticatorCipher)
      .digest('base64url');
    assert.deepEqual(keys, [`krb-replay:${streamed}`]);
    assert.equal(keys[0], 'krb-replay:MXuNQMVLxVqaV20d1erNCYE1GJRZiRPrQzTztSF4acU');
  });
});

describe('the replay key in this process', () => {
  const cache = () =>
    new ReplayCache({ store: undefined, maxClockSkewMs: SKEW, maxEntries: 10, now: () => 0 });
  const withCipher = (authenticatorCipher: Buffer, authenticatorEtype: number): ReplayEntry => ({
    ...entry(),
    ctime: new Date('2026-11-23T13:10:59Z'),
    authenticatorCipher,
    authenticatorEtype,
  });

  it("is the authenticator's checksum: AES's last 12 bytes, rc4-hmac's first 16", () => {
    const aes = randomBytes(80);
    const sameChecksum = Buffer.concat([randomBytes(68), aes.subarray(68)]);
    const otherChecksum = Buffer.concat([aes.subarray(0, 79), Buffer.from([aes[79]! ^ 1])]);
    const forAes = cache();
    assert.equal(forAes.admit(withCipher(aes, 18)), 'first');
    assert.equal(forAes.admit(withCipher(otherChecksum, 18)), 'first');
    assert.equal(forAes.admit(withCipher(sameChecksum, 17)), 'replay');

    const rc4 = randomBytes(80);
    const forRc4 = cache();
    assert.equal(forRc4.admit(withCipher(rc4, 23)), 'first');
    assert.equal(
      forRc4.admit(withCipher(Buffer.concat([rc4.subarray(0, 16), randomBytes(64)]), 23)),
      'replay',
    );
    assert.equal(forRc4.admit(withCipher(Buffer.concat([randomBytes(16), rc4.subarray(16)]), 23)), 'first');
  });

  it('falls back to a digest of the whole entry for any other enctype', () => {
    const cipher = randomBytes(80);
    const table = cache();
    assert.equal(table.admit(withCipher(cipher, 3)), 'first');
    assert.equal(table.admit(withCipher(Buffer.concat([randomBytes(68), cipher.subarray(68)]), 3)), 'first');
    assert.equal(table.admit({ ...withCipher(cipher, 3), client: 'bob@EXAMPLE.TEST' }), 'first');
    assert.equal(table.admit(withCipher(cipher, 3)), 'replay');
  });
});
