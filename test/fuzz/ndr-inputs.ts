// NDR (DCE/RPC's marshalling: what a DC answers over Netlogon, and what the PAC's LOGON_INFO is)
// mutated where its readers must be strict: conformant counts, referent ids, string lengths and
// maximum lengths, SID sub-authority counts, each a u32 or u16 on its alignment.
import { boundary, mutateBytes } from './bytes.js';
import type { Random } from './random.js';

/** One to `max` NDR-aware edits of `bytes[start..]` (a copy): aligned integers set to edge values. */
export function mutateNdr(random: Random, bytes: Buffer, start = 0, max = 3): Buffer {
  let out: Buffer = Buffer.from(bytes);
  const edits = random.range(1, max);
  const span = out.length - start;
  if (span < 8) return mutateBytes(random, out, 2);
  for (let e = 0; e < edits; e++) {
    switch (random.int(6)) {
      case 0:
      case 1: {
        const at = start + 4 * random.int(Math.floor(span / 4));
        if (at + 4 <= out.length) out.writeUInt32LE(boundary(random, out.readUInt32LE(at)) >>> 0, at);
        break;
      }
      case 2: {
        const at = start + 2 * random.int(Math.floor(span / 2));
        if (at + 2 <= out.length) out.writeUInt16LE(boundary(random, out.readUInt16LE(at)) & 0xffff, at);
        break;
      }
      case 3: {
        // A UTF-16 code unit in a string turned into a lone surrogate or a NUL.
        const at = start + 2 * random.int(Math.floor(span / 2));
        if (at + 2 <= out.length) out.writeUInt16LE(random.pick([0xd800, 0xdc00, 0x0000, 0xffff]), at);
        break;
      }
      case 4:
        out = out.subarray(0, start + random.int(span));
        break;
      default:
        out = mutateBytes(random, out, 2);
    }
  }
  return out;
}
