// SPNEGO (RFC 4178) tokens: the real one from curl --negotiate, round trips, and broken DER.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { InvalidTokenError } from '../../src/errors.js';
import {
  decodeSpnego,
  encodeNegTokenInit,
  encodeNegTokenResp,
  MechOid,
  NegState,
  peekNegotiateToken,
} from '../../src/negotiate/spnego.js';

const CURL = Buffer.from(
  readFileSync(new URL('../fixtures/kerberos/curl-negotiate-token.b64', import.meta.url), 'utf8').trim(),
  'base64',
);
const invalid = (error: unknown) =>
  error instanceof InvalidTokenError && error.code === 'ERR_SPNEGO_INVALID_TOKEN' && error.statusCode === 400;

describe('SPNEGO', () => {
  it('reads the NegTokenInit of curl --negotiate: krb5 only, with an optimistic AP-REQ', () => {
    const init = decodeSpnego(CURL);
    assert.equal(init.kind, 'init');
    if (init.kind !== 'init') return;
    assert.deepEqual(init.mechTypes, [MechOid.KRB5]);
    assert.equal(init.mechTypesDer.toString('hex'), '300b06092a864886f712010202');
    assert.equal(init.mechToken?.length, 1397);
    assert.equal(init.mechToken?.[0], 0x60);
    assert.equal(init.mechListMIC, undefined);
    assert.equal(peekNegotiateToken(CURL), 'spnego-init');
    assert.equal(peekNegotiateToken(init.mechToken!), 'krb5');
    assert.equal(peekNegotiateToken(Buffer.from('NTLMSSP\0\x01\0\0\0', 'latin1')), 'ntlmssp');
  });

  it('tells a token from its first bytes only when they are whole', () => {
    const peek = (hex: string) => peekNegotiateToken(Buffer.from(hex, 'hex'));
    assert.equal(peekNegotiateToken(Buffer.from('NTLMSSP', 'latin1')), 'unknown');
    assert.equal(peekNegotiateToken(Buffer.from('NTLMSSP\x01', 'latin1')), 'unknown');
    // The SPNEGO OID 1.3.6.1.5.5.2 (06 06 2b0601050502) after a frame of one, two or five length octets.
    assert.equal(peek('6020' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('608200ff' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('6084000000ff' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('60820100' + '06092a864886f712010202' + '0100'), 'krb5');
    // Length octets that hold 0x06 themselves: 1,536-1,791 bytes (82 06 xx), or xx06.
    assert.equal(peek('6082062b' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('608206cb' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('60820506' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('6006' + '06062b0601050502'), 'spnego-init');
    assert.equal(peek('6082060d' + '06092a864886f712010202' + '0100'), 'krb5');
    for (const size of [1200, 1540, 1700, 1800]) {
      const token = encodeNegTokenInit({ mechTypes: [MechOid.KRB5], mechToken: Buffer.alloc(size, 1) });
      assert.equal(peekNegotiateToken(token), 'spnego-init', `a token of ${token.length} bytes`);
    }
    // Cut inside the OID, a different OID, an OID one octet longer, no OID where one must be.
    assert.equal(peek('6020' + '06062b06010505'), 'unknown');
    assert.equal(peek('6020' + '06062b0601050503'), 'unknown');
    assert.equal(peek('6020' + '06072b060105050200'), 'unknown');
    assert.equal(peek('60850000000000' + '06062b0601050502'), 'unknown');
    assert.equal(peek('6080' + '06062b0601050502'), 'unknown'); // BER's indefinite length
    assert.equal(peek('6082' + '06062b0601050502'), 'unknown'); // the OID where the length must be
    assert.equal(peek('60'), 'unknown');
    assert.equal(peek(''), 'unknown');
  });

  it('round-trips a Windows-style NegTokenInit and a NegTokenResp, mechListMIC included', () => {
    const mechTypes = [MechOid.MS_KRB5, MechOid.KRB5, MechOid.NEGOEX, MechOid.NTLMSSP];
    const token = encodeNegTokenInit({
      mechTypes,
      mechToken: Buffer.from('NTLMSSP\0'),
      mechListMIC: Buffer.alloc(16, 9),
    });
    const init = decodeSpnego(token);
    assert.equal(init.kind, 'init');
    if (init.kind !== 'init') return;
    assert.deepEqual(init.mechTypes, mechTypes);
    assert.deepEqual(init.mechListMIC, Buffer.alloc(16, 9));
    assert.equal(init.mechTypesDer[0], 0x30);
    const resp = {
      negState: NegState.ACCEPT_COMPLETED,
      supportedMech: MechOid.KRB5,
      responseToken: Buffer.alloc(150, 1),
      mechListMIC: Buffer.alloc(12, 2),
    };
    const encoded = encodeNegTokenResp(resp);
    assert.equal(peekNegotiateToken(encoded), 'spnego-resp');
    assert.deepEqual(decodeSpnego(encoded), { kind: 'resp', ...resp });
    assert.deepEqual(decodeSpnego(encodeNegTokenResp({ negState: NegState.REJECT })), {
      kind: 'resp',
      negState: NegState.REJECT,
      supportedMech: undefined,
      responseToken: undefined,
      mechListMIC: undefined,
    });
  });

  it('refuses broken DER with ERR_SPNEGO_INVALID_TOKEN', () => {
    const cases: Buffer[] = [
      Buffer.alloc(0),
      CURL.subarray(0, CURL.length - 1), // truncated
      Buffer.concat([CURL, Buffer.from([0])]), // trailing byte
      Buffer.from('6080', 'hex'), // indefinite length (BER)
      Buffer.from('60810106', 'hex'), // non-minimal length
      Buffer.from('a100', 'hex'), // NegTokenResp without its SEQUENCE
      Buffer.from('a1053003a00100', 'hex'), // negState of 0 bytes
      encodeNegTokenResp({ negState: 7 }),
      encodeNegTokenInit({ mechTypes: [] }),
      Buffer.alloc(70 * 1024, 0x60),
    ];
    // Framed for another mechanism (krb5) instead of SPNEGO.
    const wrongOid = Buffer.from(CURL);
    wrongOid[wrongOid.indexOf(Buffer.from('2b0601050502', 'hex')) + 5] = 3;
    cases.push(wrongOid);
    for (let cut = 1; cut < 60; cut++) cases.push(CURL.subarray(0, cut));
    for (const token of cases)
      assert.throws(() => decodeSpnego(token), invalid, token.toString('hex').slice(0, 40));
  });
});
