import type { IncomingMessage } from 'node:http';

/**
 * What a request's target names (RFC 9112 3.2): a path (the origin-form, `/page?q=1`, as
 * browsers send), the server as a whole (`OPTIONS *`), or nothing the gateway can read.
 */
export type RequestTarget = 'path' | 'server' | 'unreadable';

const ABSOLUTE_FORM = /^https?:\/\//i;
/** Where the authority ends: at the path, or at the query of a target with no path. */
const AFTER_AUTHORITY = /[/?]/;

/**
 * Reads the target, turning the absolute-form (`GET http://host/page`, which a proxy in front
 * may pass on, and which a server must take) into the origin-form that the endpoints, access
 * rules and upstream path expect, with the target's host in place of Host (RFC 9112 3.2.2):
 * sent on as it came, its path was glued to the upstream's (`/basehttp://host/page`).
 */
export function readRequestTarget(req: IncomingMessage): RequestTarget {
  const target = req.url ?? '';
  if (target.startsWith('/')) return 'path';
  if (target === '*') return req.method === 'OPTIONS' ? 'server' : 'unreadable';
  if (!ABSOLUTE_FORM.test(target) || !URL.canParse(target)) return 'unreadable';
  // The path as the client wrote it, as an origin-form one goes on (URL would resolve its dot
  // segments); the host as a Host header writes it.
  const authority = target.indexOf('//') + 2;
  const pathAt = target.slice(authority).search(AFTER_AUTHORITY);
  const rest = pathAt < 0 ? '' : target.slice(authority + pathAt);
  req.url = rest.startsWith('/') ? rest : `/${rest}`;
  req.headers.host = new URL(target).host;
  return 'path';
}
