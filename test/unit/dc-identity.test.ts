// Who a signing client is, when the lookup account names it (issue 14, defect 12): the domain the
// client typed must be the looked-up account's domain, or the logon is refused; never relabelled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DirectorySearch } from '../../src/dc/account-lookup.js';
import { DirectoryIdentity, dnsNameOf, typedDomainMatches } from '../../src/dc/identity.js';
import type { SearchEntry } from '../../src/dc/ldap-messages.js';
import type { ServiceAccountDirectory } from '../../src/dc/service-account.js';
import { sidToBuffer } from '../../src/dc/sid.js';

const EXAMPLE = ['EXAMPLE', 'example.test'];
const ALICE_SID = 'S-1-5-21-1-2-3-1104';

/**
 * A directory of one domain (DC=example,DC=test) holding alice, answering the searches
 * account-lookup makes; it records every search, so a test can see that none was made.
 */
function exampleDirectory() {
  const searches: string[] = [];
  const entry = (dn: string, attributes: Record<string, Buffer[]>): SearchEntry => ({
    dn,
    attributes: new Map(Object.entries(attributes).map(([k, v]) => [k.toLowerCase(), v])),
  });
  const directory: DirectorySearch = {
    async search(request) {
      searches.push(request.base);
      const ok = { resultCode: 0, matchedDN: '', diagnosticMessage: '' };
      if (request.base === '')
        return {
          result: ok,
          entries: [entry('', { defaultNamingContext: [Buffer.from('DC=example,DC=test')] })],
        };
      if (
        request.base === 'DC=example,DC=test' &&
        request.attributes.includes('objectSid') &&
        request.attributes.length === 1
      )
        return { result: ok, entries: [entry('CN=alice,CN=Users,DC=example,DC=test', {})] };
      if (request.base === 'CN=alice,CN=Users,DC=example,DC=test')
        return {
          result: ok,
          entries: [
            entry(request.base, {
              sAMAccountName: [Buffer.from('alice')],
              objectSid: [sidToBuffer(ALICE_SID)],
              userAccountControl: [Buffer.from('512')],
              tokenGroups: [],
            }),
          ],
        };
      return { result: ok, entries: [] };
    },
  };
  return { directory: directory as unknown as ServiceAccountDirectory, searches };
}

describe('signing clients and trusts', () => {
  it('the typed domain matches when empty, or the NetBIOS or DNS name in any case', () => {
    for (const typed of ['', '  ', 'EXAMPLE', 'example', 'example.test', 'EXAMPLE.TEST'])
      assert.ok(typedDomainMatches(typed, EXAMPLE), JSON.stringify(typed));
    for (const typed of ['OTHER', 'other.test', 'VM', 'EXAMPLE2', 'example.test.evil', 'test'])
      assert.ok(!typedDomainMatches(typed, EXAMPLE), JSON.stringify(typed));
    assert.ok(!typedDomainMatches('anything', [undefined]), 'an unknown DNS name matches nothing');
  });

  it('the DNS name of a naming context', () => {
    assert.equal(dnsNameOf('DC=example,DC=test'), 'example.test');
    assert.equal(dnsNameOf('dc=Corp, DC=Example ,DC=com'), 'corp.example.com');
    assert.equal(dnsNameOf('O=nothing'), undefined);
  });

  it('OTHER\\alice the DC vouched for (a trust): 401 ERR_NTLM_UNKNOWN_DOMAIN, not EXAMPLE\\alice', async () => {
    const { directory, searches } = exampleDirectory();
    const identity = new DirectoryIdentity(directory, undefined);
    const dc = { netbiosDomain: 'EXAMPLE', dnsDomain: undefined };
    await assert.rejects(
      identity.byName('alice', 'OTHER', dc),
      (error: Error & { code?: string; statusCode?: number }) => {
        assert.equal(error.code, 'ERR_NTLM_UNKNOWN_DOMAIN');
        assert.equal(error.statusCode, 401);
        assert.match(error.message, /OTHER\\alice is not an account of EXAMPLE \/ example\.test/);
        return true;
      },
    );
    assert.deepEqual(searches, [''], 'only the naming context was read: alice was never looked up');
    // The same user typed with her own domain's names, or none, is alice of EXAMPLE.
    for (const typed of ['EXAMPLE', 'example.test', '']) {
      const described = await identity.byName('alice', typed, dc);
      assert.equal(described.account.username, 'alice');
      assert.equal(described.account.sid, ALICE_SID);
    }
  });
});
