// DerWriter writes what der.ts's `der.*` functions write, byte for byte, and what the reader reads
// back: lengths in every form DER has, integers at every width boundary, nesting, and growth
// past the capacity it was given.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerReader, der, readInteger, readKerberosTime, readOctetString } from '../../src/asn1/der.js';
import { DerWriter } from '../../src/asn1/der-writer.js';

const bytes = (length: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 7 + 3) & 0xff));

describe('DerWriter', () => {
  it('writes lengths as der.* does, in the short form and the long forms of 1, 2 and 3 octets', () => {
    for (const length of [0, 1, 127, 128, 255, 256, 1000, 65_535, 65_536, 70_000]) {
      const body = bytes(length);
      const writer = new DerWriter(8);
      writer.octetString(body);
      assert.deepEqual(writer.result(), der.octetString(body), `OCTET STRING of ${length}`);
      assert.deepEqual(readOctetString(new DerReader(writer.result()).next('v'), 'v'), body);
    }
  });

  it('nests constructed elements whose contents move when their length grows', () => {
    for (const length of [10, 120, 126, 127, 128, 300, 70_000]) {
      const payload = bytes(length);
      const writer = new DerWriter(4);
      const outer = writer.application(15);
      const sequence = writer.sequence();
      let field = writer.context(0);
      writer.integer(5);
      writer.end(field);
      field = writer.context(2);
      writer.octetString(payload);
      writer.end(field);
      writer.end(sequence);
      writer.end(outer);
      const expected = der.application(
        15,
        der.sequence(der.context(0, der.integer(5)), der.context(2, der.octetString(payload))),
      );
      assert.deepEqual(writer.result(), expected, `payload of ${length}`);
    }
  });

  it('writes INTEGERs in their fewest octets, as der.integer does, at every width boundary', () => {
    const values = [0, 1, -1, 127, 128, -128, -129, 255, 256, 32_767, 32_768, -32_768, -32_769];
    values.push(0x7fffff, 0x800000, -0x800000, -0x800001, 0x7fffffff, 0x80000000, -0x80000000, 0xffffffff);
    for (const value of values) {
      const writer = new DerWriter(2);
      writer.integer(value);
      assert.deepEqual(writer.result(), der.integer(value), `INTEGER ${value}`);
      assert.equal(readInteger(new DerReader(writer.result()).next('v'), 'v'), value);
    }
    for (const value of [0x100000000, -0x80000001, 1.5, Number.NaN]) {
      assert.throws(() => new DerWriter().integer(value), RangeError);
    }
  });

  it('writes KerberosTime and ENUMERATED as der.* does', () => {
    const date = new Date(Date.UTC(2026, 11, 6, 9, 5, 7));
    const writer = new DerWriter(1);
    writer.kerberosTime(date);
    writer.enumerated(3);
    assert.deepEqual(writer.result(), Buffer.concat([der.kerberosTime(date), der.enumerated(3)]));
    assert.equal(readKerberosTime(new DerReader(writer.result()).next('v'), 'v').getTime(), date.getTime());
    assert.throws(() => new DerWriter().kerberosTime(new Date(Date.UTC(10_000, 0, 1))), RangeError);
  });

  it("writes the octets X.690 gives: lengths, INTEGERs in two's complement, KerberosTime", () => {
    const written = (write: (writer: DerWriter) => void) => {
      const writer = new DerWriter(1);
      write(writer);
      return writer.result().toString('hex');
    };
    const cases: [number, string][] = [
      [0, '020100'],
      [127, '02017f'],
      [128, '02020080'],
      [-128, '020180'],
      [-129, '0202ff7f'],
      [256, '02020100'],
      [0x80000000, '02050080000000'],
      [0xffffffff, '020500ffffffff'],
      [-0x80000000, '020480000000'],
    ];
    for (const [value, hex] of cases)
      assert.equal(
        written((w) => w.integer(value)),
        hex,
        `INTEGER ${value}`,
      );
    assert.equal(written((w) => w.octetString(bytes(200))).slice(0, 6), '0481c8');
    assert.equal(written((w) => w.octetString(bytes(300))).slice(0, 8), '0482012c');
    const nested = written((w) => {
      const sequence = w.sequence();
      w.bytes(bytes(200));
      w.end(sequence);
    });
    assert.equal(nested.slice(0, 6), '3081c8');
    assert.equal(nested.length, (3 + 200) * 2);
    assert.equal(
      written((w) => w.kerberosTime(new Date(Date.UTC(2026, 11, 6, 9, 5, 7)))),
      Buffer.concat([Buffer.from([0x18, 15]), Buffer.from('20261206090507Z')]).toString('hex'),
    );
  });

  it('gives no result while an element is open, so no unwritten length octet goes out', () => {
    const writer = new DerWriter();
    const sequence = writer.sequence();
    writer.integer(1);
    assert.throws(() => writer.result(), /1 element\(s\) started and not ended/);
    writer.end(sequence);
    assert.deepEqual(writer.result(), der.sequence(der.integer(1)));
  });
});
