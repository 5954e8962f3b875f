// Property test: mutations of the real curl token, and of the plaintexts behind its encryption
// (EncTicketPart, Authenticator, PAC), make the Kerberos and SPNEGO parsers throw nothing but our
// typed errors: no RangeError, no TypeError, no read past a buffer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isNtlmError } from '../../src/errors.js';
import { kerberosAcceptor } from '../../src/kerberos/acceptor.js';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { decodeAuthenticator } from '../../src/kerberos/authenticator.js';
import { decodeEncTicketPart } from '../../src/kerberos/enc-ticket-part.js';
import { decrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { decodeGssChecksum, unwrapGssToken } from '../../src/kerberos/gss-token.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { decodePac, findPac, verifyServerSignature } from '../../src/kerberos/pac.js';
import { decodeSpnego } from '../../src/negotiate/spnego.js';

const FIXTURES = new URL('../fixtures/kerberos/', import.meta.url);
const KEYTAB = readFileSync(new URL('http.keytab', FIXTURES));
const SPNEGO = Buffer.from(
  readFileSync(new URL('curl-negotiate-token.b64', FIXTURES), 'utf8').trim(),
  'base64',
);
const init = decodeSpnego(SPNEGO);
const GSS = init.kind === 'init' ? init.mechToken! : Buffer.alloc(0);
const AP_REQ = unwrapGssToken(GSS).body;
const KEY = parseKeytab(KEYTAB)[0]!.key;
const apReq = decodeApReq(AP_REQ);
const TICKET = decrypt(KEY, KeyUsage.TICKET, apReq.ticket.encPart.cipher)!;
const part = decodeEncTicketPart(TICKET);
const AUTHENTICATOR = decrypt(part.key, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher)!;
const PAC = findPac(part.authorizationData)!;

const BOUNDARIES = [0, 1, 2, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0xffffffff];
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARIES) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(...BOUNDARIES) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 32 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Buffer, edits: readonly Mutation[]): Buffer {
  let out = Buffer.from(seed);
  for (const edit of edits) {
    if (out.length < 4 && edit.kind !== 'append') continue;
    if (edit.kind === 'flip') out[edit.at % out.length]! ^= 1 << edit.bit;
    else if (edit.kind === 'byte') out[edit.at % out.length] = edit.value & 0xff;
    else if (edit.kind === 'u32') out.writeUInt32LE(edit.value >>> 0, edit.at % (out.length - 3));
    else if (edit.kind === 'truncate') out = out.subarray(0, edit.at % out.length);
    else out = Buffer.concat([out, edit.bytes]);
  }
  return out;
}

const mutated = (seed: Buffer) =>
  fc.array(mutation, { minLength: 1, maxLength: 3 }).map((edits) => mutate(seed, edits));

function onlyTypedErrors(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    assert.ok(isNtlmError(error), `untyped error: ${(error as Error).stack}`);
  }
}

describe('Kerberos parsers under mutation', () => {
  const cases: [string, Buffer, (bytes: Buffer) => unknown][] = [
    ['SPNEGO', SPNEGO, decodeSpnego],
    ['GSS + AP-REQ', GSS, (b) => decodeApReq(unwrapGssToken(b).body)],
    ['EncTicketPart', TICKET, decodeEncTicketPart],
    ['Authenticator', AUTHENTICATOR, (b) => decodeGssChecksum(decodeAuthenticator(b).cksum!.checksum)],
    [
      'PAC',
      PAC,
      (b) => {
        verifyServerSignature(b, KEY);
        return decodePac(b);
      },
    ],
  ];
  for (const [name, seed, parse] of cases) {
    it(`${name}: 4,000 mutations throw only typed errors`, () => {
      fc.assert(
        fc.property(mutated(seed), (bytes) => onlyTypedErrors(() => parse(bytes))),
        { numRuns: 4000 },
      );
    });
  }

  it('the acceptor: 2,000 mutated tokens end in a typed error, never a crash', async () => {
    const acceptor = kerberosAcceptor({ keytab: KEYTAB, now: () => Date.parse('2026-11-23T13:11:00Z') });
    await fc.assert(
      fc.asyncProperty(mutated(GSS), async (bytes) => {
        await acceptor.accept(bytes).then(
          () => {}, // a mutation outside what is authenticated (ap-options, a no-op) may still pass
          (error) => assert.ok(isNtlmError(error), `untyped error: ${(error as Error).stack}`),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
