// DER as an editable tree, for mutations that know the format: a node's tag, its length
// encoding, its content, its place among its siblings. Parsed leniently (content that is not a
// clean run of TLVs stays a leaf), written back with minimal lengths unless a mutation asks for a
// broken one; OCTET STRINGs that hold DER (Kerberos authorization data) are opened too.
import { boundary } from './bytes.js';
import type { Random } from './random.js';

export interface DerTreeNode {
  /** The identifier octets (tag class, constructed bit, number). */
  id: Buffer;
  /** Children, when the content is a clean run of TLVs; else undefined and `content` rules. */
  children: DerTreeNode[] | undefined;
  content: Buffer;
  /** Length octets to write instead of the right ones (a mutation). */
  lengthOverride?: Buffer;
}

const MAX_DEPTH = 40;

/** The TLVs that fill `bytes` exactly, or undefined. */
export function parseDer(bytes: Buffer, depth = 0): DerTreeNode[] | undefined {
  const nodes: DerTreeNode[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const first = bytes[at++]!;
    if ((first & 0x1f) === 0x1f) {
      while (at < bytes.length && bytes[at]! & 0x80) at++;
      at++;
    }
    if (at >= bytes.length) return undefined;
    const id = bytes.subarray(start, at);
    let length = bytes[at++]!;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4 || at + count > bytes.length) return undefined;
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[at++]!;
    }
    if (at + length > bytes.length) return undefined;
    const content = bytes.subarray(at, at + length);
    at += length;
    nodes.push({ id: Buffer.from(id), children: openChildren(first, content, depth), content });
  }
  return nodes;
}

/** Children of a constructed node, or of an OCTET STRING holding DER, when they write back exactly. */
function openChildren(first: number, content: Buffer, depth: number): DerTreeNode[] | undefined {
  if (depth >= MAX_DEPTH || content.length < 2) return undefined;
  const constructed = (first & 0x20) !== 0;
  if (!constructed && first !== 0x04) return undefined;
  const children = parseDer(content, depth + 1);
  if (!children || children.length === 0) return undefined;
  return serializeAll(children).equals(content) ? children : undefined;
}

export function lengthOctets(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function serialize(node: DerTreeNode): Buffer {
  const content = node.children ? serializeAll(node.children) : node.content;
  return Buffer.concat([node.id, node.lengthOverride ?? lengthOctets(content.length), content]);
}

export function serializeAll(nodes: readonly DerTreeNode[]): Buffer {
  return Buffer.concat(nodes.map(serialize));
}

/** Every node, depth first, with its parent's child list. */
function flatten(nodes: DerTreeNode[], into: { node: DerTreeNode; siblings: DerTreeNode[] }[] = []) {
  for (const node of nodes) {
    into.push({ node, siblings: nodes });
    if (node.children) flatten(node.children, into);
  }
  return into;
}

/**
 * Replaces the content of the first leaf equal to `old` by `replacement` (e.g. a cipher by its
 * re-encryption); returns whether one was found.
 */
export function replaceLeaf(nodes: DerTreeNode[], old: Buffer, replacement: Buffer): boolean {
  for (const node of nodes) {
    if (node.children) {
      if (replaceLeaf(node.children, old, replacement)) return true;
    } else if (node.content.equals(old)) {
      node.content = replacement;
      return true;
    }
  }
  return false;
}

export function cloneTree(nodes: readonly DerTreeNode[]): DerTreeNode[] {
  return nodes.map((node) => ({
    id: node.id,
    content: node.content,
    children: node.children ? cloneTree(node.children) : undefined,
  }));
}

/** Identifier octets worth trying: other universal types, context tags, long-form tags. */
const IDS = [
  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0a, 0x13, 0x16, 0x18, 0x1b, 0x30, 0x31, 0x60, 0x61, 0x6e, 0x6f, 0x7e,
  0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xbf, 0x00, 0xff,
];

/** Integers at the edges of what a Kerberos INTEGER (Int32, UInt32, Microseconds) holds. */
const INTEGER_CONTENTS = [
  [],
  [0x00],
  [0xff],
  [0x7f, 0xff, 0xff, 0xff],
  [0x80, 0x00, 0x00, 0x00],
  [0x00, 0xff, 0xff, 0xff, 0xff],
  [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  [0x00, 0x00, 0x01],
  [0x0f, 0x42, 0x40],
].map((bytes) => Buffer.from(bytes));

/** Length octets that lie: off by one, indefinite, oversized, non-minimal. */
function badLength(random: Random, real: number): Buffer {
  switch (random.int(6)) {
    case 0:
      return lengthOctets(Math.max(0, real + random.pick([-2, -1, 1, 2])));
    case 1:
      return Buffer.from([0x80]);
    case 2:
      return Buffer.from([0x84, 0xff, 0xff, 0xff, 0xff]);
    case 3:
      return Buffer.from([0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    case 4:
      return Buffer.from([0x82, (real >> 8) & 0xff, real & 0xff]);
    default:
      return lengthOctets(boundary(random) & 0xffffff);
  }
}

/**
 * One to `max` structure-aware edits of a DER tree (in place): each picks a node and changes its
 * tag, its length octets, its content, or its place.
 */
export function mutateTree(random: Random, roots: DerTreeNode[], max = 3): void {
  const edits = random.range(1, max);
  for (let e = 0; e < edits; e++) {
    const all = flatten(roots);
    if (all.length === 0) return;
    const { node, siblings } = random.pick(all);
    switch (random.int(11)) {
      case 0:
        node.id = Buffer.from([random.chance(0.8) ? random.pick(IDS) : random.int(256)]);
        if (random.chance(0.1)) node.id = Buffer.from([0x1f | (node.id[0]! & 0xe0), 0x81, random.int(128)]);
        break;
      case 1:
        node.lengthOverride = badLength(random, serialize(node).length);
        break;
      case 2:
        node.children = undefined;
        node.content = random.pick(INTEGER_CONTENTS);
        break;
      case 3: {
        node.children = undefined;
        node.content = node.content.subarray(0, random.int(node.content.length + 1));
        break;
      }
      case 4:
        node.children = undefined;
        node.content = random.bytes(random.chance(0.9) ? random.int(40) : random.range(200, 5000));
        break;
      case 5:
        siblings.splice(siblings.indexOf(node), 1);
        break;
      case 6:
        siblings.splice(random.int(siblings.length + 1), 0, cloneTree([node])[0]!);
        break;
      case 7: {
        const other = random.int(siblings.length);
        const here = siblings.indexOf(node);
        [siblings[here], siblings[other]] = [siblings[other]!, siblings[here]!];
        break;
      }
      case 8: {
        // Deep nesting: a parser that recurses without a bound runs out of stack here.
        let wrapped: DerTreeNode = node;
        const depth = random.chance(0.5) ? random.range(2, 10) : random.range(100, 600);
        for (let i = 0; i < depth; i++)
          wrapped = { id: Buffer.from([0x30]), children: [wrapped], content: Buffer.alloc(0) };
        siblings[siblings.indexOf(node)] = wrapped;
        break;
      }
      case 9:
        if (node.children) node.children.splice(0);
        else node.content = Buffer.alloc(0);
        break;
      default:
        if (!node.children) {
          node.content = Buffer.from(node.content);
          if (node.content.length) node.content[random.int(node.content.length)]! ^= 1 << random.int(8);
        } else {
          node.children.splice(random.int(node.children.length + 1), 0, {
            id: Buffer.from([random.pick(IDS)]),
            children: undefined,
            content: random.bytes(random.int(12)),
          });
        }
    }
  }
}

/** Structure-aware DER mutation of `bytes` (falls back to nothing when it does not parse). */
export function mutateDer(random: Random, bytes: Buffer, max = 3): Buffer {
  const roots = parseDer(bytes);
  if (!roots) return bytes;
  mutateTree(random, roots, max);
  return serializeAll(roots);
}
