// Issue 14, defect 3: a revoked token must stay revoked until it expires, however many
// revocations follow, in bounded memory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BearerTokens } from '../../src/session/bearer-tokens.js';
import { RevocationList } from '../../src/session/revocation-list.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const identity = (username: string) => ({ username, domain: 'EXAMPLE', workstation: '' });

describe('revocations', () => {
  it("bob's revoked token stays revoked after 101,000 logon+logout cycles by alice; memory stays bounded", async () => {
    const tokens = new BearerTokens({ secret: SECRET }, undefined);
    const bob = await tokens.issue(identity('bob'));
    await tokens.revoke(bob.tokenId, bob.expiresAt);
    let aliceAccepted = 0;
    for (let i = 0; i < 101_000; i++) {
      const alice = await tokens.issue(identity('alice'));
      if (await tokens.verify(alice.token)) aliceAccepted++;
      await tokens.revoke(alice.tokenId, alice.expiresAt);
    }
    assert.equal(aliceAccepted, 101_000, 'each fresh token worked until its logout');
    assert.equal(await tokens.verify(bob.token), undefined, "bob's revoked token came back");
    const later = await tokens.issue(identity('carol'));
    assert.equal(
      (await tokens.verify(later.token))?.identity.username,
      'carol',
      'a token issued later still works',
    );
  });

  it('the list never holds more than maxEntries; the oldest revocation raises the watermark', () => {
    const list = new RevocationList(3);
    const now = 1_000_000;
    list.add('a', now + 10_000, now);
    list.add('b', now + 20_000, now);
    list.add('c', now + 30_000, now);
    list.add('d', now + 40_000, now);
    assert.equal(list.size, 3);
    assert.equal(list.refusedUpTo, now + 10_000);
    assert.ok(list.isRevoked('a', now + 10_000), 'the dropped revocation still holds');
    assert.ok(list.isRevoked('unrelated', now + 5_000), 'an older token is refused with it');
    assert.ok(!list.isRevoked('unrelated', now + 15_000), 'a newer one is not');
    assert.ok(list.isRevoked('d', now + 40_000));
  });

  it('expired revocations make room before anything is dropped', () => {
    const list = new RevocationList(2);
    list.add('a', 1_000, 0);
    list.add('b', 2_000, 0);
    list.add('c', 50_000, 10_000);
    assert.equal(list.refusedUpTo, 0, 'nothing live was dropped');
    assert.equal(list.size, 1, 'the expired revocations were dropped, not a live one');
    assert.ok(list.isRevoked('c', 50_000));
  });
});
