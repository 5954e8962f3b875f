// The fuzz's own promises (test/fuzz): an input is made again from its seed and index alone, and
// its DER tree writes a real token back byte for byte (else every "structure-aware" Kerberos
// mutation would be noise).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kerberosAcceptor } from '../../src/kerberos/acceptor.js';
import { decodeSpnego } from '../../src/negotiate/spnego.js';
import { bearerInput } from '../fuzz/bearer-inputs.js';
import { mutateBytes } from '../fuzz/bytes.js';
import { mutateDer, parseDer, serializeAll } from '../fuzz/der-tree.js';
import { KEYTAB, KerberosInputs } from '../fuzz/kerberos-inputs.js';
import { mutateNdr } from '../fuzz/ndr-inputs.js';
import { Random } from '../fuzz/random.js';

const SPNEGO = Buffer.from(
  readFileSync(new URL('../fixtures/kerberos/curl-negotiate-token.b64', import.meta.url), 'utf8').trim(),
  'base64',
);

describe('the fuzz generators', () => {
  it('one (seed, index) is one stream; another index or seed is another', () => {
    const draw = (seed: number, index: number) => {
      const random = new Random(seed, index);
      return Array.from({ length: 8 }, () => random.u32());
    };
    assert.deepEqual(draw(7, 1000), draw(7, 1000));
    assert.notDeepEqual(draw(7, 1000), draw(7, 1001));
    assert.notDeepEqual(draw(7, 1000), draw(8, 1000));
  });

  it('byte, NDR and JWT mutations are made again byte for byte from the seed and index', () => {
    const seed = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    for (let index = 0; index < 200; index++) {
      const make = () => {
        const random = new Random(42, index);
        return [mutateBytes(random, seed), mutateNdr(random, seed), bearerInput(random, 'e30.e30.sig', 'k')];
      };
      assert.deepEqual(make(), make());
    }
  });

  it('the DER tree writes the curl token back unchanged, and opens its Kerberos structures', () => {
    const roots = parseDer(SPNEGO)!;
    assert.ok(roots, 'parses');
    assert.ok(serializeAll(roots).equals(SPNEGO));
    let nodes = 0;
    const count = (list: typeof roots) => {
      for (const node of list) {
        nodes++;
        if (node.children) count(node.children);
      }
    };
    count(roots);
    assert.ok(nodes > 20, `${nodes} nodes`);
    const random = new Random(1, 1);
    let changed = 0;
    for (let i = 0; i < 100; i++) if (!mutateDer(random, SPNEGO).equals(SPNEGO)) changed++;
    assert.ok(changed > 90, `${changed} of 100 mutations change the token`);
  });

  it('a token rebuilt with fresh times is accepted as alice, and a re-signed unchanged PAC too', async () => {
    const inputs = new KerberosInputs();
    const acceptor = kerberosAcceptor({ keytab: KEYTAB });
    for (const token of [inputs.input(new Random(1, 1), 'none'), inputs.withPac(inputs.sign(inputs.pac))]) {
      const init = decodeSpnego(token);
      assert.equal(init.kind, 'init');
      const { identity } = await acceptor.accept(init.kind === 'init' ? init.mechToken! : Buffer.alloc(0));
      assert.equal(identity.username, 'alice');
    }
  });
});
