import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeAbort } from '../../src/session/handshake-abort.js';
import type { Verifier } from '../../src/types.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1 } from '../helpers/ntlm-client.js';
import { startServer, testDirectory } from '../helpers/servers.js';

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

describe("a handshake's signal, through ntlm()", () => {
  it('is aborted when a new handshake starts on the connection, and when the client leaves', async () => {
    const directory = testDirectory();
    const signals: AbortSignal[] = [];
    const verifier: Verifier = {
      ...directory,
      name: 'recording',
      startHandshake: (start) => {
        // Read only now, as the LDAP relay and Netlogon read it: the handle makes it on this read.
        signals.push(start.signal);
        return directory.startHandshake(start);
      },
    };
    const t = await startServer('express4', { verifier });
    const client = new NtlmHttpClient(t.url);
    try {
      const negotiate = { Authorization: `NTLM ${type1().toString('base64')}` };
      assert.equal((await client.request('/', negotiate)).status, 401);
      assert.equal(signals.length, 1);
      assert.equal(signals[0]!.aborted, false, 'pending, not abandoned');
      assert.equal((await client.request('/', negotiate)).status, 401);
      assert.equal(signals[0]!.aborted, true, 'a new handshake on the connection abandons the first');
      assert.equal(signals[1]!.aborted, false);
      client.close();
      const deadline = Date.now() + 5000;
      while (!signals[1]!.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(signals[1]!.aborted, true, 'the client left');
    } finally {
      client.close();
      await t.close();
    }
  });
});
