// RFC 1320 appendix A.5: the MD4 test suite, and the digest across block boundaries.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { md4 } from '../../src/ntlm/md4.js';

const SUITE: [string, string][] = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    'e33b4ddc9c38f2199c3e7b164fcc0536',
  ],
];

describe('MD4 (RFC 1320)', () => {
  for (const [input, digest] of SUITE) {
    it(`MD4("${input.length > 20 ? `${input.slice(0, 20)}...` : input}") = ${digest}`, () => {
      assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest);
    });
  }

  // Lengths where the padding spills into a second block (55, 56, 63, 64 bytes) and a long input:
  // the digests of 'a' repeated, as OpenSSL 3's legacy provider gives them
  // (`openssl dgst -md4 -provider legacy`).
  const REPEATED: [number, string][] = [
    [55, 'c889c81dd86c4d2e025778944ea02881'],
    [56, 'd5f9a9e9257077a5f08b0b92f348b0ad'],
    [63, '7ea3da77432d44c323671097d1348fc8'],
    [64, '52f5076fabd22680234a3fa9f9dc5732'],
    [1000, '5f1bf26a8067c9159b91f1440f7c9e8a'],
  ];
  for (const [length, digest] of REPEATED) {
    it(`MD4('a' x ${length}) = ${digest}`, () => {
      assert.equal(md4(Buffer.alloc(length, 'a')).toString('hex'), digest);
    });
  }
});
