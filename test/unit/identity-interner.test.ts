import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdentityInterner } from '../../src/session/identity-interner.js';

const alice = () => ({
  username: 'alice',
  domain: 'EXAMPLE',
  workstation: 'WS01',
  groups: ['Engineering', 'Domain Users'],
  groupSids: ['S-1-5-21-1-2-3-1104', 'S-1-5-21-1-2-3-513'],
});

describe('IdentityInterner', () => {
  it('gives every logon of the same user one frozen identity, and leaves the verifier’s objects alone', () => {
    const interner = new IdentityInterner();
    const first = alice();
    const shared = interner.intern(first);
    assert.equal(interner.intern(alice()), shared);
    assert.ok(Object.isFrozen(shared));
    assert.ok(Object.isFrozen(shared.groups));
    assert.ok(Object.isFrozen(shared.groupSids));
    assert.ok(!Object.isFrozen(first) && !Object.isFrozen(first.groups));
    assert.deepEqual(shared, first);
  });

  it('keeps identities apart that differ in anything (groups, workstation, user)', () => {
    const interner = new IdentityInterner();
    const shared = interner.intern(alice());
    assert.notEqual(interner.intern({ ...alice(), groups: ['Engineering'] }), shared);
    assert.notEqual(interner.intern({ ...alice(), workstation: 'WS02' }), shared);
    assert.notEqual(interner.intern({ ...alice(), username: 'bob' }), shared);
  });
});
