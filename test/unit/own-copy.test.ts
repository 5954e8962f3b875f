// ownString and ownBytes: copies that keep nothing of what they were cut from.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ownBytes, ownString } from '../../src/own-copy.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap growth (bytes) of keeping `keep(header)` for 500 Cookie headers of 16 KB each. */
function heapKeptBy(keep: (header: string, i: number) => string): number {
  const kept: string[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 500; i++) {
    const header = `ntlm_sso=${'t'.repeat(1000)}${i}; tracking=${'y'.repeat(15_000)}`;
    kept.push(keep(header, i));
  }
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.equal(kept.length, 500);
  return grown;
}

describe('ownString', () => {
  it('gives back the same text, every UTF-16 code unit, lone surrogates included', () => {
    for (const text of ['', 'a', 'alice', 'Ünïcødé ✓ 🎉', '\ud800 lone \udfff', 'x'.repeat(5000)]) {
      assert.equal(ownString(text), text);
    }
  });

  it('keeps nothing of the header a token was cut from (a slice of it would keep all 16 KB)', () => {
    const token = (header: string, i: number) => header.slice(9, 9 + 1000 + String(i).length);
    // 500 tokens of ~1 KB: ~1 MB in UTF-16 copies at most; the headers behind slices would be 8 MB.
    assert.ok(heapKeptBy((header, i) => ownString(token(header, i))) < 3_000_000);
  });
});

describe('ownBytes', () => {
  it('copies a pooled slice onto memory of its own, which later changes to the source do not reach', () => {
    const pooled = Buffer.from('a 32-byte session key, say......');
    const slice = pooled.subarray(2, 18);
    assert.ok(slice.buffer.byteLength > slice.length);
    const copy = ownBytes(slice);
    assert.deepEqual(copy, slice);
    assert.equal(copy.buffer.byteLength, copy.length);
    assert.equal(copy.byteOffset, 0);
    pooled.fill(0);
    assert.equal(copy.toString(), '32-byte session ');
  });
});
