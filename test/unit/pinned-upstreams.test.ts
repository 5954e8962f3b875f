// Pass-through mode's pinning rules, decided without a network: which agent each request gets.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { HANDSHAKE_WINDOW_MS, PinnedUpstreams } from '../../src/gateway/pinned-upstreams.js';
import { shareKey } from '../../src/net/client-address.js';
import type { PinningLimits } from '../../src/types.js';
import { type1 } from '../helpers/ntlm-client.js';

const LIMITS: PinningLimits = {
  maxConnections: 100,
  maxConnectionsPerClient: 100,
  idleTimeoutMs: 60_000,
  maxAgeMs: 3_600_000,
  maxRequests: 1000,
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const NEGOTIATE = `NTLM ${type1().toString('base64')}`;
const AUTHENTICATE = 'NTLM TlRMTVNTUAADAAAAGAAYAEAAAAA=';

class Client {
  readonly socket = new EventEmitter() as unknown as Socket;

  constructor(readonly address = '192.0.2.1') {}

  /** One request: the agent it went out on (undefined: refused), answered with `status`. */
  send(pins: PinnedUpstreams, authorization: string | undefined, status = 200): http.Agent | undefined {
    const { res, done } = this.start(pins, authorization, status);
    done();
    return res;
  }

  /**
   * A request left in flight until done() is called. A 401 to a NEGOTIATE carries a CHALLENGE
   * token, as the upstream's would.
   */
  start(pins: PinnedUpstreams, authorization: string | undefined, status = 200) {
    const req = {
      socket: this.socket,
      headers: authorization ? { authorization } : {},
    } as http.IncomingMessage;
    const challenge = status === 401 && authorization === NEGOTIATE ? 'NTLM TlRMTVNTUAACAAAA' : 'NTLM';
    const res = Object.assign(new EventEmitter(), {
      statusCode: status,
      getHeader: (name: string) => (name === 'www-authenticate' ? challenge : undefined),
    }) as unknown as http.ServerResponse;
    const agent = pins.agentFor(req, res, this.address);
    return {
      res: agent,
      done: () => {
        res.emit('finish');
        res.emit('close');
      },
    };
  }
}

function pinned(limits: Partial<PinningLimits> = {}) {
  const newAgent = (options: http.AgentOptions) => new http.Agent({ keepAlive: true, ...options });
  return new PinnedUpstreams({ ...LIMITS, ...limits }, newAgent({}), newAgent, silent);
}

describe('pass-through pinning', () => {
  test('no credentials: the shared pool; NTLM or Negotiate credentials: a connection of its own from then on', () => {
    const pins = pinned();
    const a = new Client();
    const b = new Client();
    const shared = a.send(pins, undefined, 401);
    assert.equal(b.send(pins, 'Bearer abc'), shared, 'other schemes are not connection-bound');
    const own = a.send(pins, NEGOTIATE, 401);
    assert.notEqual(own, shared);
    assert.equal(a.send(pins, AUTHENTICATE), own, 'the AUTHENTICATE follows its CHALLENGE');
    assert.equal(a.send(pins, undefined), own, 'and later requests stay');
    assert.equal(b.send(pins, undefined), shared, 'nobody else gets it');
    assert.notEqual(b.send(pins, 'Negotiate YIIBhw=='), own);
    assert.equal(pins.pinnedCount, 2);
    pins.close();
  });

  test('malformed NTLM/Negotiate headers are pinned too: they never reach a shared connection', () => {
    const pins = pinned();
    const shared = new Client().send(pins, undefined);
    for (const header of ['NTLM', 'ntlm ???', 'Negotiate a b c', 'NTLM -_-_']) {
      assert.notEqual(new Client().send(pins, header, 401), shared, header);
    }
    pins.close();
  });

  test('new credentials after the handshake completed: a fresh upstream connection', () => {
    const pins = pinned();
    const client = new Client();
    const first = client.send(pins, NEGOTIATE, 401);
    client.send(pins, AUTHENTICATE, 200);
    const second = client.send(pins, NEGOTIATE, 401);
    assert.notEqual(second, first, 'a new NEGOTIATE always starts over');
    client.send(pins, AUTHENTICATE, 200);
    assert.notEqual(
      client.send(pins, 'Negotiate YIIBhw=='),
      second,
      'so does any token once the last answer was not 401',
    );
    pins.close();
  });

  test('maxRequests and maxAgeMs end a pinned connection', () => {
    const pins = pinned({ maxRequests: 3 });
    const client = new Client();
    const own = client.send(pins, NEGOTIATE, 401);
    client.send(pins, AUTHENTICATE);
    assert.equal(client.send(pins, undefined), own);
    assert.notEqual(client.send(pins, undefined), own, 'the fourth request goes out unpinned');
    pins.close();

    const young = pinned({ maxAgeMs: 1 });
    const other = new Client();
    const pin = other.send(young, NEGOTIATE, 401);
    const until = Date.now() + 5;
    while (Date.now() < until);
    assert.notEqual(other.send(young, undefined), pin);
    young.close();
  });

  test('maxConnections: a newcomer takes the oldest idle pin that never completed a handshake, and a closed client releases its own', () => {
    const pins = pinned({ maxConnections: 2 });
    const [a, b, c] = [new Client('192.0.2.1'), new Client('192.0.2.2'), new Client('192.0.2.3')];
    const ownA = a.send(pins, NEGOTIATE, 401);
    // b's token was malformed (400): nobody's, nothing pending.
    const ownB = b.send(pins, 'NTLM TlRMTVNTUAABAAAA', 400);
    assert.equal(a.send(pins, AUTHENTICATE), ownA, 'a is now authenticated');
    assert.ok(c.send(pins, NEGOTIATE, 401), 'c takes the slot of b');
    assert.equal(pins.pinnedCount, 2);
    assert.equal(a.send(pins, undefined), ownA);
    assert.notEqual(b.send(pins, undefined), ownB, 'b was released');
    c.socket.emit('close');
    assert.equal(pins.pinnedCount, 1);
    pins.close();
    assert.equal(pins.pinnedCount, 0);
  });

  test('authenticated pins, handshakes in progress and requests in flight are never taken: the newcomer is refused', () => {
    const pins = pinned({ maxConnections: 3 });
    const [done, midway, busy] = [new Client('192.0.2.1'), new Client('192.0.2.2'), new Client('192.0.2.3')];
    done.send(pins, NEGOTIATE, 401);
    const ownDone = done.send(pins, AUTHENTICATE, 200);
    const ownMidway = midway.send(pins, NEGOTIATE, 401);
    const inFlight = busy.start(pins, 'Negotiate YIIBhw==', 200);
    for (let i = 0; i < 50; i++) {
      assert.equal(new Client(`198.51.100.${i}`).send(pins, NEGOTIATE, 401), undefined, `newcomer ${i}`);
    }
    assert.equal(pins.pinnedCount, 3);
    assert.equal(done.send(pins, undefined), ownDone);
    assert.equal(midway.send(pins, AUTHENTICATE, 200), ownMidway, 'the handshake completes on its pin');
    inFlight.done();
    pins.close();
  });

  test('a handshake abandoned for HANDSHAKE_WINDOW_MS may be taken', (t) => {
    t.mock.timers.enable({ apis: ['Date', 'setTimeout'] });
    const pins = pinned({ maxConnections: 1 });
    const abandoned = new Client('192.0.2.1');
    abandoned.send(pins, NEGOTIATE, 401);
    assert.equal(new Client('192.0.2.2').send(pins, NEGOTIATE, 401), undefined);
    t.mock.timers.tick(HANDSHAKE_WINDOW_MS - 1);
    assert.equal(new Client('192.0.2.2').send(pins, NEGOTIATE, 401), undefined);
    t.mock.timers.tick(1);
    assert.ok(new Client('192.0.2.2').send(pins, NEGOTIATE, 401));
    pins.close();
  });

  test('one client address holds at most maxConnectionsPerClient pins (an IPv6 client: its /64)', () => {
    const pins = pinned({ maxConnections: 100, maxConnectionsPerClient: 5 });
    const flood = Array.from({ length: 40 }, () => new Client('192.0.2.66'));
    const pinnedFlood = flood.filter((client) => client.send(pins, NEGOTIATE, 401) !== undefined);
    assert.equal(pinnedFlood.length, 5);
    const v6 = Array.from({ length: 10 }, (_, i) => new Client(`2001:db8:1:2::${i + 1}`));
    assert.equal(v6.filter((client) => client.send(pins, NEGOTIATE, 401) !== undefined).length, 5);
    assert.ok(new Client('2001:db8:1:3::1').send(pins, NEGOTIATE, 401), 'another /64');
    const other = new Client('192.0.2.7');
    assert.ok(other.send(pins, NEGOTIATE, 401), 'other addresses are not affected');
    assert.equal(pins.pinnedCount, 12);
    // A released pin gives the address its slot back.
    pinnedFlood[0]!.socket.emit('close');
    assert.ok(new Client('192.0.2.66').send(pins, NEGOTIATE, 401));
    pins.close();
  });

  test('shareKey: IPv4 as is (also when IPv4-mapped), IPv6 by its /64', () => {
    assert.equal(shareKey('10.1.2.3'), '10.1.2.3');
    assert.equal(shareKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(shareKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(shareKey('2001:DB8:0:0:ffff::1'), '2001:db8:0:0::/64');
    assert.equal(shareKey('::1'), '0:0:0:0::/64');
    assert.equal(shareKey('2001:0db8:0000:0000::1'), '2001:db8:0:0::/64', 'leading zeros');
    assert.equal(shareKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'a zone index');
  });
});
