// The relay's kept DC connections (src/dc/idle-connections.ts), with stand-in connections.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { IdleConnections, MAX_IDLE_PER_DC } from '../../src/dc/idle-connections.js';
import type { LdapConnection } from '../../src/dc/ldap-connection.js';

function connection(url = 'ldap://dc1') {
  const state = { url, idle: true, closed: false, referenced: true };
  const fake = {
    url,
    get idle() {
      return state.idle && !state.closed;
    },
    close() {
      state.closed = true;
    },
    keepProcessAlive(keep: boolean) {
      state.referenced = keep;
    },
  };
  return { fake: fake as unknown as LdapConnection, state };
}

it('gives back the newest open connection of the same DC, never one still busy or closed', () => {
  const idle = new IdleConnections();
  const [a, b, c, other] = [connection(), connection(), connection(), connection('ldap://dc2')];
  idle.give(a.fake);
  idle.give(b.fake);
  idle.give(other.fake);
  c.state.idle = false; // an answer still pending: closed, not kept
  idle.give(c.fake);
  assert.equal(c.state.closed, true);
  b.state.closed = true; // dropped by the DC while kept
  assert.equal(a.state.referenced, false, 'a kept connection does not hold the process open');
  assert.equal(idle.take('ldap://dc1'), a.fake);
  assert.equal(a.state.referenced, true);
  assert.equal(idle.take('ldap://dc1'), undefined);
  assert.equal(idle.take('ldap://dc2'), other.fake);
  idle.close();
});

it(`keeps at most ${MAX_IDLE_PER_DC} per DC; drop() closes a DC's, close() all and any given back later`, () => {
  const idle = new IdleConnections();
  const many = Array.from({ length: MAX_IDLE_PER_DC + 2 }, () => connection());
  for (const { fake } of many) idle.give(fake);
  assert.deepEqual(
    many.map(({ state }) => state.closed),
    many.map((_, i) => i >= MAX_IDLE_PER_DC),
  );
  const other = connection('ldap://dc2');
  idle.give(other.fake);
  idle.drop('ldap://dc1');
  assert.ok(many.every(({ state }) => state.closed));
  assert.equal(other.state.closed, false);
  assert.equal(idle.take('ldap://dc1'), undefined);
  idle.close();
  assert.equal(other.state.closed, true);
  // A logon that was still running at close() gives its connection back: it is closed, not kept.
  const late = connection();
  idle.give(late.fake);
  assert.equal(late.state.closed, true);
});
