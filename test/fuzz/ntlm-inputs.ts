// NTLM messages as a fuzzer that knows MS-NLMP makes them: field values changed before the
// message is encoded and its proofs computed (so they reach the verifier and the DC), and field
// descriptors, flags and AV pairs broken after (so they test the decoders).
import { AvId, type AvPair } from '../../src/ntlm/av-pairs.js';
import { NegotiateFlags as F } from '../../src/ntlm/flags.js';
import { encodeNegotiate } from '../../src/ntlm/negotiate.js';
import { filetimeFromDate } from '../../src/ntlm/ntlmv2-response.js';
import { CLIENT_FLAGS, type Type3Draft, type1 } from '../helpers/ntlm-client.js';
import { boundary, mutateBytes } from './bytes.js';
import { Random } from './random.js';

/** A lone UTF-16 surrogate, a NUL, a separator...: names a DC or a decoder may choke on. */
function oddName(random: Random, base: string): string {
  const odd = random.pick([
    '\uD800',
    '\uDC00',
    '\uDBFF\uDBFF',
    '\u0000',
    '\\',
    '@',
    '/',
    '$',
    '*',
    '%s%n',
    '\u202E',
    '\uFFFF',
    '\uFEFF',
    'é',
    '😀',
    ' ',
  ]);
  const at = random.int(base.length + 1);
  return base.slice(0, at) + odd + base.slice(at);
}

function randomText(random: Random): string {
  const length = random.chance(0.9) ? random.int(24) : random.range(200, 1200);
  let text = '';
  for (let i = 0; i < length; i++)
    text += String.fromCharCode(random.chance(0.8) ? random.range(0x20, 0x7e) : random.int(0x10000));
  return text;
}

const USERS = [
  'alice',
  'ALICE',
  'Alice',
  'bob',
  'nobody',
  'carol',
  'dave',
  'Administrator',
  'Guest',
  'WEB01$',
  'krbtgt',
  '',
];
const DOMAINS = ['EXAMPLE', 'example.test', 'EXAMPLE.TEST', '', 'OTHER', 'WEB01', '.'];

function name(random: Random, choices: readonly string[], current: string): string {
  switch (random.int(4)) {
    case 0:
      return random.pick(choices);
    case 1:
      return oddName(random, current);
    case 2:
      return randomText(random);
    default:
      return current.repeat(random.range(2, 60)).slice(0, 4000);
  }
}

/** An AV pair value of a length its id does not expect, or random bytes. */
function oddPair(random: Random): AvPair {
  const id = random.chance(0.8) ? random.range(0, 0x0b) : random.int(0x10000);
  const length = random.chance(0.7)
    ? random.pick([0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 255])
    : random.range(256, 2000);
  return { id, value: random.bytes(length) };
}

/** A filetime at an edge: zero, far past or future, the largest. */
function oddTimestamp(random: Random): bigint {
  return random.pick([
    0n,
    1n,
    0xffffffffffffffffn,
    0x7fffffffffffffffn,
    filetimeFromDate(Date.now() - 3_600_000),
    filetimeFromDate(Date.now() + 3_600_000),
    filetimeFromDate(Date.now() - 299_000),
    filetimeFromDate(0),
  ]);
}

/**
 * One to three edits of a Type 3 before it is encoded: names, flags, AV pairs, timestamp and
 * challenge lengths. The NTProofStr and MIC are then computed over the edited message.
 */
export function editType3(random: Random): (draft: Type3Draft) => void {
  const edits = random.range(1, 3);
  const choices = Array.from({ length: edits }, () => random.int(12));
  const seeds = Array.from({ length: edits }, () => random.u32());
  return (draft) => {
    choices.forEach((choice, i) => {
      const r = new Random(seeds[i]!);
      switch (choice) {
        case 0:
        case 1:
          draft.user = name(r, USERS, draft.user);
          break;
        case 2:
          draft.domain = name(r, DOMAINS, draft.domain);
          break;
        case 3:
          draft.workstation = name(r, ['TESTBOX', '', 'WEB01'], draft.workstation);
          break;
        case 4:
          draft.flags ^= 1 << r.int(32);
          break;
        case 5:
          if (r.chance(0.5)) draft.pairs.splice(r.int(draft.pairs.length + 1), 0, oddPair(r));
          else draft.pairs.splice(r.int(draft.pairs.length), 1);
          break;
        case 6: {
          // MsvAvFlags with other bits, MIC_PRESENT without a MIC, or twice.
          const value = Buffer.alloc(4);
          value.writeUInt32LE(r.pick([0, 1, 2, 4, 7, 0xffffffff]));
          draft.pairs.push({ id: AvId.MsvAvFlags, value });
          break;
        }
        case 7:
          draft.timestamp = oddTimestamp(r);
          break;
        case 8:
          draft.clientChallenge = r.bytes(r.pick([0, 1, 7, 8, 9, 16]));
          break;
        case 9:
          draft.lmChallengeResponse = r.bytes(r.pick([0, 1, 16, 23, 24, 25, 300]));
          break;
        case 10:
          // Pairs without EOL, with a length past the end, or nothing at all.
          draft.rawPairs = r.chance(0.5) ? mutateBytes(r, rawPairs(draft.pairs)) : r.bytes(r.int(40));
          break;
        default:
          draft.pairs.push({
            id: r.pick([
              AvId.MsvAvChannelBindings,
              AvId.MsvAvTargetName,
              AvId.MsvAvTimestamp,
              AvId.MsvAvSingleHost,
            ]),
            value: r.bytes(r.pick([0, 1, 8, 15, 16, 17, 48])),
          });
      }
    });
  };
}

function rawPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const pair of pairs) {
    const header = Buffer.alloc(4);
    header.writeUInt16LE(pair.id, 0);
    header.writeUInt16LE(pair.value.length & 0xffff, 2);
    parts.push(header, pair.value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

/** Offsets of the six security-buffer descriptors of an AUTHENTICATE (len, maxlen, offset). */
const AUTHENTICATE_FIELDS = [12, 20, 28, 36, 44, 52];
const NEGOTIATE_FIELDS = [16, 24];

/**
 * Breaks an encoded message where its decoder must be strict: a descriptor's length, maximum
 * length or offset (past the end, into the header, onto another field, odd for UTF-16), the
 * flags, the message type; else blind byte edits.
 */
export function breakLayout(random: Random, token: Buffer, fields = AUTHENTICATE_FIELDS): Buffer {
  let out: Buffer = Buffer.from(token);
  const edits = random.range(1, 3);
  for (let e = 0; e < edits; e++) {
    const descriptor = random.pick(fields);
    if (out.length < 64) return mutateBytes(random, out, 2);
    switch (random.int(7)) {
      case 0:
        out.writeUInt16LE(boundary(random, out.readUInt16LE(descriptor)) & 0xffff, descriptor);
        break;
      case 1:
        out.writeUInt16LE(boundary(random) & 0xffff, descriptor + 2);
        break;
      case 2:
        out.writeUInt32LE(
          random.chance(0.5)
            ? boundary(random, out.readUInt32LE(descriptor + 4)) >>> 0
            : random.int(out.length + 8),
          descriptor + 4,
        );
        break;
      case 3: {
        // Two fields over the same bytes.
        const other = random.pick(fields);
        out.copy(out, descriptor, other, other + 8);
        break;
      }
      case 4:
        out.writeUInt32LE(
          (out.readUInt32LE(fields === NEGOTIATE_FIELDS ? 12 : 60) ^ (1 << random.int(32))) >>> 0,
          fields === NEGOTIATE_FIELDS ? 12 : 60,
        );
        break;
      case 5:
        out.writeUInt32LE(random.pick([0, 1, 2, 3, 4, 0xffffffff]), 8);
        break;
      default:
        out = mutateBytes(random, out, 3);
    }
  }
  return out;
}

/** A NEGOTIATE: the test client's, with other flags, names or version, or broken. */
export function negotiateInput(random: Random): Buffer {
  if (random.chance(0.3))
    return type1(random.chance(0.5) ? CLIENT_FLAGS ^ (1 << random.int(32)) : random.u32());
  const message = encodeNegotiate({
    flags: random.chance(0.5)
      ? CLIENT_FLAGS | F.NEGOTIATE_OEM_DOMAIN_SUPPLIED | F.NEGOTIATE_OEM_WORKSTATION_SUPPLIED
      : random.u32(),
    domain: randomText(random),
    workstation: randomText(random),
    version: random.bytes(8),
  });
  return breakLayout(random, message, NEGOTIATE_FIELDS);
}
