import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeAbort } from '../../src/session/handshake-abort.js';

describe('HandshakeAbort', () => {
  it('makes its signal when read, and one signal for every read', () => {
    const handle = new HandshakeAbort();
    const signal = handle.signal;
    assert.equal(handle.signal, signal);
    assert.equal(signal.aborted, false);
    handle.abort();
    assert.equal(signal.aborted, true);
  });

  it('aborted before its signal is read, gives a signal already aborted', () => {
    const handle = new HandshakeAbort();
    handle.abort();
    assert.equal(handle.signal.aborted, true);
    handle.abort();
    assert.equal(handle.signal.aborted, true);
  });

  it('an abort with no reader makes no signal', (t) => {
    const made = t.mock.method(globalThis, 'AbortController');
    new HandshakeAbort().abort();
    assert.equal(made.mock.callCount(), 0);
  });
});
