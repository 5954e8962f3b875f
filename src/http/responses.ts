import type { ServerResponse } from 'node:http';
import type { PlainResponse } from './decision-response.js';

/** The Content-Type of every answer the adapters write themselves. */
export const PLAIN_TEXT = 'text/plain; charset=utf-8';

/** A plain-text answer; on a response already under way, the connection is cut instead. */
export function sendText(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string | readonly string[]>>,
  body: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value as string | string[]);
  res.setHeader('Content-Type', PLAIN_TEXT);
  // A string, as Express's res.send() gives it: a number makes Node's setHeader() drop the code
  // it had optimized for strings at the first challenge a warm server sends.
  res.setHeader('Content-Length', String(Buffer.byteLength(body)));
  res.end(body);
}

/** A JSON answer (the gateway's endpoints, the JWKS). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  cacheControl = 'no-store',
): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': cacheControl });
  res.end(JSON.stringify(body));
}

/** Published keys change only with a restart; other services may keep them a few minutes. */
export const JWKS_CACHE_CONTROL = 'public, max-age=300';

export function sendPlain(res: ServerResponse, response: PlainResponse): void {
  sendText(res, response.status, response.headers, response.body);
}

/**
 * Access-Control-Expose-Headers with `name` added to what another middleware (cors()) set:
 * replacing it would hide that middleware's headers from scripts.
 */
export function exposedHeaders(current: unknown, name: string): string {
  const names = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (!names.some((entry) => entry.toLowerCase() === name.toLowerCase() || entry === '*')) names.push(name);
  return names.join(', ');
}
