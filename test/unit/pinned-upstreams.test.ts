// Pass-through mode's pinning rules, decided without a network: which agent each request gets.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { PinnedUpstreams, type PinningLimits } from '../../src/gateway/pinned-upstreams.js';
import { type1 } from '../helpers/ntlm-client.js';

const LIMITS: PinningLimits = {
  maxConnections: 100,
  idleTimeoutMs: 60_000,
  maxAgeMs: 3_600_000,
  maxRequests: 1000,
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const NEGOTIATE = `NTLM ${type1().toString('base64')}`;
const AUTHENTICATE = 'NTLM TlRMTVNTUAADAAAAGAAYAEAAAAA=';

class Client {
  readonly socket = new EventEmitter() as unknown as Socket;

  /** One request: the agent it went out on, answered with `status`. */
  send(pins: PinnedUpstreams, authorization: string | undefined, status = 200): http.Agent {
    const req = {
      socket: this.socket,
      headers: authorization ? { authorization } : {},
    } as http.IncomingMessage;
    const res = Object.assign(new EventEmitter(), { statusCode: status }) as unknown as http.ServerResponse;
    const agent = pins.agentFor(req, res);
    res.emit('finish');
    res.emit('close');
    return agent;
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

  test('maxConnections releases the least recently used connection, and a closed client releases its own', () => {
    const pins = pinned({ maxConnections: 2 });
    const [a, b, c] = [new Client(), new Client(), new Client()];
    const ownA = a.send(pins, NEGOTIATE, 401);
    const ownB = b.send(pins, NEGOTIATE, 401);
    assert.equal(a.send(pins, AUTHENTICATE), ownA, 'a is now the most recently used');
    c.send(pins, NEGOTIATE, 401);
    assert.equal(pins.pinnedCount, 2);
    assert.equal(a.send(pins, undefined), ownA);
    assert.notEqual(b.send(pins, undefined), ownB, 'b was released');
    c.socket.emit('close');
    assert.equal(pins.pinnedCount, 1);
    pins.close();
    assert.equal(pins.pinnedCount, 0);
  });
});
