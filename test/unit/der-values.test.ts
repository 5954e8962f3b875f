// KerberosString and OBJECT IDENTIFIER values read from DER: what is accepted and what is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DerReader,
  der,
  readBitString,
  readEnumerated,
  readFields,
  readInteger,
  readKerberosString,
  readKerberosTime,
  readOid,
} from '../../src/asn1/der.js';
import { InvalidTokenError } from '../../src/errors.js';

const element = (tag: number, body: Buffer) =>
  new DerReader(Buffer.from([tag, body.length, ...body])).next('v');
const kerberosString = (body: Buffer) => readKerberosString(element(0x1b, body), 'v');
const oid = (body: Buffer) => readOid(element(0x06, body), 'v');
const invalid = (error: unknown) =>
  error instanceof InvalidTokenError && error.code === 'ERR_KRB_INVALID_TOKEN';

describe('KerberosString', () => {
  it('reads IA5 and the UTF-8 names Windows sends', () => {
    for (const text of ['EXAMPLE.TEST', 'alice', 'HTTP', 'jürgen.müller', '山田', '\ufffd']) {
      assert.equal(kerberosString(Buffer.from(text, 'utf8')), text);
      assert.equal(readKerberosString(new DerReader(der.kerberosString(text)).next('v'), 'v'), text);
    }
  });

  it('refuses control characters and bytes that are not UTF-8', () => {
    for (const hex of [
      '616c00696365', // NUL
      '616c1f', // unit separator
      '7f', // DEL
      '0a', // newline
      'c3', // a lead byte alone
      'c0af', // overlong '/'
      'eda080', // a UTF-16 surrogate
      'f4908080', // above U+10FFFF
      'ff',
    ]) {
      assert.throws(() => kerberosString(Buffer.from(hex, 'hex')), invalid, hex);
    }
  });
});

describe('OBJECT IDENTIFIER', () => {
  it('reads the SPNEGO mechanisms and any other OID alike', () => {
    for (const dotted of [
      '1.3.6.1.5.5.2',
      '1.2.840.113554.1.2.2',
      '1.2.840.48018.1.2.2',
      '1.3.6.1.4.1.311.2.2.10',
      '1.3.6.1.4.1.311.2.2.30',
      '1.2.840.113549.1.1.11',
      '2.5.4.3',
      '0.9.2342.19200300.100.1.25',
    ]) {
      assert.equal(readOid(new DerReader(der.oid(dotted)).next('v'), 'v'), dotted);
    }
  });

  it('refuses empty, unterminated and non-minimal encodings', () => {
    for (const hex of ['', '2a86', '2a8001', '8001']) {
      assert.throws(() => oid(Buffer.from(hex, 'hex')), invalid, hex);
    }
  });
});

describe('DER writer', () => {
  it('writes the shortest length form at every boundary, and reads back what it wrote', () => {
    const expected: [number, string][] = [
      [0, '0400'],
      [127, '047f'],
      [128, '048180'],
      [255, '0481ff'],
      [256, '04820100'],
      [65_535, '0482ffff'],
      [65_536, '0483010000'],
    ];
    for (const [length, head] of expected) {
      const body = Buffer.alloc(length, 0x5a);
      const encoded = der.octetString(body);
      assert.equal(encoded.subarray(0, head.length / 2).toString('hex'), head, `${length} bytes`);
      assert.equal(encoded.length, head.length / 2 + length);
      assert.deepEqual(new DerReader(encoded).next('v').body, body);
    }
  });

  it('writes a SEQUENCE of its items in order, and a constructed element inside it', () => {
    const encoded = der.sequence(der.integer(5), der.context(1, der.kerberosString('alice')), der.sequence());
    assert.equal(encoded.toString('hex'), '300e020105a1071b05616c6963653000');
    const reader = new DerReader(encoded);
    const inner = reader.inside(reader.next('s'), 's');
    assert.equal(inner.next('i').body.toString('hex'), '05');
    const field = inner.inside(inner.next('c'), 'c');
    assert.equal(readKerberosString(field.next('k'), 'k'), 'alice');
    field.end('c');
    assert.equal(inner.next('empty').body.length, 0);
    inner.end('s');
    assert.throws(() => new DerReader(encoded.subarray(0, 5)).next('cut'), invalid);
  });
});

describe('DER INTEGER', () => {
  it('writes the minimal two’s-complement form and reads it back, at every byte boundary', () => {
    const expected: [number, string][] = [
      [0, '020100'],
      [127, '02017f'],
      [128, '02020080'],
      [-1, '0201ff'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [255, '020200ff'],
      [32_767, '02027fff'],
      [32_768, '0203008000'],
      [0x3fffffff, '02043fffffff'],
      [0x7fffffff, '02047fffffff'],
      [0x80000000, '02050080000000'],
      [0xffffffff, '020500ffffffff'],
      [-0x80000000, '020480000000'],
    ];
    for (const [value, hex] of expected) {
      const encoded = der.integer(value);
      assert.equal(encoded.toString('hex'), hex, String(value));
      assert.equal(readInteger(new DerReader(encoded).next('i'), 'i'), value);
    }
    assert.throws(() => der.integer(0x100000000), RangeError);
    assert.throws(() => der.integer(1.5), RangeError);
  });
});

describe('DER reader bounds', () => {
  it('reads an EXPLICIT field in place as strictly as a reader of its own: one element, its bounds, the depth', () => {
    // SEQUENCE { [0] { INTEGER 1, INTEGER 2 } }: an EXPLICIT wrapper holds exactly one element.
    const two = new DerReader(Buffer.from('3008a006020101020102', 'hex'));
    assert.throws(
      () => readFields(two, two.next('S'), 'S', [0], [0]),
      (error: Error) => invalid(error) && error.message === 'S [0]: 3 unexpected trailing bytes',
    );
    // SEQUENCE { [0] { OCTET STRING of 3 bytes in a body of 2 } [1] { 00 } }.
    const past = new DerReader(Buffer.from('3007a00204' + '03a10100', 'hex'));
    assert.throws(
      () => readFields(past, past.next('S'), 'S', [0, 1], [0]),
      (error: Error) => invalid(error) && error.message.startsWith('S [0]: element of 3 bytes runs past'),
    );
    const one = new DerReader(Buffer.from('3005a003020107', 'hex'));
    assert.equal(readInteger(readFields(one, one.next('S'), 'S', [0], [0]).get(0)!, 'i'), 7);
    // Forty EXPLICIT wrappers around an INTEGER: deeper than any message nests.
    let nested = Buffer.from('020101', 'hex');
    for (let i = 0; i < 40; i++) nested = Buffer.concat([Buffer.from([0xa0, nested.length]), nested]);
    const deep = new DerReader(nested);
    let node = deep.next('top');
    assert.throws(
      () => {
        for (let i = 0; i < 40; i++) node = deep.explicit(node, 'nest', 0);
      },
      (error: Error) => invalid(error) && /deeper than 32/.test(error.message),
    );
  });

  it("refuses an element that fits the input but runs past its parent's body into a sibling", () => {
    // SEQUENCE { [0] { OCTET STRING of 3 bytes, in a body of 2 } [1] { 00 } }: the string would
    // end inside [1] if the reader bounded it by the input instead of by [0].
    const input = Buffer.from('3007a00204' + '03a10100', 'hex');
    const reader = new DerReader(input);
    const sequence = reader.inside(reader.next('s'), 's');
    const field = sequence.inside(sequence.next('[0]'), '[0]');
    assert.throws(() => field.next('string'), invalid);
    // A nested reader ends where its element does, whatever follows in the input.
    const whole = new DerReader(Buffer.from('3003020101' + '020102', 'hex'));
    const inner = whole.inside(whole.next('s'), 's');
    assert.equal(readInteger(inner.next('i'), 'i'), 1);
    assert.equal(inner.done, true);
    assert.throws(() => inner.next('past'), invalid);
  });
});

describe('DER values read in place', () => {
  // Each value is read from the message's own buffer between its offsets. Here a value sits
  // between neighbours: an OCTET STRING before it and bytes after it that would pass for its end
  // ('Z', then digits and 0x7f), so a read past its end shows. The reader reads nothing after it.
  const among = (value: string, after = '5a30307f7f') => {
    const reader = new DerReader(Buffer.from(`040100${value}${after}`, 'hex'));
    reader.next('before');
    return reader.next('v');
  };
  type Read = (node: ReturnType<typeof among>, what: string) => unknown;

  it('reads each value from its own bytes, not its neighbours', () => {
    assert.equal(readInteger(among('020105'), 'v'), 5);
    assert.equal(readInteger(among('020400ffffff'), 'v'), 0xffffff);
    assert.equal(readInteger(among('0202ff7f'), 'v'), -129);
    // One byte, whatever follows: a neighbour below 0x80 after 00, or of 0x80 or more after ff,
    // would make it look non-minimal.
    assert.equal(readInteger(among('020100', '7f'), 'v'), 0);
    assert.equal(readInteger(among('0201ff', '80'), 'v'), -1);
    assert.equal(readEnumerated(among('0a0103'), 'v'), 3);
    assert.equal(readKerberosString(among('1b05616c696365'), 'v'), 'alice');
    assert.equal(readKerberosString(among('1b056ac3bc7267'), 'v'), 'jürg');
    assert.equal(readKerberosString(among('1b00'), 'v'), '');
    const time = Buffer.from('20261206123456Z').toString('hex');
    assert.equal(readKerberosTime(among(`180f${time}`), 'v').toISOString(), '2026-12-06T12:34:56.000Z');
    assert.deepEqual(readBitString(among('030400a0b0c0'), 'v'), Buffer.from('a0b0c0', 'hex'));
    assert.deepEqual(readBitString(among('030100'), 'v'), Buffer.alloc(0));
  });

  it("refuses a value that would pass only with its neighbour's bytes", () => {
    const cases: [Read, string, string?][] = [
      [readInteger, '0200'], // no bytes
      [readInteger, '0206000000000001'], // six bytes
      [readInteger, '0202007f'], // non-minimal: 00, then a byte below 0x80
      [readEnumerated, '0a00'],
      [readEnumerated, '0a020101'],
      [readKerberosTime, `180e${Buffer.from('20261206123456').toString('hex')}`], // its 'Z' is the neighbour's
      [readKerberosString, '1b03616c7f'], // DEL inside
      [readKerberosString, '1b0261c3', 'bc'], // a lead byte whose continuation is the neighbour's
      [readBitString, '0300'], // no unused-bits octet
      [readBitString, '030101'], // one unused bit of no bits
      [readBitString, '030208ff'], // eight unused bits
    ];
    for (const [read, value, after] of cases)
      assert.throws(() => read(among(value, after), 'v'), invalid, value);
  });

  it('makes no reader that reaches outside its buffer', () => {
    const buf = Buffer.from('020105', 'hex');
    for (const bounds of [{ end: 4 }, { start: 4 }, { start: 2, end: 1 }, { start: -1 }])
      assert.throws(() => new DerReader(buf, bounds), RangeError, JSON.stringify(bounds));
    assert.equal(new DerReader(buf, { start: 3 }).done, true);
  });
});

describe('KerberosString and KerberosTime fields', () => {
  it('refuses C1 control characters (NEL, U+0085, among them) as it refuses C0 and DEL', () => {
    for (const text of ['al\u0085ice', '\u0080', 'x\u009f']) {
      assert.throws(() => kerberosString(Buffer.from(text, 'utf8')), invalid, JSON.stringify(text));
    }
    assert.equal(kerberosString(Buffer.from('\u00a0é', 'utf8')), '\u00a0é');
  });

  it('refuses a time whose fields Date.UTC would roll over', () => {
    const time = (text: string) => readKerberosTime(element(0x18, Buffer.from(text)), 'v');
    assert.equal(time('20261123235959Z').toISOString(), '2026-11-23T23:59:59.000Z');
    for (const text of [
      '20261123125960Z', // second 60
      '20261123126000Z', // minute 60
      '20261123240000Z', // hour 24
      '20260230120000Z', // 30 February
      '00501123120000Z', // year 50, which Date.UTC reads as 1950
    ]) {
      assert.throws(() => time(text), invalid, text);
    }
  });
});
