import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sidToBuffer } from '../../src/dc/sid.js';
import { InvalidTokenError, ServiceUnavailableError } from '../../src/errors.js';
import {
  readSamInfo4,
  type SamInfo4,
  samInfoSids,
  writeSamInfo4,
} from '../../src/netlogon/validation-info.js';
import { NdrReader, NdrWriter } from '../../src/rpc/ndr.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const dcError = (error: unknown) =>
  error instanceof ServiceUnavailableError && error.code === 'ERR_NTLM_DC_ERROR';

describe('NDR20 primitives', () => {
  it('aligns each integer to its size, relative to the stream start', () => {
    const w = new NdrWriter();
    w.u8(1);
    w.u16(0x0203);
    w.u8(4);
    w.u32(0x05060708);
    w.u64(0x090a0b0c0d0e0f10n);
    assert.deepEqual(w.toBuffer(), hex('01 00 0302 04 000000 08070605 00000000 100f0e0d0c0b0a09'));
    const r = new NdrReader(w.toBuffer());
    assert.equal(r.u8(), 1);
    assert.equal(r.u16(), 0x0203);
    assert.equal(r.u8(), 4);
    assert.equal(r.u32(), 0x05060708);
    assert.equal(r.u64(), 0x090a0b0c0d0e0f10n);
    r.end('primitives');
  });

  it('refuses to read past the buffer, with the error the caller chose', () => {
    assert.throws(() => new NdrReader(hex('0102')).u32(), dcError);
    const pac = new NdrReader(hex('01'), (m) => new InvalidTokenError(m));
    assert.throws(
      () => pac.u16(),
      (e: unknown) => e instanceof InvalidTokenError,
    );
    assert.throws(() => new NdrReader(hex('01')).end('x'), dcError);
  });

  it('FILETIME is two u32, low part first', () => {
    const w = new NdrWriter();
    w.filetime(0x01d9000012345678n);
    assert.deepEqual(w.toBuffer(), hex('78563412 0000d901'));
    assert.equal(new NdrReader(w.toBuffer()).filetime(), 0x01d9000012345678n);
  });
});

describe('NDR20 pointers and deferral', () => {
  it('RPC_UNICODE_STRING: headers inline, the characters after the whole construct', () => {
    const w = new NdrWriter();
    w.construct(() => {
      w.unicodeString('ab');
      w.u32(7);
      w.unicodeString('c');
    });
    // Length, MaximumLength, referent id | u32 | header 2 | referent 1 | referent 2 (padded to 4)
    assert.deepEqual(
      w.toBuffer(),
      hex(
        '0400 0400 00000200  07000000  0200 0200 04000200' +
          '02000000 00000000 02000000 6100 6200' +
          '01000000 00000000 01000000 6300',
      ),
    );
    const r = new NdrReader(w.toBuffer());
    const [a, n, c] = r.construct(() => [r.unicodeString(), r.u32(), r.unicodeString()] as const);
    assert.equal(a.value, 'ab');
    assert.equal(n, 7);
    assert.equal(c.value, 'c');
    r.end('strings');
  });

  it('a NULL unique pointer is a zero referent id and has no referent', () => {
    const w = new NdrWriter();
    w.construct(() => w.unicodeString(null));
    assert.deepEqual(w.toBuffer(), hex('0000 0000 00000000'));
    const r = new NdrReader(w.toBuffer());
    const s = r.construct(() => r.unicodeString());
    assert.equal(s.value, null);
  });

  it('reads nested referents depth first: each referent complete before the next', () => {
    // struct { T* p; u32* q } with T = { u32 x; u32* y }: p's referent, then y's, then q's.
    const w = new NdrWriter();
    w.construct(() => {
      w.pointer(() => {
        w.u32(0x11);
        w.pointer(() => w.u32(0x22));
      });
      w.pointer(() => w.u32(0x33));
    });
    const words = [];
    const bytes = w.toBuffer();
    for (let i = 0; i < bytes.length; i += 4) words.push(bytes.readUInt32LE(i));
    assert.deepEqual(words, [0x20000, 0x20004, 0x11, 0x20008, 0x22, 0x33]);
    const r = new NdrReader(bytes);
    const { p, q } = r.construct(() => ({
      p: r.pointer(() => ({ x: r.u32(), y: r.pointer(() => r.u32()) })),
      q: r.pointer(() => r.u32()),
    }));
    assert.equal(p.value?.x, 0x11);
    assert.equal(p.value?.y.value, 0x22);
    assert.equal(q.value, 0x33);
  });

  it('a top-level pointer has its referent at once', () => {
    const w = new NdrWriter();
    w.pointer(() => w.wideString('DC1'));
    w.u16(5);
    const r = new NdrReader(w.toBuffer());
    assert.equal(r.pointer(() => r.wideString()).value, 'DC1');
    assert.equal(r.u16(), 5);
    r.end('top-level');
  });

  it('a full pointer seen twice names one referent, read once', () => {
    const w = new NdrWriter();
    w.construct(() => {
      w.pointer(() => w.u32(42));
      w.aliasPointer(0x20000);
    });
    const r = new NdrReader(w.toBuffer());
    const [a, b] = r.construct(() => [r.fullPointer(() => r.u32()), r.fullPointer(() => r.u32())]);
    assert.equal(a, b);
    assert.equal(a.value, 42);
    r.end('full pointers');
  });

  it('a referent is not readable before its construct ends', () => {
    const w = new NdrWriter();
    w.construct(() => w.pointer(() => w.u32(1)));
    const r = new NdrReader(w.toBuffer());
    r.construct(() => {
      const p = r.pointer(() => r.u32());
      assert.throws(() => p.value, /before its construct ended/);
    });
  });
});

describe('NDR20 arrays, strings and SIDs', () => {
  it('refuses a conformant count larger than the buffer before allocating', () => {
    const r = new NdrReader(hex('ffffff7f 01000000'));
    assert.throws(() => r.conformantArray(() => r.u32(), 4, 'GroupIds'), dcError);
  });

  it('refuses a conformant count that disagrees with its count field', () => {
    const r = new NdrReader(hex('02000000 01000000 02000000'));
    assert.throws(() => r.conformantArray(() => r.u32(), 4, 'GroupIds', 3), dcError);
  });

  it('refuses a varying array with an offset or an actual count above the maximum', () => {
    assert.throws(() => new NdrReader(hex('02000000 01000000 01000000 4100')).wideString(), dcError);
    assert.throws(() => new NdrReader(hex('01000000 00000000 02000000 41000000')).wideString(), dcError);
  });

  it('refuses a string whose characters disagree with its Length', () => {
    const bytes = hex('0600 0600 00000200  02000000 00000000 02000000 6100 6200');
    const r = new NdrReader(bytes);
    assert.throws(() => r.construct(() => r.unicodeString()), dcError);
  });

  it('a [string] wchar_t* must end with NUL', () => {
    assert.throws(() => new NdrReader(hex('01000000 00000000 01000000 4100')).wideString(), dcError);
  });

  it('RPC_SID: conformance hoisted before the structure, equal to SubAuthorityCount', () => {
    const sid = sidToBuffer('S-1-5-21-1-2-3');
    const w = new NdrWriter();
    w.sid(sid);
    assert.deepEqual(w.toBuffer(), hex('04000000 01 04 000000000005 15000000 01000000 02000000 03000000'));
    assert.deepEqual(new NdrReader(w.toBuffer()).sid(), sid);
    const wrong = w.toBuffer();
    wrong[0] = 3;
    assert.throws(() => new NdrReader(wrong).sid(), dcError);
  });
});

const SAMPLE: SamInfo4 = {
  logonTime: 133_000_000_000_000_000n,
  logoffTime: 0x7fffffffffffffffn,
  kickOffTime: 0x7fffffffffffffffn,
  passwordLastSet: 133_000_000_000_000_000n,
  passwordCanChange: 133_000_000_000_000_000n,
  passwordMustChange: 0x7fffffffffffffffn,
  effectiveName: 'alice',
  fullName: 'Alice',
  logonScript: '',
  profilePath: '',
  homeDirectory: '',
  homeDirectoryDrive: '',
  logonCount: 3,
  badPasswordCount: 0,
  userId: 1102,
  primaryGroupId: 513,
  groupIds: [
    { relativeId: 513, attributes: 7 },
    { relativeId: 1106, attributes: 7 },
  ],
  userFlags: 0x20,
  userSessionKey: Buffer.alloc(16, 0xab),
  logonServer: 'DC1',
  logonDomainName: 'EXAMPLE',
  logonDomainId: 'S-1-5-21-4260647339-1141557991-2007939543',
  userAccountControl: 0x10,
  subAuthStatus: 0,
  lastSuccessfulILogon: 0n,
  lastFailedILogon: 0n,
  failedILogonCount: 0,
  extraSids: [{ sid: 'S-1-18-1', attributes: 7 }],
  dnsLogonDomainName: 'example.test',
  upn: 'alice@example.test',
};

describe('NETLOGON_VALIDATION_SAM_INFO4', () => {
  const w = new NdrWriter();
  w.construct(() => writeSamInfo4(w, SAMPLE, sidToBuffer));
  const bytes = w.toBuffer();

  it('reads back what was written, and the SIDs Windows would put in the token', () => {
    const r = new NdrReader(bytes);
    const info = r.construct(() => readSamInfo4(r))();
    r.end('SAM_INFO4');
    assert.deepEqual(info, SAMPLE);
    assert.deepEqual(samInfoSids(info), {
      sid: 'S-1-5-21-4260647339-1141557991-2007939543-1102',
      groupSids: [
        'S-1-5-21-4260647339-1141557991-2007939543-513',
        'S-1-5-21-4260647339-1141557991-2007939543-1106',
        'S-1-18-1',
      ],
    });
  });

  it('fails cleanly on every truncation', () => {
    for (let cut = 0; cut < bytes.length; cut += 7) {
      const r = new NdrReader(bytes.subarray(0, cut));
      assert.throws(() => r.construct(() => readSamInfo4(r))(), dcError, `cut at ${cut}`);
    }
  });
});
