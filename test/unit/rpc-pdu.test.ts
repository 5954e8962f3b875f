import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { RpcConnection } from '../../src/rpc/connection.js';
import { decodeEptMapResponse, encodeTower, towerTcpPort } from '../../src/rpc/epm.js';
import { NdrWriter } from '../../src/rpc/ndr.js';
import {
  authPadLength,
  decodeBindAck,
  decodePdu,
  decodeUuid,
  encodePdu,
  encodeUuid,
  NDR20,
  PacketType,
  PfcFlags,
  RpcFault,
  RpcProtocolError,
} from '../../src/rpc/pdu.js';
import { TransportError } from '../../src/rpc/transport.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('DCE/RPC PDU codec', () => {
  it('writes UUIDs with their first three fields little-endian', () => {
    assert.deepEqual(encodeUuid(NDR20.uuid), hex('045d888aeb1cc9119fe808002b104860'));
    assert.equal(decodeUuid(encodeUuid(NDR20.uuid)), NDR20.uuid);
  });

  it('encodes the common header, body and auth verifier, and reads them back', () => {
    const body = Buffer.concat([Buffer.alloc(8, 1), Buffer.alloc(4)]);
    const pdu = encodePdu({
      type: PacketType.request,
      flags: PfcFlags.FIRST_FRAG | PfcFlags.LAST_FRAG,
      callId: 7,
      body,
      auth: {
        authType: 0x44,
        authLevel: 6,
        authPadLength: 4,
        authContextId: 1,
        authValue: Buffer.alloc(56, 9),
      },
    });
    assert.deepEqual(pdu.subarray(0, 16), hex('05 00 00 03 10000000 5c00 3800 07000000'));
    assert.deepEqual(pdu.subarray(28, 36), hex('44 06 04 00 01000000'));
    const decoded = decodePdu(pdu);
    assert.equal(decoded.type, PacketType.request);
    assert.equal(decoded.callId, 7);
    assert.deepEqual(decoded.body, body);
    assert.equal(decoded.auth?.authPadLength, 4);
    assert.deepEqual(decoded.auth?.authValue, Buffer.alloc(56, 9));
  });

  it('refuses a PDU whose lengths lie', () => {
    const pdu = encodePdu({ type: PacketType.response, flags: 3, callId: 1, body: Buffer.alloc(8) });
    assert.throws(() => decodePdu(pdu.subarray(0, 20)), RpcProtocolError);
    const wrongVersion = Buffer.from(pdu);
    wrongVersion[0] = 4;
    assert.throws(() => decodePdu(wrongVersion), RpcProtocolError);
    const bigEndian = Buffer.from(pdu);
    bigEndian[4] = 0;
    assert.throws(() => decodePdu(bigEndian), RpcProtocolError);
    const authTooLong = Buffer.from(pdu);
    authTooLong.writeUInt16LE(100, 10);
    assert.throws(() => decodePdu(authTooLong), RpcProtocolError);
  });

  it('reads bind_ack: secondary address, padding, the result of our context', () => {
    const body = Buffer.concat([
      hex('b810 b810 78563412'),
      hex('0400'),
      Buffer.from('135\0'),
      hex('0000'), // pad to 4 (the body starts 16 bytes into the PDU)
      hex('01 00 0000'),
      hex('0000 0000'),
      encodeUuid(NDR20.uuid),
      hex('02000000'),
    ]);
    const ack = decodeBindAck(body);
    assert.equal(ack.maxRecvFrag, 4280);
    assert.equal(ack.assocGroupId, 0x12345678);
    assert.equal(ack.result, 0);
    assert.equal(ack.transferSyntax, NDR20.uuid);
    assert.throws(() => decodeBindAck(body.subarray(0, 30)), RpcProtocolError);
  });

  it('pads the stub to a multiple of 16 before the sec_trailer', () => {
    assert.deepEqual(
      [0, 1, 15, 16, 17].map((n) => authPadLength(n)),
      [0, 15, 1, 0, 15],
    );
  });
});

describe('endpoint mapper towers', () => {
  const iface = { uuid: '12345678-1234-abcd-ef00-01234567cffb', major: 1, minor: 0 };

  it('asks with five floors and reads the port from the TCP floor (big-endian)', () => {
    const tower = encodeTower(iface);
    assert.equal(tower.readUInt16LE(0), 5);
    assert.equal(towerTcpPort(tower), 0);
    const answer = Buffer.from(tower);
    const tcpFloor = answer.indexOf(hex('0100 07 0200'));
    answer.writeUInt16BE(49152, tcpFloor + 5);
    assert.equal(towerTcpPort(answer), 49152);
    assert.throws(() => towerTcpPort(answer.subarray(0, 30)), RpcProtocolError);
  });

  it('reads an ept_map answer, and refuses a non-zero status', () => {
    const tower = encodeTower(iface);
    const tcpFloor = tower.indexOf(hex('0100 07 0200'));
    tower.writeUInt16BE(49153, tcpFloor + 5);
    const answer = (status: number) => {
      const w = new NdrWriter();
      w.bytes(Buffer.alloc(20));
      w.u32(1);
      w.construct(() => {
        w.varyingCounts(4, 1);
        w.pointer(() => {
          w.u32(tower.length);
          w.u32(tower.length);
          w.bytes(tower);
        });
      });
      w.u32(status);
      return w.toBuffer();
    };
    assert.deepEqual(decodeEptMapResponse(answer(0)), [49153]);
    assert.throws(() => decodeEptMapResponse(answer(0x16c9a0d6)), RpcProtocolError);
  });
});

/** A DCE/RPC server of our own that answers each PDU with what `respond` returns. */
async function fakeServer(respond: (pdu: ReturnType<typeof decodePdu>) => Buffer[]) {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 16 && buffered.length >= buffered.readUInt16LE(8)) {
        const length = buffered.readUInt16LE(8);
        for (const out of respond(decodePdu(buffered.subarray(0, length)))) socket.write(out);
        buffered = buffered.subarray(length);
      }
    });
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function bindAck(callId: number): Buffer {
  const body = Buffer.concat([
    hex('b810 b810 01000000 0000 0000'),
    hex('01 00 0000 0000 0000'),
    encodeUuid(NDR20.uuid),
    hex('02000000'),
  ]);
  return encodePdu({ type: PacketType.bindAck, flags: 3, callId, body });
}

function response(callId: number, flags: number, stub: Buffer): Buffer {
  return encodePdu({
    type: PacketType.response,
    flags,
    callId,
    body: Buffer.concat([Buffer.alloc(8), stub]),
  });
}

const IFACE = { uuid: '12345678-1234-abcd-ef00-01234567cffb', major: 1, minor: 0 };

describe('RpcConnection against a server of our own', () => {
  it('binds, then reassembles a response sent in three fragments', async () => {
    const server = await fakeServer((pdu) => {
      if (pdu.type === PacketType.bind) return [bindAck(pdu.callId)];
      return [
        response(pdu.callId, PfcFlags.FIRST_FRAG, Buffer.from('one-')),
        response(pdu.callId, 0, Buffer.from('two-')),
        response(pdu.callId, PfcFlags.LAST_FRAG, Buffer.from('three')),
      ];
    });
    const connection = await RpcConnection.open({
      host: '127.0.0.1',
      port: server.port,
      connectTimeoutMs: 1000,
      callTimeoutMs: 1000,
    });
    try {
      await connection.bind(IFACE);
      assert.equal((await connection.call(1, Buffer.from('hi'))).toString(), 'one-two-three');
      assert.equal((await connection.call(1, Buffer.from('again'))).toString(), 'one-two-three');
    } finally {
      connection.close();
      server.close();
    }
  });

  it('splits a large request into fragments within max_recv_frag', async () => {
    const seen: number[] = [];
    const server = await fakeServer((pdu) => {
      if (pdu.type === PacketType.bind) return [bindAck(pdu.callId)];
      seen.push(pdu.raw.length);
      return pdu.flags & PfcFlags.LAST_FRAG ? [response(pdu.callId, 3, Buffer.from('ok'))] : [];
    });
    const connection = await RpcConnection.open({
      host: '127.0.0.1',
      port: server.port,
      connectTimeoutMs: 1000,
      callTimeoutMs: 1000,
    });
    try {
      await connection.bind(IFACE);
      assert.equal((await connection.call(2, Buffer.alloc(10_000, 1))).toString(), 'ok');
      assert.equal(seen.length, 3);
      assert.ok(seen.every((length) => length <= 4280));
    } finally {
      connection.close();
      server.close();
    }
  });

  it('turns a fault into RpcFault and closes the connection', async () => {
    const server = await fakeServer((pdu) => {
      if (pdu.type === PacketType.bind) return [bindAck(pdu.callId)];
      return [
        encodePdu({
          type: PacketType.fault,
          flags: 3,
          callId: pdu.callId,
          body: hex('00000000 0000 00 00 f7060000 00000000'),
        }),
      ];
    });
    const connection = await RpcConnection.open({
      host: '127.0.0.1',
      port: server.port,
      connectTimeoutMs: 1000,
      callTimeoutMs: 1000,
    });
    try {
      await connection.bind(IFACE);
      await assert.rejects(connection.call(1, Buffer.alloc(4)), (error: unknown) => {
        return error instanceof RpcFault && error.status === 0x6f7;
      });
      assert.equal(connection.usable, false);
    } finally {
      connection.close();
      server.close();
    }
  });

  it('gives up on a silent server after the call timeout, and on a response too large', async () => {
    const silent = await fakeServer(() => []);
    const connection = await RpcConnection.open({
      host: '127.0.0.1',
      port: silent.port,
      connectTimeoutMs: 1000,
      callTimeoutMs: 200,
    });
    const started = Date.now();
    await assert.rejects(connection.bind(IFACE), TransportError);
    assert.ok(Date.now() - started < 1000);
    assert.equal(connection.usable, false);
    silent.close();

    const flood = await fakeServer((pdu) =>
      pdu.type === PacketType.bind
        ? [bindAck(pdu.callId)]
        : Array.from({ length: 3 }, () => response(pdu.callId, 0, Buffer.alloc(4000))),
    );
    const small = await RpcConnection.open({
      host: '127.0.0.1',
      port: flood.port,
      connectTimeoutMs: 1000,
      callTimeoutMs: 1000,
      maxMessageBytes: 10_000,
    });
    try {
      await small.bind(IFACE);
      await assert.rejects(small.call(1, Buffer.alloc(4)), RpcProtocolError);
    } finally {
      small.close();
      flood.close();
    }
  });

  it('refuses a connection it cannot open within the connect timeout', async () => {
    await assert.rejects(
      RpcConnection.open({ host: '127.0.0.1', port: 9, connectTimeoutMs: 500, callTimeoutMs: 500 }),
      TransportError,
    );
  });
});
