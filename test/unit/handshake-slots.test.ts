// Which legs hold one of the maxPendingHandshakes slots: a mechanism holds its slot before it
// starts work that waits; one that answers with a promise without holding it gets one anyway (or
// a 503, and its work let go); a leg decided in the call holds none (negotiate-mechanism.test.ts).
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { describe, it } from 'node:test';
import { composeOptions } from '../../src/compose.js';
import type { Mechanism, MechanismContext, Step } from '../../src/mechanisms/mechanism.js';
import { MechanismRegistry } from '../../src/mechanisms/registry.js';
import { Authenticator, type Decision } from '../../src/session/authenticator.js';
import { testDirectory } from '../helpers/servers.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A one-leg-then-pending mechanism that never calls context.hold(): its work waits a tick. */
class Forgetful implements Mechanism {
  readonly aborted: number[] = [];
  readonly contexts: MechanismContext[] = [];
  #started = 0;
  begins(): boolean {
    return true;
  }
  start(_token: Buffer, context: MechanismContext): Promise<Step> {
    const id = this.#started++;
    this.contexts.push(context);
    return new Promise((resolve) =>
      setImmediate(() =>
        resolve({
          done: false,
          responseToken: Buffer.from('challenge'),
          pending: { next: () => Promise.reject(new Error('unused')), abort: () => this.aborted.push(id) },
        }),
      ),
    );
  }
  describe(): Record<string, unknown> {
    return {};
  }
  mechanismOf(): undefined {
    return undefined;
  }
}

function authenticatorWith(mechanism: Mechanism): Authenticator {
  const options = composeOptions({
    verifier: testDirectory(),
    logger: quiet,
    maxPendingHandshakes: 1,
    maxPendingHandshakesPerClient: 1,
  });
  const registry = new MechanismRegistry([
    { scheme: 'NTLM', mechanism, challenge: 'NTLM', tlsOnly: false, loggableTokens: false },
  ]);
  return new Authenticator(options, registry);
}

const leg = (authenticator: Authenticator): Promise<Decision> | Decision =>
  authenticator.authenticate({
    socket: new Socket(),
    authorization: `NTLM ${Buffer.from('token').toString('base64')}`,
    cookie: undefined,
    clientAddress: '127.0.0.1',
  });

describe('handshake slots', () => {
  it('a mechanism that answers with a promise without holding a slot gets one anyway; past the cap, a 503 and its work let go', async () => {
    const mechanism = new Forgetful();
    const authenticator = authenticatorWith(mechanism);
    const first = await leg(authenticator);
    assert.equal(first.kind, 'challenge');
    assert.equal(authenticator.counts.pending, 1);
    const second = await leg(authenticator);
    assert.equal(second.kind, 'fail');
    assert.equal(second.kind === 'fail' && second.error.code, 'ERR_NTLM_TOO_MANY_HANDSHAKES');
    assert.equal(mechanism.contexts[1]!.signal.aborted, true);
    // The second start's pending exchange, settled after the refusal, is aborted when it arrives.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(mechanism.aborted, [1]);
    assert.equal(authenticator.counts.pending, 1);
    await authenticator.close();
  });

  it('hold() is taken once however often a mechanism calls it, and throws the 503 when the slots are full', async () => {
    const mechanism = new Forgetful();
    const holding: Mechanism = {
      begins: () => true,
      start: (token, context) => {
        context.hold();
        context.hold();
        return mechanism.start(token, context);
      },
      describe: () => ({}),
      mechanismOf: () => undefined,
    };
    const twice = authenticatorWith(holding);
    assert.equal((await leg(twice)).kind, 'challenge');
    assert.equal(twice.counts.pending, 1);
    const refused = await leg(twice);
    assert.equal(refused.kind === 'fail' && refused.error.code, 'ERR_NTLM_TOO_MANY_HANDSHAKES');
    // Refused at hold(), before its work began: nothing was started to let go.
    assert.equal(mechanism.contexts.length, 1);
    await twice.close();
  });
});
