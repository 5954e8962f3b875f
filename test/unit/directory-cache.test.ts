// The directory cache is an optimisation only: hits skip the read, and a store that fails or
// holds something else never turns into a failed logon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DirectoryCache, sidSetDigest } from '../../src/dc/directory-cache.js';
import { MemoryStore, type Store } from '../../src/index.js';

describe('directory cache', () => {
  test('a hit skips the read; a miss reads once and stores for the TTL', async () => {
    const cache = new DirectoryCache(new MemoryStore(), 60);
    let reads = 0;
    const read = async () => ({ mail: `read ${++reads}` });
    assert.deepEqual(await cache.remember('alice', read), { mail: 'read 1' });
    assert.deepEqual(await cache.remember('alice', read), { mail: 'read 1' });
    assert.deepEqual(await cache.remember('bob', read), { mail: 'read 2' });
    assert.equal(reads, 2);
  });

  test('a failing store or an unreadable entry means a read, never an error', async () => {
    const broken: Store = {
      get: async () => {
        throw new Error('store down');
      },
      set: async () => {
        throw new Error('store down');
      },
      delete: async () => {},
    };
    assert.deepEqual(await new DirectoryCache(broken, 60).remember('k', async () => 'fresh'), 'fresh');
    const store = new MemoryStore();
    await store.set('directory:k', 'not json{', 60);
    assert.deepEqual(await new DirectoryCache(store, 60).remember('k', async () => 'fresh'), 'fresh');
  });

  test('errors of the read itself are not cached', async () => {
    const cache = new DirectoryCache(new MemoryStore(), 60);
    await assert.rejects(
      cache.remember('k', async () => {
        throw new Error('DC said no');
      }),
    );
    assert.equal(await cache.remember('k', async () => 'second try'), 'second try');
  });

  test('the SID set digest ignores order and tells sets apart', () => {
    assert.equal(sidSetDigest(['S-1-5-32-545', 'S-1-5-11']), sidSetDigest(['S-1-5-11', 'S-1-5-32-545']));
    assert.notEqual(sidSetDigest(['S-1-5-11']), sidSetDigest(['S-1-5-11', 'S-1-5-32-545']));
  });
});
