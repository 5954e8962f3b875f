// The client side of Basic-with-a-keytab without a KDC: string-to-key's enctypes and the
// s2kparams bound (its RFC 3962 vectors are in kerberos-crypto.test.ts), KRB-ERROR and ETYPE-INFO2
// reading, KDC-REQ encoding, KDC addresses, and the transport's size bound.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { der, readFields, readInteger, readOne, TagClass } from '../../src/asn1/der.js';
import { encodeAsReq } from '../../src/kerberos/kdc-req.js';
import { KdcTransport, parseKdcAddress } from '../../src/kerberos/kdc-transport.js';
import { decodeKrbError, etypeInfo2Of, isKrbError, KdcErrorCode } from '../../src/kerberos/krb-error.js';
import { NameType } from '../../src/kerberos/principal.js';
import { iterationsOf, MAX_ITERATIONS, stringToKey } from '../../src/kerberos/string-to-key.js';

// stringToKey against the RFC 3962 appendix B vectors: kerberos-crypto.test.ts.
describe('stringToKey: enctypes and s2kparams', () => {
  it('refuses RC4 (23): no string-to-key for it', async () => {
    await assert.rejects(stringToKey(23, 'password', 'salt'), RangeError);
  });

  it('s2kparams: 4096 when absent, a 4-byte count, nothing above the bound or zero', () => {
    assert.equal(iterationsOf(undefined), 4096);
    assert.equal(iterationsOf(Buffer.from([0, 0, 0x10, 0])), 4096);
    assert.equal(iterationsOf(Buffer.from([0, 0, 0, 1])), 1);
    assert.throws(() => iterationsOf(Buffer.from([0, 0, 0, 0])), RangeError);
    const tooMany = Buffer.alloc(4);
    tooMany.writeUInt32BE(MAX_ITERATIONS + 1);
    assert.throws(() => iterationsOf(tooMany), RangeError);
    assert.throws(() => iterationsOf(Buffer.from([0, 1])), RangeError);
  });
});

describe('KRB-ERROR and ETYPE-INFO2', () => {
  const preauthRequired = (eData: Buffer | undefined) =>
    der.application(
      30,
      der.sequence(
        der.context(0, der.integer(5)),
        der.context(1, der.integer(30)),
        der.context(4, der.kerberosTime(new Date(0))),
        der.context(5, der.integer(0)),
        der.context(6, der.integer(25)),
        der.context(9, der.kerberosString('EXAMPLE.TEST')),
        der.context(
          10,
          der.sequence(
            der.context(0, der.integer(2)),
            der.context(1, der.sequence(der.kerberosString('krbtgt'), der.kerberosString('EXAMPLE.TEST'))),
          ),
        ),
        ...(eData ? [der.context(12, der.octetString(eData))] : []),
      ),
    );
  const etypeInfo2 = der.sequence(
    der.sequence(
      der.context(0, der.integer(18)),
      der.context(1, der.kerberosString('EXAMPLE.TESTalice')),
      der.context(2, der.octetString(Buffer.from([0, 0, 0x10, 0]))),
    ),
    der.sequence(der.context(0, der.integer(23))),
  );
  const methodData = der.sequence(
    der.sequence(der.context(1, der.integer(2)), der.context(2, der.octetString(Buffer.alloc(0)))),
    der.sequence(der.context(1, der.integer(19)), der.context(2, der.octetString(etypeInfo2))),
  );

  it('PREAUTH_REQUIRED with METHOD-DATA: the salt and iterations of each enctype', () => {
    const bytes = preauthRequired(methodData);
    assert.ok(isKrbError(bytes));
    const error = decodeKrbError(bytes);
    assert.equal(error.errorCode, KdcErrorCode.PREAUTH_REQUIRED);
    const info = etypeInfo2Of(error.methodData)!;
    assert.deepEqual(
      info.map((e) => [e.etype, e.salt, e.s2kparams?.toString('hex')]),
      [
        [18, 'EXAMPLE.TESTalice', '00001000'],
        [23, undefined, undefined],
      ],
    );
  });

  it('e-data that is not METHOD-DATA is no METHOD-DATA, not a failure', () => {
    assert.deepEqual(decodeKrbError(preauthRequired(Buffer.from('not der'))).methodData, []);
    assert.deepEqual(decodeKrbError(preauthRequired(undefined)).methodData, []);
  });
});

describe('AS-REQ encoding', () => {
  it('carries the client, our realm, krbtgt, the nonce, AES only, canonicalize for an enterprise name', () => {
    const bytes = encodeAsReq([], {
      cname: { nameType: NameType.ENTERPRISE, components: ['alice@example.test'] },
      realm: 'EXAMPLE.TEST',
      sname: { nameType: NameType.SRV_INST, components: ['krbtgt', 'EXAMPLE.TEST'] },
      till: new Date('2030-01-01T00:00:00Z'),
      nonce: 0x7fff1234,
      etypes: [18, 17],
      canonicalize: true,
    });
    const { reader } = readOne(bytes, 'AS-REQ', TagClass.APPLICATION, 10);
    const f = readFields(reader, reader.next('AS-REQ'), 'AS-REQ', [1, 2, 3, 4], [1, 2, 4]);
    assert.equal(readInteger(f.get(2)!, 'msg-type'), 10);
    assert.equal(f.has(3), false, 'no padata on the probe');
    const body = readFields(reader, f.get(4)!, 'body', [0, 1, 2, 3, 5, 7, 8], [0, 1, 2, 3, 5, 7, 8]);
    assert.equal(readInteger(body.get(7)!, 'nonce'), 0x7fff1234);
    assert.equal(body.get(0)!.body.toString('hex'), '0000010000', 'KDCOptions: canonicalize (bit 15) only');
    assert.equal(body.get(8)!.body.toString('hex'), '020112020111', 'etypes 18, 17: no RC4');
  });
});

describe('KDC addresses and transport', () => {
  it('host, host:port, [v6]:port; anything else is a configuration error', () => {
    assert.deepEqual(parseKdcAddress('dc1.example.test', 'kdc'), { host: 'dc1.example.test', port: 88 });
    assert.deepEqual(parseKdcAddress('10.0.0.10:1088', 'kdc'), { host: '10.0.0.10', port: 1088 });
    assert.deepEqual(parseKdcAddress('[::1]:88', 'kdc'), { host: '::1', port: 88 });
    for (const bad of ['', 'dc1:0', 'dc1:70000', 'dc1 dc2', 'http://dc1']) {
      assert.throws(() => parseKdcAddress(bad, 'kdc'), { code: 'ERR_NTLM_CONFIG' }, bad);
    }
  });

  it('an answer announced larger than the bound is refused with 503, unread', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.write(Buffer.from([0x00, 0x10, 0x00, 0x00])));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const transport = new KdcTransport(async () => [{ host: '127.0.0.1', port }], {
      connectTimeoutMs: 2000,
      timeoutMs: 2000,
      maxAnswerBytes: 64 * 1024,
    });
    try {
      await assert.rejects(transport.exchange(Buffer.from('request'), new AbortController().signal), {
        code: 'ERR_KRB_KDC_UNAVAILABLE',
        message: /larger than 65536/,
      });
    } finally {
      server.close();
    }
  });

  it('a KDC refused at connect is marked down and the next tried; when all are down, 503 with Retry-After and no connection', async () => {
    let connections = 0;
    const answering = net.createServer((socket) => {
      connections++;
      socket.once('data', () => {
        const answer = Buffer.from('answer');
        const frame = Buffer.alloc(4);
        frame.writeUInt32BE(answer.length);
        socket.end(Buffer.concat([frame, answer]));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => answering.listen(0, '127.0.0.1', resolve));
    const { port } = answering.address() as net.AddressInfo;
    const transport = new KdcTransport(
      async () => [
        { host: '127.0.0.1', port: 1 },
        { host: '127.0.0.1', port },
      ],
      { connectTimeoutMs: 2000, timeoutMs: 2000, maxAnswerBytes: 64 * 1024, firstRetryMs: 60_000 },
    );
    const events: string[] = [];
    transport.observe({
      dcKnown: () => {},
      dcDown: (kdc) => events.push(`down ${kdc}`),
      dcUp: (kdc) => events.push(`up ${kdc}`),
      dcLatency: () => {},
    });
    const signal = new AbortController().signal;
    try {
      assert.equal((await transport.exchange(Buffer.from('one'), signal)).toString(), 'answer');
      assert.deepEqual(events, ['down 127.0.0.1:1']);
      assert.equal((await transport.exchange(Buffer.from('two'), signal)).toString(), 'answer');
      assert.equal(connections, 2);
      // The one left goes down too (it closes before answering): nothing is tried until a back-off ends.
      answering.removeAllListeners('connection');
      answering.on('connection', (socket) => {
        connections++;
        socket.destroy();
      });
      await assert.rejects(transport.exchange(Buffer.from('three'), signal), {
        code: 'ERR_KRB_KDC_UNAVAILABLE',
      });
      await assert.rejects(
        transport.exchange(Buffer.from('four'), signal),
        (error: Error & { retryAfterSeconds?: number }) => {
          assert.match(error.message, /all failed recently/);
          assert.ok((error.retryAfterSeconds ?? 0) >= 1, String(error.retryAfterSeconds));
          return true;
        },
      );
      assert.equal(connections, 3, 'a KDC marked down was connected to');
      assert.deepEqual(events, ['down 127.0.0.1:1', `down 127.0.0.1:${port}`]);
    } finally {
      answering.close();
    }
  });

  it('close(): the exchange in flight ends with 503 at once, and none starts after it', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    let asked = 0;
    let closed = 0;
    const source = Object.assign(
      async () => {
        asked++;
        return [{ host: '127.0.0.1', port }];
      },
      { close: () => void closed++ },
    );
    const transport = new KdcTransport(source, {
      connectTimeoutMs: 60_000,
      timeoutMs: 60_000,
      maxAnswerBytes: 1024,
    });
    const signal = new AbortController().signal;
    try {
      const pending = transport.exchange(Buffer.from('one'), signal);
      await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
      transport.close();
      await assert.rejects(pending, { code: 'ERR_KRB_KDC_UNAVAILABLE', message: /closed/ });
      await assert.rejects(transport.exchange(Buffer.from('two'), signal), {
        code: 'ERR_KRB_KDC_UNAVAILABLE',
      });
      assert.equal(asked, 1, 'the source was asked after close()');
      assert.equal(closed, 1);
    } finally {
      silent.close();
    }
  });
});
