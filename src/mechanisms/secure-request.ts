import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { TrustedProxies } from '../net/client-address.js';

/**
 * Whether a request came over TLS, the rule Basic is offered and taken by:
 * - the socket is TLS (`https.createServer`, the gateway with --tls-cert); or
 * - the peer is one of `trustedProxies` and every X-Forwarded-Proto value is `https` (one header
 *   or several, comma-separated, at least one value). A proxy that appends rather than replaces
 *   the header turns a client's forged `https` into `https, http`, which is not enough; a client
 *   that is not a trusted proxy is never believed. `Forwarded: proto=` is not read.
 */
export function isSecureRequest(req: IncomingMessage, trustedProxies: TrustedProxies): boolean {
  if ((req.socket as TLSSocket).encrypted) return true;
  if (!trustedProxies.has(req.socket.remoteAddress)) return false;
  const header = req.headers['x-forwarded-proto'];
  const values = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((value) => value.trim().toLowerCase());
  return values.length > 0 && values.every((value) => value === 'https');
}
