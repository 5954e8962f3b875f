import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { plainAddress, type TrustedProxies } from '../net/client-address.js';

/** RFC 7239 section 6: an IPv6 node is quoted and bracketed. */
function forwardedNode(address: string): string {
  return isIP(address) === 6 ? `"[${address}]"` : address;
}

/** RFC 7239 section 4: a value that is not a token is a quoted-string. */
function forwardedValue(value: string): string {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

const join = (earlier: string | string[] | undefined, ours: string) => {
  const before = Array.isArray(earlier) ? earlier.join(', ') : earlier;
  return before ? `${before}, ${ours}` : ours;
};

/**
 * Sets what the upstream is told about the original request: X-Forwarded-For/-Host/-Proto/-Port
 * and Forwarded (RFC 7239). A client could write those headers itself to pose as another
 * address or site, so they are replaced with what the gateway saw, unless the client is a
 * trusted proxy; then its values stay and the gateway appends its own hop to the chains.
 */
export function setForwardingHeaders(req: IncomingMessage, trusted: TrustedProxies, tls: boolean): void {
  const headers = req.headers;
  const peer = plainAddress(req.socket.remoteAddress);
  const host = headers.host ?? '';
  const proto = tls ? 'https' : 'http';
  const port = /:(\d+)$/.exec(host)?.[1] ?? String(req.socket.localPort ?? (tls ? 443 : 80));
  const hop = `for=${forwardedNode(peer)};host=${forwardedValue(host)};proto=${proto}`;
  if (trusted.has(peer)) {
    headers['x-forwarded-for'] = join(headers['x-forwarded-for'], peer);
    headers['x-forwarded-host'] ??= host;
    headers['x-forwarded-proto'] ??= proto;
    headers['x-forwarded-port'] ??= port;
    headers.forwarded = join(headers.forwarded, hop);
    return;
  }
  headers['x-forwarded-for'] = peer;
  headers['x-forwarded-host'] = host;
  headers['x-forwarded-proto'] = proto;
  headers['x-forwarded-port'] = port;
  headers.forwarded = hop;
  // Another header with the same meaning that some applications read.
  delete headers['x-real-ip'];
}
