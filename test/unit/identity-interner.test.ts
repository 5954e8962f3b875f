import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sealIdentity } from '../../src/sealed-identities.js';
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

  it('finds a sealed identity (made by this package) by its object, without comparing it', (t) => {
    const interner = new IdentityInterner();
    const sealed = sealIdentity({
      ...alice(),
      groups: Object.freeze(alice().groups),
      groupSids: Object.freeze(alice().groupSids),
    });
    const shared = interner.intern(sealed);
    assert.equal(shared, sealed, 'kept as it is: no second copy');
    assert.equal(interner.intern(shared), shared);
    // Found again without a field-by-field comparison (a spy on Object.keys sees none).
    const keys = t.mock.method(Object, 'keys');
    assert.equal(interner.intern(sealed), shared);
    assert.equal(keys.mock.callCount(), 0);
    keys.mock.restore();
    assert.equal(interner.intern(alice()), shared, 'an equal identity from a verifier finds it');
  });

  it("compares a verifier's identity every time, frozen or not: a mutable array or a getter inside may change", () => {
    const interner = new IdentityInterner();
    const shared = interner.intern(alice());
    for (const field of ['groups', 'groupSids'] as const) {
      const list = [...alice()[field]];
      const frozenOutside = Object.freeze({ ...alice(), [field]: list });
      assert.equal(interner.intern(frozenOutside), shared);
      list.push('S-1-5-21-1-2-3-512');
      const changed = interner.intern(frozenOutside);
      assert.notEqual(changed, shared, `a change to ${field} is seen`);
      assert.deepEqual(changed[field], list);
    }
    let name = 'alice';
    const withGetter = Object.freeze({
      ...alice(),
      get username() {
        return name;
      },
    });
    assert.equal(interner.intern(withGetter).username, 'alice');
    name = 'bob';
    assert.equal(interner.intern(withGetter).username, 'bob');
    const mutable = alice();
    assert.equal(interner.intern(mutable), shared);
    mutable.workstation = 'WS09';
    assert.notEqual(interner.intern(mutable), shared);
  });

  it('keeps identities apart that differ in anything (groups, workstation, user)', () => {
    const interner = new IdentityInterner();
    const shared = interner.intern(alice());
    assert.notEqual(interner.intern({ ...alice(), groups: ['Engineering'] }), shared);
    assert.notEqual(interner.intern({ ...alice(), workstation: 'WS02' }), shared);
    assert.notEqual(interner.intern({ ...alice(), username: 'bob' }), shared);
  });

  it('keeps apart another domain, another group order, an extra field; an undefined field is an absent one', () => {
    const interner = new IdentityInterner();
    const shared = interner.intern(alice());
    assert.notEqual(interner.intern({ ...alice(), domain: 'OTHER' }), shared);
    assert.notEqual(interner.intern({ ...alice(), groups: ['Domain Users', 'Engineering'] }), shared);
    assert.notEqual(interner.intern({ ...alice(), mail: 'alice@example.test' }), shared);
    assert.equal(interner.intern({ ...alice(), mail: undefined }), shared);
    // A field the verifier adds that is not a string or a list: equal only as the same object.
    const extra = { tier: 'gold' };
    const withExtra = interner.intern({ ...alice(), extra } as never);
    assert.equal(interner.intern({ ...alice(), extra } as never), withExtra);
    assert.notEqual(interner.intern({ ...alice(), extra: { tier: 'gold' } } as never), withExtra);
  });

  it('compares own fields only: a field named like an Object.prototype member is not taken for an absent one', () => {
    for (const name of ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__']) {
      const interner = new IdentityInterner();
      const odd = Object.defineProperty(alice(), name, { value: 'admin', enumerable: true });
      const withField = interner.intern(odd);
      const plain = interner.intern(alice());
      assert.notEqual(plain, withField, name);
      assert.equal(Object.hasOwn(plain, name), false, name);
      // And the other way round: the plain one first.
      const other = new IdentityInterner();
      const first = other.intern(alice());
      assert.notEqual(
        other.intern(Object.defineProperty(alice(), name, { value: 'admin', enumerable: true })),
        first,
      );
    }
  });

  it('keeps apart an identity with a symbol-keyed field', () => {
    const interner = new IdentityInterner();
    const mark = Symbol('verifier');
    const marked = interner.intern({ ...alice(), [mark]: 'admin' } as never);
    const plain = interner.intern(alice());
    assert.notEqual(plain, marked);
    assert.equal(Object.getOwnPropertySymbols(plain).length, 0);
  });

  it('still answers an equal identity when one user has more variants than it keeps', () => {
    const interner = new IdentityInterner();
    const workstations = Array.from({ length: 20 }, (_, i) => `WS${i}`);
    const first = workstations.map((workstation) => interner.intern({ ...alice(), workstation }));
    for (const [i, workstation] of workstations.entries()) {
      const again = interner.intern({ ...alice(), workstation });
      assert.deepEqual(again, first[i]);
      assert.equal(again.workstation, workstation);
    }
    // The most recent ones are shared.
    assert.equal(
      interner.intern({ ...alice(), workstation: 'WS19' }),
      interner.intern({ ...alice(), workstation: 'WS19' }),
    );
  });
});
