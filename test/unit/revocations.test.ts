// Issue 14, defect 3: a revoked token must stay revoked until it expires, however many
// revocations follow, in bounded memory. Issue 18, item 6: and one user's logouts cost only that
// user's own tokens, never those of a user who did not log out.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BearerTokens } from '../../src/session/bearer-tokens.js';
import { REVOCATIONS_PER_USER, RevocationList } from '../../src/session/revocation-list.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { MemoryStore } from '../../src/store/store.js';
import type { Store } from '../../src/types.js';
import { redisMissing, startRedis } from '../helpers/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const identity = (username: string) => ({ username, domain: 'EXAMPLE', workstation: '' });
const missingRedis = await redisMissing();
if (missingRedis && process.env.CI) throw new Error(`CI needs Redis: ${missingRedis}`);

/** `cycles` logons and logouts by alice on `tokens`; her revoked tokens, and how many worked until their logout. */
async function aliceLogsOnAndOff(tokens: BearerTokens, cycles: number) {
  const revoked: string[] = [];
  let accepted = 0;
  for (let i = 0; i < cycles; i++) {
    const alice = await tokens.issue(identity('alice'));
    if (await tokens.verify(alice.token)) accepted++;
    await tokens.revoke(alice.tokenId, alice.expiresAt, identity('alice'));
    revoked.push(alice.token);
  }
  return { revoked, accepted };
}

/** How many of `tokens` `verifier` still accepts. */
async function stillAccepted(verifier: BearerTokens, tokens: string[]): Promise<number> {
  let count = 0;
  for (const token of tokens) if (await verifier.verify(token)) count++;
  return count;
}

describe('revocations', () => {
  it("bob's revoked token stays revoked after 101,000 logon+logout cycles by alice; memory stays bounded", async () => {
    const tokens = new BearerTokens({ secret: SECRET }, undefined);
    const bob = await tokens.issue(identity('bob'));
    await tokens.revoke(bob.tokenId, bob.expiresAt, identity('bob'));
    const dave = await tokens.issue(identity('dave'));
    const { revoked, accepted } = await aliceLogsOnAndOff(tokens, 101_000);
    // Past her own cap, her fresh tokens expiring in the same second as her oldest dropped
    // revocation are refused too: hers, nobody else's, pay.
    assert.ok(accepted >= REVOCATIONS_PER_USER, `${accepted}: her first tokens worked until their logout`);
    assert.equal(await tokens.verify(bob.token), undefined, "bob's revoked token came back");
    assert.equal((await tokens.verify(dave.token))?.identity.username, 'dave', 'dave never logged out');
    assert.equal(await stillAccepted(tokens, revoked), 0, "one of alice's revoked tokens came back");
    const later = await tokens.issue(identity('carol'));
    assert.equal(
      (await tokens.verify(later.token))?.identity.username,
      'carol',
      'a token issued later still works',
    );
  });

  describe("one user's logouts cost only that user's tokens", () => {
    let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
    const stores: Store[] = [];
    before(async () => {
      if (!missingRedis) redis = await startRedis();
    });
    after(async () => {
      for (const store of stores) await store.close?.();
      await redis?.stop();
    });

    /** Two instances with one key and `store`: alice floods the first, the second checks too. */
    const cases: [string, () => Store | undefined][] = [
      ['no shared store', () => undefined],
      ['a MemoryStore', () => new MemoryStore()],
      ['Redis, seen from a second instance too', () => new RedisStore({ redis: redis!.url })],
    ];
    for (const [name, makeStore] of cases) {
      it(`${name}: bob's never-revoked token stays accepted through 1,500 logon+logout cycles by alice (above every cap); hers stay refused`, {
        skip: name.startsWith('Redis') && missingRedis ? missingRedis : false,
      }, async (t) => {
        const store = makeStore();
        if (store) stores.push(store);
        // A small overall cap, so that the flood passes it as well as alice's own cap.
        const options = { secret: SECRET, maxRevocations: 500 };
        const first = new BearerTokens(options, store);
        const second = new BearerTokens(options, store);
        const bob = await first.issue(identity('bob'));
        const { revoked, accepted } = await aliceLogsOnAndOff(first, 1_500);
        const bobSeen = [await first.verify(bob.token), store ? await second.verify(bob.token) : undefined];
        const aliceBack = await stillAccepted(first, revoked);
        t.diagnostic(
          `alice: ${accepted} of 1,500 accepted until logout, ${aliceBack} accepted after; ` +
            `bob: ${bobSeen[0] ? 'accepted' : 'refused'}`,
        );
        assert.ok(accepted >= REVOCATIONS_PER_USER, `${accepted}`);
        assert.equal(bobSeen[0]?.identity.username, 'bob', "bob's token was refused for alice's logouts");
        assert.equal(aliceBack, 0, "one of alice's revoked tokens came back");
        if (store instanceof RedisStore) {
          // The other instance holds none of these revocations itself: it asks Redis.
          assert.equal(bobSeen[1]?.identity.username, 'bob');
          assert.equal(await stillAccepted(second, revoked), 0);
        }
        first.close();
        second.close();
      });
    }
  });

  it('a user beyond their own cap raises only their own watermark: their older tokens pay, nobody else’s', () => {
    const list = new RevocationList(1000, 3);
    const now = 1_000_000;
    list.add('bob', 'bob-1', now + 5_000, now);
    for (let i = 1; i <= 4; i++) list.add('alice', `alice-${i}`, now + i * 10_000, now);
    assert.equal(list.size, 4, "alice's own three, and bob's one");
    assert.equal(list.refusedUpTo('alice'), now + 10_000, 'her oldest revocation became her watermark');
    assert.equal(list.refusedUpTo('bob'), 0);
    assert.ok(list.isRevoked('alice', 'alice-1', now + 10_000), 'the dropped revocation still holds');
    assert.ok(list.isRevoked('alice', 'alice-other', now + 5_000), "an older token of alice's pays");
    assert.ok(!list.isRevoked('alice', 'alice-other', now + 15_000), 'a newer one does not');
    assert.ok(!list.isRevoked('carol', 'carol-1', now + 5_000), 'carol, who never logged out, does not');
    assert.ok(list.isRevoked('bob', 'bob-1', now + 5_000));
    assert.ok(list.isRevoked('alice', 'alice-4', now + 40_000));
  });

  it("the overall cap drops the oldest revocation to its own user's watermark", () => {
    const list = new RevocationList(3, 3);
    const now = 1_000_000;
    list.add('bob', 'bob-1', now + 10_000, now);
    list.add('alice', 'alice-1', now + 20_000, now);
    list.add('alice', 'alice-2', now + 30_000, now);
    list.add('alice', 'alice-3', now + 40_000, now);
    assert.equal(list.size, 3);
    assert.equal(list.refusedUpTo('bob'), now + 10_000, "bob's revocation was the oldest: his watermark");
    assert.ok(list.isRevoked('bob', 'bob-1', now + 10_000));
    assert.ok(!list.isRevoked('carol', 'carol-1', now + 10_000), 'nobody else pays');
    assert.ok(!list.isRevoked('alice', 'alice-0', now + 10_000));
  });

  it('expired revocations make room before anything is dropped', () => {
    const list = new RevocationList(2);
    list.add('alice', 'a', 1_000, 0);
    list.add('bob', 'b', 2_000, 0);
    list.add('carol', 'c', 50_000, 10_000);
    assert.equal(list.refusedUpTo('alice') + list.refusedUpTo('bob'), 0, 'nothing live was dropped');
    assert.equal(list.size, 1, 'the expired revocations were dropped, not a live one');
    assert.ok(list.isRevoked('carol', 'c', 50_000));
  });

  it('watermarks are bounded too: passed ones go first; beyond maxEntries users the lowest becomes a floor', () => {
    const list = new RevocationList(2, 1);
    const now = 1_000_000;
    // Each user's second revocation pushes their first to a watermark of their own.
    const overflow = (user: string, base: number, at = now) => {
      list.add(user, `${user}-1`, base, at);
      list.add(user, `${user}-2`, base + 1_000, at);
    };
    overflow('u1', now + 10_000);
    overflow('u2', now + 20_000);
    assert.equal(list.watermarkCount, 2);
    // Later, u1's watermark has passed: it makes room, and no floor rises.
    overflow('u3', now + 60_000, now + 15_000);
    assert.equal(list.watermarkCount, 2);
    assert.ok(!list.isRevoked('never', 'x', now + 20_000), 'no floor yet');
    // A third live watermark: u2's, the lowest, becomes everyone's floor.
    overflow('u4', now + 70_000, now + 15_000);
    assert.equal(list.watermarkCount, 2);
    assert.ok(list.isRevoked('u2', 'u2-1', now + 20_000), "u2's revocation still holds");
    assert.ok(list.isRevoked('never', 'x', now + 20_000), 'only then does a token expiring before it pay');
    assert.ok(!list.isRevoked('never', 'x', now + 25_000));
  });
});
