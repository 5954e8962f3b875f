// KerberosTime (RFC 4120 5.2.3) read digit by digit: the same dates, the same refusals.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DerReader, der, readKerberosTime } from '../../src/asn1/der.js';
import { InvalidTokenError } from '../../src/errors.js';

const read = (text: string) =>
  readKerberosTime(
    new DerReader(Buffer.from([0x18, text.length, ...Buffer.from(text, 'latin1')])).next('t'),
    't',
  );

describe('KerberosTime', () => {
  it('reads YYYYMMDDHHMMSSZ as UTC and round-trips what we encode', () => {
    assert.equal(read('20261123131100Z').toISOString(), '2026-11-23T13:11:00.000Z');
    assert.equal(read('20240229235959Z').toISOString(), '2024-02-29T23:59:59.000Z');
    const date = new Date('2031-01-02T03:04:05Z');
    assert.deepEqual(readKerberosTime(new DerReader(der.kerberosTime(date)).next('t'), 't'), date);
  });

  it('refuses fractions, offsets, a missing Z, non-digits and dates that do not exist', () => {
    for (const text of [
      '20261123131100.5Z',
      '20261123131100+0100',
      '20261123131100',
      '2026112313110 Z',
      '2026-1123131100Z',
      '20261323131100Z',
      '20230229120000Z',
      '20261131120000Z',
    ]) {
      assert.throws(() => read(text), InvalidTokenError, text);
    }
  });
});
