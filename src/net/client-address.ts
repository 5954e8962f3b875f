// Who is on the other end of a request: the peer address, or behind a trusted proxy the client
// it forwards, and the share key (an IPv6 client by its /64) that every per-client limit counts by.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ConfigurationError } from '../errors.js';
import { ownString } from '../own-copy.js';

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
export function plainAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
}

/**
 * The key every per-client share is counted under: an IPv4 address as it is (also when
 * IPv4-mapped), an IPv6 one by its /64, since one host usually has a whole /64 to pick addresses
 * from (SLAAC privacy addresses, a delegated prefix): counting single IPv6 addresses would give
 * one host as many shares as it cares to use.
 */
export function shareKey(address: string): string {
  const plain = plainAddress(address);
  if (!plain.includes(':')) return plain;
  const [head = '', tail = ''] = plain.toLowerCase().split('%')[0]!.split('::');
  const groups = head ? head.split(':') : [];
  const rest = tail ? tail.split(':') : [];
  const full = [...groups, ...Array(Math.max(0, 8 - groups.length - rest.length)).fill('0'), ...rest];
  // Leading zeros dropped, so that 2001:0db8:: and 2001:db8:: are one client.
  return `${full
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The proxies in front of the gateway whose X-Forwarded-* and Forwarded headers are believed. */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  /** Addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`); anything else is a ConfigurationError. */
  constructor(entries: readonly string[] = [], owner = 'ntlm()') {
    for (const entry of entries) {
      const [address = '', prefix, extra] = entry.trim().split('/');
      const family = isIP(address);
      const bits = prefix === undefined ? undefined : Number(prefix);
      const maxBits = family === 6 ? 128 : 32;
      if (
        family === 0 ||
        extra !== undefined ||
        (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits && prefix !== ''))
      )
        throw new ConfigurationError(
          `${owner}: trustedProxies: ${JSON.stringify(entry)} is not an IP address or network (10.0.0.5, 10.0.0.0/8, ::1)`,
        );
      const type = family === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address, type);
      else this.#list.addSubnet(address, bits, type);
    }
    this.#empty = entries.length === 0;
  }

  has(address: string | undefined): boolean {
    if (this.#empty) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && this.#list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  }
}

/** X-Forwarded-For's entries, left (the original client) to right (the last proxy's peer). */
function forwardedFor(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text
    .split(',')
    .map((entry) => entry.trim().replace(/^\[([^\]]+)\](?::\d+)?$/, '$1'))
    .filter(Boolean);
}

/**
 * Who the request is from: the connection's peer, or, when the peer is a trusted proxy, the
 * rightmost X-Forwarded-For entry that is not itself a trusted proxy (the entries left of it
 * were written by someone we do not trust). Used to count a client's share.
 */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  const peer = plainAddress(req.socket.remoteAddress);
  if (!trusted.has(peer)) return peer;
  const chain = forwardedFor(req.headers['x-forwarded-for']);
  for (let i = chain.length - 1; i >= 0; i--) {
    const entry = plainAddress(chain[i]);
    if (isIP(entry) === 0) return peer;
    // Kept by the shares and limits it is counted in: not a slice of the whole header.
    if (!trusted.has(entry) || i === 0) return ownString(entry);
  }
  return peer;
}
