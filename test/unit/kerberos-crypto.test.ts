// RFC 3961 A.1 (n-fold) and RFC 3962 appendix B (string-to-key, AES-CTS) test vectors, and
// round trips of the encryption profiles.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { AesCtsEncryptor, aesCtsDecrypt, aesCtsEncrypt } from '../../src/kerberos/aes-cts.js';
import { deriveKey, usageConstant } from '../../src/kerberos/aes-sha1.js';
import { decrypt, EncType, encrypt } from '../../src/kerberos/enctypes.js';
import { HmacSha1 } from '../../src/kerberos/hmac-sha1.js';
import { nfold } from '../../src/kerberos/nfold.js';
import { stringToKey } from '../../src/kerberos/string-to-key.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('n-fold (RFC 3961 A.1)', () => {
  const vectors: [number, string, string][] = [
    [64, '012345', 'be072631276b1955'],
    [56, 'password', '78a07b6caf85fa'],
    [64, 'Rough Consensus, and Running Code', 'bb6ed30870b7f0e0'],
    [168, 'password', '59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e'],
    [192, 'MASSACHVSETTS INSTITVTE OF TECHNOLOGY', 'db3b0d8f0b061e603282b308a50841229ad798fab9540c1b'],
    [168, 'Q', '518a54a215a8452a518a54a215a8452a518a54a215'],
    [168, 'ba', 'fb25d531ae8974499f52fd92ea9857c4ba24cf297e'],
    [64, 'kerberos', '6b65726265726f73'],
    [128, 'kerberos', '6b65726265726f737b9b5b2b93132b93'],
    [168, 'kerberos', '8372c236344e5f1550cd0747e15d62ca7a5a3bcea4'],
    [256, 'kerberos', '6b65726265726f737b9b5b2b93132b935c9bdcdad95c9899c4cae4dee6d6cae4'],
  ];
  for (const [bits, input, output] of vectors) {
    it(`${bits}-fold("${input}")`, () => {
      assert.equal(nfold(Buffer.from(input, 'latin1'), bits / 8).toString('hex'), output);
    });
  }
});

describe('AES string-to-key (RFC 3962 B)', () => {
  const x64 = 'X'.repeat(64);
  const vectors: [number, string, string | Buffer, string, string][] = [
    [
      1,
      'password',
      'ATHENA.MIT.EDUraeburn',
      '42263c6e89f4fc28b8df68ee09799f15',
      'fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161',
    ],
    [
      2,
      'password',
      'ATHENA.MIT.EDUraeburn',
      'c651bf29e2300ac27fa469d693bdda13',
      'a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff',
    ],
    [
      1200,
      'password',
      'ATHENA.MIT.EDUraeburn',
      '4c01cd46d632d01e6dbe230a01ed642a',
      '55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a',
    ],
    [
      5,
      'password',
      hex('1234567878563412'),
      'e9b23d52273747dd5c35cb55be619d8e',
      '97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31',
    ],
    [
      1200,
      x64,
      'pass phrase equals block size',
      '59d1bb789a828b1aa54ef9c2883f69ed',
      '89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34',
    ],
    [
      1200,
      `${x64}X`,
      'pass phrase exceeds block size',
      'cb8005dc5f90179a7f02104c0018751d',
      'd78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b',
    ],
    [
      50,
      '\u{1d11e}',
      'EXAMPLE.COMpianist',
      'f149c1f2e154a73452d43e7fe62a56e5',
      '4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e',
    ],
  ];
  for (const [iterations, password, salt, aes128, aes256] of vectors) {
    it(`${iterations} iterations, salt ${salt.toString()}`, async () => {
      assert.equal((await stringToKey(17, password, salt, iterations)).value.toString('hex'), aes128);
      assert.equal((await stringToKey(18, password, salt, iterations)).value.toString('hex'), aes256);
    });
  }
});

describe('AES-CTS (RFC 3962 B, key "chicken teriyaki", IV 0)', () => {
  const key = Buffer.from('chicken teriyaki', 'latin1');
  const text = Buffer.from("I would like the General Gau's Chicken, please, and wonton soup.", 'latin1');
  const vectors: [number, string][] = [
    [17, 'c6353568f2bf8cb4d8a580362da7ff7f97'],
    [31, 'fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5'],
    [32, '39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584'],
    [47, '97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e39312523a78662d5be7fcbcc98ebf5'],
    [48, '97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd839312523a78662d5be7fcbcc98ebf5a8'],
    [
      64,
      '97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a84807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8',
    ],
  ];
  for (const [length, output] of vectors) {
    it(`${length} bytes`, () => {
      const input = text.subarray(0, length);
      assert.equal(aesCtsEncrypt(key, input).toString('hex'), output);
      assert.deepEqual(aesCtsDecrypt(key, hex(output)), input);
    });
  }
});

describe('kept ciphers and MACs', () => {
  it('one AesCtsEncryptor gives every message what a fresh zero-IV cipher gives', () => {
    const key = Buffer.from('chicken teriyaki', 'latin1');
    const text = Buffer.from("I would like the General Gau's Chicken, please, and wonton soup.", 'latin1');
    const kept = new AesCtsEncryptor(key);
    // Lengths that end on a block and lengths that steal, in an order that changes the chain.
    for (const length of [17, 64, 16, 31, 48, 47, 32, 17, 64]) {
      const input = text.subarray(0, length);
      assert.equal(
        kept.encrypt(input).toString('hex'),
        aesCtsEncrypt(key, input).toString('hex'),
        `${length} bytes`,
      );
    }
  });

  it('derived keys are memory of their own (they are kept as long as their key)', () => {
    for (const bytes of [16, 32]) {
      const derived = deriveKey(Buffer.alloc(bytes, 9), usageConstant(2, 0xaa));
      assert.equal(derived.length, bytes);
      assert.equal(derived.buffer.byteLength, bytes);
    }
  });

  it("HmacSha1 gives node:crypto's HMAC-SHA1, for keys shorter than, as long as and longer than a block", () => {
    for (const keyBytes of [0, 16, 32, 64, 65, 200]) {
      const key = Buffer.alloc(keyBytes, keyBytes + 1);
      const mac = new HmacSha1(key);
      for (const dataBytes of [0, 1, 55, 64, 100, 1000]) {
        const data = Buffer.alloc(dataBytes, dataBytes * 3 + 1);
        const expected = createHmac('sha1', key).update(data).digest('hex');
        assert.equal(
          mac.mac(data).toString('hex'),
          expected,
          `key ${keyBytes} bytes, data ${dataBytes} bytes`,
        );
        // The padded keys are not changed by use.
        assert.equal(mac.mac(data).toString('hex'), expected);
      }
    }
  });

  it('HmacSha1 answers a Buffer of its own: a later MAC under the same key does not change it', () => {
    const mac = new HmacSha1(Buffer.alloc(32, 7));
    const first = mac.mac(Buffer.from('first'));
    const copy = Buffer.from(first);
    mac.mac(Buffer.from('second'));
    assert.deepEqual(first, copy);
    assert.equal(first.length, 20);
  });
});

describe('encryption profiles', () => {
  for (const [etype, bytes] of [
    [EncType.AES128_CTS_HMAC_SHA1_96, 16],
    [EncType.AES256_CTS_HMAC_SHA1_96, 32],
    [EncType.RC4_HMAC, 16],
  ] as const) {
    it(`etype ${etype} round-trips and refuses a flipped bit or another usage`, () => {
      const key = { etype, value: Buffer.alloc(bytes, 7) };
      for (const length of [0, 1, 15, 16, 17, 100]) {
        const plain = Buffer.alloc(length, 0x41);
        const cipher = encrypt(key, 11, plain);
        assert.deepEqual(decrypt(key, 11, cipher), plain);
        assert.equal(decrypt(key, 12, cipher), undefined);
        cipher[cipher.length - 1]! ^= 1;
        assert.equal(decrypt(key, 11, cipher), undefined);
      }
    });
  }
});
