import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { BerWriter } from 'ldapts';
import { LdapConnection, LdapTransportError } from '../../src/dc/ldap-connection.js';
import { decodeMessage, Op, takeFrames } from '../../src/dc/ldap-messages.js';
import { sidToBuffer, sidToString } from '../../src/dc/sid.js';

/** A BindResponse as a DC sends it: resultCode 14 with the Type 2 in serverSaslCreds. */
function bindResponse(messageId: number, resultCode: number, creds?: Buffer, diagnostic = ''): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeInt(messageId);
  writer.startSequence(Op.BindResponse);
  writer.writeEnumeration(resultCode);
  writer.writeString('');
  writer.writeString(diagnostic);
  if (creds) writer.writeBuffer(creds, 0x87);
  writer.endSequence();
  writer.endSequence();
  return writer.buffer;
}

/** An LDAP "server" that answers each request with bytes chosen by the test, delivered as told. */
async function scriptedServer(answer: (socket: Socket, messageId: number) => void) {
  const server = createServer((socket) => {
    socket.on('error', () => {}); // the client may reset us on purpose
    socket.on('data', (data) => {
      const frames = takeFrames(data, 1 << 20).frames;
      for (const frame of frames) answer(socket, frame[frame[1]! & 0x80 ? 2 + (frame[1]! & 0x7f) + 2 : 4]!);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ldap://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const TYPE2 = Buffer.concat([Buffer.from('NTLMSSP\0', 'latin1'), Buffer.alloc(300, 0xab)]);

describe('LDAP framing and messages', () => {
  it('decodes a BindResponse with binary serverSaslCreds intact', () => {
    const decoded = decodeMessage(bindResponse(7, 14, TYPE2));
    assert.equal(decoded?.op, Op.BindResponse);
    assert.equal(decoded?.messageId, 7);
    if (decoded?.op !== Op.BindResponse) return;
    assert.equal(decoded.result.resultCode, 14);
    assert.deepEqual(decoded.serverSaslCreds, TYPE2);
  });

  it('splits coalesced messages and waits for partial ones', () => {
    const a = bindResponse(1, 14, TYPE2);
    const b = bindResponse(2, 0);
    const stream = Buffer.concat([a, b, a.subarray(0, 10)]);
    const { frames, rest } = takeFrames(stream, 1 << 20);
    assert.deepEqual(frames, [a, b]);
    assert.deepEqual(rest, a.subarray(0, 10));
    assert.throws(() => takeFrames(a, 100), /exceeds the 100-byte limit/);
    assert.throws(() => takeFrames(Buffer.from([0x04, 0x00]), 100), /out of step/);
  });

  it('answers arriving one byte at a time, or two in one chunk, reach their operations', async () => {
    const server = await scriptedServer((socket, messageId) => {
      const bytes = bindResponse(messageId, 14, TYPE2);
      if (messageId === 1) {
        socket.setNoDelay(true);
        void (async () => {
          for (let i = 0; i < bytes.length; i++) {
            socket.write(bytes.subarray(i, i + 1));
            if (i % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
          }
        })();
      } else {
        // Answer 2 and 3 together once the third request is in.
        if (messageId === 3) socket.write(Buffer.concat([bindResponse(2, 14, TYPE2), bytes]));
      }
    });
    const connection = await LdapConnection.connect({
      url: server.url,
      connectTimeoutMs: 1000,
      operationTimeoutMs: 3000,
    });
    const first = await connection.saslBind('GSS-SPNEGO', Buffer.from('type1'));
    assert.deepEqual(first.serverSaslCreds, TYPE2);
    const [second, third] = await Promise.all([
      connection.saslBind('GSS-SPNEGO', Buffer.from('x')),
      connection.saslBind('GSS-SPNEGO', Buffer.from('y')),
    ]);
    assert.equal(second.result.resultCode, 14);
    assert.equal(third.result.resultCode, 14);
    connection.close();
    server.close();
  });

  it('a silent server: the operation fails with operation-timeout, the connection is closed', async () => {
    const server = await scriptedServer(() => {});
    const connection = await LdapConnection.connect({
      url: server.url,
      connectTimeoutMs: 1000,
      operationTimeoutMs: 150,
    });
    await assert.rejects(
      connection.saslBind('GSS-SPNEGO', Buffer.from('x')),
      (e) => e instanceof LdapTransportError && e.reason === 'operation-timeout',
    );
    assert.equal(connection.closed, true);
    server.close();
  });

  it('an oversized answer is a protocol error, not a memory leak', async () => {
    const server = await scriptedServer((socket, id) =>
      socket.write(bindResponse(id, 14, Buffer.alloc(2 * 1024 * 1024))),
    );
    const connection = await LdapConnection.connect({
      url: server.url,
      connectTimeoutMs: 1000,
      operationTimeoutMs: 3000,
    });
    await assert.rejects(
      connection.saslBind('GSS-SPNEGO', Buffer.from('x')),
      (e) => e instanceof LdapTransportError && e.reason === 'protocol',
    );
    server.close();
  });

  it('SIDs round-trip between text and bytes', () => {
    const sid = 'S-1-5-21-2323529550-1970141994-1773496749-1102';
    assert.equal(sidToString(sidToBuffer(sid)), sid);
    assert.equal(sidToString(sidToBuffer('S-1-5-7')), 'S-1-5-7');
    assert.throws(() => sidToString(Buffer.from([1, 5, 0, 0])));
  });
});
