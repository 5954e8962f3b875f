// LsarLookupSids3 marshalling, the per-SID name cache, the LSA source's handling of what Samba
// answers, and allowGroups matching (names in any case, DOMAIN\name, SIDs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DirectoryCache } from '../../src/dc/directory-cache.js';
import { type SidName, SidNameResolver } from '../../src/dc/sid-name-resolver.js';
import { ServiceUnavailableError } from '../../src/errors.js';
import {
  decodeLookupSids3,
  encodeLookupSids3,
  encodeLookupSids3Answer,
  LookupStatus,
  SidUse,
} from '../../src/lsa/lookup-sids3.js';
import type { LsaChannel } from '../../src/lsa/lsa-channel.js';
import { lsaSidNames } from '../../src/lsa/lsa-source.js';
import { isAllowed } from '../../src/session/access-rules.js';
import { MemoryStore } from '../../src/store/store.js';
import type { NtlmIdentity, NtlmRequestInfo } from '../../src/types.js';

const DOMAIN = 'S-1-5-21-1-2-3';
const ALICE = `${DOMAIN}-1102`;
const ENGINEERING = `${DOMAIN}-1106`;
const DOMAIN_USERS = `${DOMAIN}-513`;

describe('LsarLookupSids3 NDR', () => {
  it('the request: SID_ENUM_BUFFER with deferred SIDs, empty TranslatedNames, level 1, revision 2', () => {
    const stub = encodeLookupSids3([ALICE]);
    const hex = stub.toString('hex');
    // Entries 1, SidInfo referent, then the array: count 1, one SID pointer, the SID (conformance 5).
    assert.equal(hex.slice(0, 16), '0100000000000200');
    assert.equal(stub.readUInt32LE(8), 1);
    assert.equal(stub.readUInt32LE(16), 5, 'RPC_SID conformance: 5 sub-authorities');
    assert.equal(stub[20], 1, 'revision');
    assert.equal(stub[21], 5, 'sub-authority count');
    // After the SID (8 + 5×4 = 28 bytes from offset 20): TranslatedNames {0, NULL}, level, count, options, revision.
    const tail = stub.subarray(48);
    assert.deepEqual(
      [tail.readUInt32LE(0), tail.readUInt32LE(4), tail.readUInt16LE(8), tail.readUInt32LE(12)],
      [0, 0, 1, 0],
    );
    assert.deepEqual([tail.readUInt32LE(16), tail.readUInt32LE(20)], [0, 2]);
    assert.equal(tail.length, 24);
  });

  it('the answer: names with their domains, an unknown RID and an unknown domain (SOME_NOT_MAPPED)', () => {
    const stub = encodeLookupSids3Answer({
      domains: [{ name: 'EXAMPLE', sid: DOMAIN }],
      names: [
        { use: SidUse.User, name: 'alice', domainIndex: 0 },
        { use: SidUse.Group, name: 'Engineering', domainIndex: 0 },
        { use: SidUse.Unknown, name: '0001869F', domainIndex: 0 },
        { use: SidUse.Unknown, name: 'S-1-5-21-9-9-9-1000', domainIndex: -1 },
      ],
      mappedCount: 2,
      status: LookupStatus.SOME_NOT_MAPPED,
    });
    const answer = decodeLookupSids3(stub, 4);
    assert.equal(answer.status, LookupStatus.SOME_NOT_MAPPED);
    assert.equal(answer.mappedCount, 2);
    assert.deepEqual(answer.names, [
      { use: SidUse.User, name: 'alice', domain: 'EXAMPLE' },
      { use: SidUse.Group, name: 'Engineering', domain: 'EXAMPLE' },
      { use: SidUse.Unknown, name: '0001869F', domain: 'EXAMPLE' },
      { use: SidUse.Unknown, name: 'S-1-5-21-9-9-9-1000', domain: '' },
    ]);
  });

  it('refuses an answer with another number of names than SIDs asked, or a DomainIndex out of range', () => {
    const answer = (domainIndex: number) =>
      encodeLookupSids3Answer({
        domains: [{ name: 'EXAMPLE', sid: DOMAIN }],
        names: [{ use: SidUse.User, name: 'alice', domainIndex }],
        mappedCount: 1,
        status: 0,
      });
    const dcError = (error: unknown) =>
      error instanceof ServiceUnavailableError && error.code === 'ERR_NTLM_DC_ERROR';
    assert.throws(() => decodeLookupSids3(answer(0), 2), dcError);
    assert.throws(() => decodeLookupSids3(answer(3), 1), dcError);
    assert.throws(() => decodeLookupSids3(answer(0).subarray(0, 40), 1), dcError);
  });
});

/** A channel that answers from a table, and records what it was asked. */
function fakeChannel(table: Record<string, SidName>, options: { invalid?: RegExp } = {}) {
  const asked: string[][] = [];
  const channel = {
    async lookupSids(sids: readonly string[]) {
      asked.push([...sids]);
      if (options.invalid && sids.some((sid) => options.invalid!.test(sid)))
        return { status: LookupStatus.INVALID_SID, mappedCount: 0, names: [] };
      const names = sids.map((sid) =>
        table[sid] ? { use: SidUse.Group, ...table[sid]! } : { use: SidUse.Unknown, name: sid, domain: '' },
      );
      const mappedCount = names.filter((n) => n.use !== SidUse.Unknown).length;
      return { status: mappedCount === sids.length ? 0 : LookupStatus.SOME_NOT_MAPPED, mappedCount, names };
    },
  } as unknown as LsaChannel;
  return { channel, asked };
}

const TABLE: Record<string, SidName> = {
  [ALICE]: { name: 'alice', domain: 'EXAMPLE' },
  [ENGINEERING]: { name: 'Engineering', domain: 'EXAMPLE' },
  [DOMAIN_USERS]: { name: 'Domain Users', domain: 'EXAMPLE' },
};

describe('SID names', () => {
  it('names groups bare; an unknown SID stays a SID; the user SID is asked in the same call', async () => {
    const { channel, asked } = fakeChannel(TABLE);
    const resolver = new SidNameResolver(
      lsaSidNames(() => [channel]),
      undefined,
    );
    const named = await resolver.nameGroups({
      username: 'alice',
      domain: 'EXAMPLE',
      workstation: '',
      sid: ALICE,
      groupSids: [DOMAIN_USERS, ENGINEERING, `${DOMAIN}-99999`],
    } as NtlmIdentity);
    assert.deepEqual(named.groups, ['Domain Users', 'Engineering', `${DOMAIN}-99999`]);
    assert.deepEqual(asked, [[ALICE, DOMAIN_USERS, ENGINEERING, `${DOMAIN}-99999`]]);
  });

  it('never asks S-1-18-* (Samba fails the whole call for one), and splits a batch the DC calls INVALID_SID', async () => {
    const { channel, asked } = fakeChannel(TABLE, { invalid: /^S-1-18-|-4242$/ });
    const resolver = new SidNameResolver(
      lsaSidNames(() => [channel]),
      undefined,
    );
    const named = await resolver.nameGroups({
      username: 'alice',
      domain: 'EXAMPLE',
      workstation: '',
      sid: ALICE,
      groupSids: [ENGINEERING, 'S-1-18-1', `${DOMAIN}-4242`],
    } as NtlmIdentity);
    assert.deepEqual(named.groups, ['Engineering', 'S-1-18-1', `${DOMAIN}-4242`]);
    assert.ok(!asked.flat().includes('S-1-18-1'));
    assert.deepEqual(
      asked.slice(1),
      [[ALICE], [ENGINEERING], [`${DOMAIN}-4242`]],
      'one by one after INVALID_SID',
    );
  });

  it('caches each SID in the store with the cache lifetime; the next logon asks only for new SIDs', async () => {
    const { channel, asked } = fakeChannel(TABLE);
    const store = new MemoryStore({ maxEntries: 100 });
    const ttls: number[] = [];
    const set = store.set.bind(store);
    store.set = (key, value, ttl) => {
      ttls.push(ttl);
      return set(key, value, ttl);
    };
    const resolver = new SidNameResolver(
      lsaSidNames(() => [channel]),
      new DirectoryCache(store, 120),
    );
    await resolver.names([ALICE, ENGINEERING, `${DOMAIN}-99999`]);
    assert.deepEqual(JSON.parse((await store.get(`directory:sid-name:${ENGINEERING}`))!), TABLE[ENGINEERING]);
    assert.equal(
      await store.get(`directory:sid-name:${DOMAIN}-99999`),
      undefined,
      'unknown SIDs are not cached',
    );
    assert.deepEqual(ttls, [120, 120]);
    const again = await resolver.names([ALICE, ENGINEERING, DOMAIN_USERS]);
    assert.equal(again.get(DOMAIN_USERS)?.name, 'Domain Users');
    assert.deepEqual(asked[1], [DOMAIN_USERS], 'only the SID not cached yet');
    await resolver.names([ALICE, ENGINEERING]);
    assert.equal(asked.length, 2, 'all cached: no call');
  });

  it('a failing LSA is a 503, after every DC was tried', async () => {
    let downAsked = 0;
    const down = {
      lookupSids: async () => {
        downAsked++;
        throw new ServiceUnavailableError('ERR_NTLM_DC_UNAVAILABLE', 'down');
      },
    } as unknown as LsaChannel;
    const { channel } = fakeChannel(TABLE);
    const resolver = new SidNameResolver(
      lsaSidNames(() => [down, channel]),
      undefined,
    );
    assert.equal((await resolver.names([ENGINEERING])).get(ENGINEERING)?.name, 'Engineering');
    assert.equal((await resolver.names([DOMAIN_USERS])).get(DOMAIN_USERS)?.name, 'Domain Users');
    assert.equal(
      downAsked,
      1,
      'a DC whose LSA just failed is asked last, so not again while another answers',
    );
    const none = new SidNameResolver(
      lsaSidNames(() => [down]),
      undefined,
    );
    await assert.rejects(none.names([ENGINEERING]), { code: 'ERR_NTLM_DC_UNAVAILABLE' });
  });
});

describe('allowGroups', () => {
  const alice = {
    username: 'alice',
    domain: 'EXAMPLE',
    groups: ['Engineering', 'Domain Users'],
    groupSids: [ENGINEERING, DOMAIN_USERS],
  } as unknown as NtlmRequestInfo;
  // resolveOptions lower-cases the lists once.
  const allowed = (...allowGroups: string[]) =>
    isAllowed(
      alice,
      { allowUsers: undefined, allowGroups: allowGroups.map((g) => g.toLowerCase()) },
      (domain) => domain === 'EXAMPLE',
    );

  it('a name in any case, with or without the user domain, or a SID', () => {
    assert.equal(allowed('Engineering'), true);
    assert.equal(allowed('ENGINEERING'), true);
    assert.equal(allowed('example\\engineering'), true);
    assert.equal(allowed(ENGINEERING), true);
    assert.equal(allowed(ENGINEERING.toLowerCase()), true);
  });

  it('refuses another domain, another group, another SID, and a name that matches only as a SID would', () => {
    assert.equal(allowed('OTHER\\Engineering'), false);
    assert.equal(allowed('Domain Admins'), false);
    assert.equal(allowed(`${DOMAIN}-512`), false);
    assert.equal(allowed('\\Engineering'), false);
  });
});
