// parseAuthorization against the reading it replaced (two RegExps, then Node's decoder): the same
// answer for every header, but for base64 whose data part is 4n+1 characters long, which no
// encoder makes and which is now refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNtlmError } from '../../src/errors.js';
import {
  assertOneToken,
  isScheme,
  parseAuthorization,
  strictBase64,
} from '../../src/session/authorization.js';

const ACCEPTED = ['NTLM', 'Negotiate', 'Basic'] as const;

/** The former parser (the generated headers are all far below the size limits). */
function reference(header: string | undefined) {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const match = /^\s*(\S+)(?:\s+(\S*))?\s*$/.exec(header);
  if (!match) return { error: 'ERR_NTLM_INVALID_HEADER' };
  const [, rawScheme = '', credentials = ''] = match;
  const scheme = ACCEPTED.find((name) => name.toLowerCase() === rawScheme.toLowerCase());
  if (scheme === undefined) return { kind: 'other', scheme: rawScheme, credentials };
  if (credentials === '') return { error: 'ERR_NTLM_INVALID_HEADER' };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(credentials) || credentials.length % 4 === 1) {
    return { error: 'ERR_NTLM_INVALID_HEADER' };
  }
  return { kind: 'token', scheme, token: Buffer.from(credentials, 'base64').toString('hex') };
}

/** parseAuthorization, with another scheme's credentials asked as the Authenticator asks them. */
function actual(header: string | undefined) {
  try {
    const parsed = parseAuthorization(header, ACCEPTED);
    if (parsed.kind === 'other') assertOneToken(parsed.credentials);
    return parsed.kind === 'token' ? { ...parsed, token: parsed.token.toString('hex') } : parsed;
  } catch (error) {
    if (!isNtlmError(error)) throw error;
    return { error: error.code };
  }
}

/** A deterministic generator (xorshift), so that a failure names its header and comes back. */
function random(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const ODD = [
  '=',
  '==',
  '-',
  '_',
  '*',
  '%',
  ' ',
  '\t',
  '\u00a0',
  '\u00ff',
  '\r\n',
  '\u2028',
  '.',
  '\u0141',
  '\u012b',
];
const SCHEMES = ['NTLM', 'ntlm', 'Negotiate', 'NEGOTIATE', 'Basic', 'Bearer', 'Foo', ''];
const SPACE = ['', ' ', '  ', '\t', '\u00a0'];

describe('parseAuthorization', () => {
  it('answers as the RegExp reading did, for 30,000 generated headers', () => {
    const pick = random(0x5eed);
    let refusedNow = 0;
    for (let i = 0; i < 30_000; i++) {
      let token = '';
      const length = pick(110);
      for (let j = 0; j < length; j++) token += ALPHABET[pick(ALPHABET.length)];
      // Most tokens get a flaw or two: padding, a foreign character, a space, somewhere.
      for (let k = pick(3); k > 0; k--) {
        const at = pick(token.length + 1);
        // And now and then any UTF-16 code unit above 255 (Node reads those by their low byte).
        const odd = pick(8) === 0 ? String.fromCharCode(256 + pick(0xff00)) : ODD[pick(ODD.length)];
        token = token.slice(0, at) + odd + token.slice(at);
      }
      if (pick(3) === 0) token += '='.repeat(pick(4));
      const header =
        SPACE[pick(SPACE.length)]! +
        SCHEMES[pick(SCHEMES.length)]! +
        SPACE[pick(SPACE.length)]! +
        token +
        SPACE[pick(SPACE.length)]!;
      const before = reference(header);
      const now = actual(header);
      const credentials = /^\s*\S+\s+(\S*)\s*$/.exec(header)?.[1] ?? '';
      const data = credentials.replace(/=+$/, '').length;
      if ('kind' in before && before.kind === 'token' && data % 4 === 1) {
        assert.deepEqual(now, { error: 'ERR_NTLM_INVALID_HEADER' }, JSON.stringify(header));
        refusedNow++;
        continue;
      }
      assert.deepEqual(now, before, JSON.stringify(header));
    }
    assert.ok(refusedNow > 0, 'the 4n+1 case was generated');
  });

  it('says a header with a third word is not "<scheme> <token>", too large or not', () => {
    const notOneToken = (error: Error) => error.message === 'Authorization header is not "<scheme> <token>"';
    for (const header of [`NTLM ${'A'.repeat(30_000)} x`, 'NTLM QUJD x']) {
      assert.throws(() => parseAuthorization(header), notOneToken);
    }
    // Another scheme's credentials are handed over as sent; the caller asks (authenticator.ts).
    const other = parseAuthorization('Bearer abc def');
    assert.deepEqual(other, { kind: 'other', scheme: 'Bearer', credentials: 'abc def' });
    assert.throws(() => assertOneToken('abc def'), notOneToken);
    assert.throws(() => assertOneToken('abc\u2028def'), notOneToken);
    assert.doesNotThrow(() => assertOneToken('eyJ.eyJ.sig-_'));
    assert.throws(
      () => parseAuthorization(`NTLM ${'A'.repeat(30_000)}`),
      (error: { code?: string }) => error.code === 'ERR_NTLM_TOKEN_TOO_LARGE',
    );
  });

  it('compares schemes without regard to letter case, and only names of the same length', () => {
    assert.ok(isScheme('Bearer', 'Bearer'));
    assert.ok(isScheme('bEARER', 'Bearer'));
    assert.ok(isScheme('negotiate', 'Negotiate'));
    assert.ok(!isScheme('Bearers', 'Bearer'));
    assert.ok(!isScheme('NTLM', 'Negotiate'));
    assert.ok(!isScheme('', 'NTLM'));
    // Lowercasing that changes a string's length (U+0130 lowercases to two code units) matched
    // nothing before the length guard either: this documents it, it does not test the guard.
    assert.ok(!isScheme('NEGOT\u0130ATE', 'Negotiate'));
    assert.deepEqual(parseAuthorization('ntlm QUJD', ACCEPTED), {
      kind: 'token',
      scheme: 'NTLM',
      token: Buffer.from('ABC'),
    });
  });

  it('reads real tokens, and refuses what is not strict base64', () => {
    const token = Buffer.from('a Kerberos or NTLM token, any bytes \u0000\u00ff');
    assert.deepEqual(strictBase64(token.toString('base64')), token);
    assert.deepEqual(strictBase64('QQ'), Buffer.from('A'), 'unpadded, as some clients send it');
    for (const text of [
      '',
      '=',
      'QQ===',
      'QUJDR=',
      'QUJD=',
      'Q-_A',
      'QU*D',
      'QU D',
      'QQ=A',
      '=QUJ',
      'QUJD\u00ff',
      'QUJ\u0141',
      'YII\u012bBgYGKwYBBQUCoA==',
    ]) {
      assert.equal(strictBase64(text), undefined, JSON.stringify(text));
    }
  });
});
