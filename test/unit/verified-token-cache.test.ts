import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { BearerTokens } from '../../src/session/bearer-tokens.js';
import { VerifiedTokenCache } from '../../src/session/verified-token-cache.js';

const NOW = 1_800_000_000_000;
interface Named {
  readonly name: string;
  readonly expiresAt: number;
}
const entry = (expiresIn: number, name = ''): Named => ({ name, expiresAt: Date.now() + expiresIn });

describe('VerifiedTokenCache', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: NOW }));
  afterEach(() => mock.timers.reset());

  it('answers an entry until it expires, then drops it', () => {
    const cache = new VerifiedTokenCache<string, Named>(10);
    const alice = entry(1000, 'alice');
    cache.set('a', alice);
    assert.equal(cache.get('a'), alice);
    mock.timers.tick(999);
    assert.equal(cache.get('a'), alice, 'one millisecond before its expiry');
    mock.timers.tick(1);
    assert.equal(cache.get('a'), undefined, 'at its expiry');
    assert.equal(cache.size, 0, 'the expired entry is gone, not only hidden');
  });

  it('does not keep an entry that has already expired', () => {
    const cache = new VerifiedTokenCache<string, Named>(10);
    cache.set('gone', entry(0));
    cache.set('older', entry(-5000));
    assert.equal(cache.size, 0);
    assert.equal(cache.get('gone'), undefined);
  });

  it('never holds more than its bound, and drops the oldest inserted to make room', () => {
    const cache = new VerifiedTokenCache<string, Named>(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, entry(60_000, key));
    assert.equal(cache.get('a')?.name, 'a', 'reading does not change the order');
    cache.set('d', entry(60_000, 'd'));
    assert.equal(cache.size, 3);
    assert.equal(cache.get('a'), undefined, 'the oldest inserted went');
    assert.deepEqual(
      ['b', 'c', 'd'].map((key) => cache.get(key)?.name),
      ['b', 'c', 'd'],
    );
    for (let index = 0; index < 1000; index++) cache.set(`k${index}`, entry(60_000));
    assert.equal(cache.size, 3);
  });

  it('replaces an entry set again under its key, and counts it as the newest', () => {
    const cache = new VerifiedTokenCache<string, Named>(2);
    cache.set('a', entry(60_000, 'a'));
    cache.set('b', entry(60_000, 'first'));
    cache.set('b', entry(60_000, 'second'));
    assert.equal(cache.size, 2, 'replaced, not added');
    assert.equal(cache.get('a')?.name, 'a', 'and the replacement pushed nothing out');
    cache.set('a', entry(60_000, 'a again'));
    cache.set('c', entry(60_000, 'c'));
    assert.equal(cache.get('b'), undefined, 'b was the oldest once a was set again');
    assert.equal(cache.get('a')?.name, 'a again');
  });
});

describe('BearerTokens and its verified-token cache', () => {
  const secret = randomBytes(32);
  afterEach(() => mock.timers.reset());

  it('stops answering a remembered token once it expires, and refuses it', async () => {
    const issuer = new BearerTokens({ secret, expiresInSeconds: 60 }, undefined);
    const { token } = await issuer.issue({ username: 'alice', domain: 'EXAMPLE', workstation: 'PC' });
    assert.equal((await issuer.verify(token))?.identity.username, 'alice');
    assert.equal(issuer.known(token)?.token, token);
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 61_000 });
    assert.equal(issuer.known(token), undefined, 'an expired token is not answered from the cache');
    assert.equal(await issuer.verify(token), undefined, 'and its signature check refuses it');
  });

  it('refuses a remembered token once it is revoked, though the cache still knows it', async () => {
    const issuer = new BearerTokens({ secret }, undefined);
    const alice = { username: 'alice', domain: 'EXAMPLE', workstation: 'PC' };
    const { token, tokenId, expiresAt } = await issuer.issue(alice);
    assert.equal((await issuer.verify(token))?.tokenId, tokenId);
    await issuer.revoke(tokenId, expiresAt, alice);
    assert.equal(issuer.known(token)?.tokenId, tokenId, 'still remembered');
    assert.equal(issuer.verify(token), undefined, 'and refused, at once');
  });

  it('checks a token again after the bound pushed it out, and still takes it', async () => {
    const issuer = new BearerTokens({ secret, verifiedCacheSize: 2 }, undefined);
    const issue = async (username: string) =>
      (await issuer.issue({ username, domain: 'EXAMPLE', workstation: 'PC' })).token;
    const [alice, bob, carol] = [await issue('alice'), await issue('bob'), await issue('carol')];
    for (const token of [alice, bob, carol]) await issuer.verify(token);
    assert.equal(issuer.known(alice), undefined, 'the first was pushed out');
    assert.equal(issuer.known(carol)?.identity.username, 'carol');
    const again = issuer.verify(alice);
    assert.ok(again instanceof Promise, 'it is checked again');
    assert.equal((await again)?.identity.username, 'alice');
  });
});
