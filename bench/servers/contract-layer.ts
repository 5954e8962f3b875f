// Rows 1f and 2d: what the middleware's contract asks of every request it lets through, and
// nothing else, as a floor for ours' per-request work.
import type http from 'node:http';
import express from 'express4';

export interface ContractIdentity {
  readonly username: string;
  readonly domain: string;
  readonly remoteUser: string;
}

type Request = http.IncomingMessage & { res: { locals: Record<string | symbol, unknown> } };

/**
 * A layer that looks for the client's X-Ntlm-* headers in rawHeaders (the bench sends none, so
 * only the look costs), and hands over the identity `find` gives: req.ntlm through an accessor
 * on Express's request prototype (no own property per request, as ours; a simpler accessor than
 * src/http/request-property.ts, with no owner check, so cheaper), res.locals.ntlm, and
 * X-Ntlm-Username/-Domain in headers and rawHeaders. A request it finds no identity for, or that
 * carries an X-Ntlm-* header, is answered 500: the bench counts it as a failure, so that a floor
 * which hands over nothing cannot pass for a fast one.
 */
export function contractLayer(find: (req: http.IncomingMessage) => ContractIdentity | undefined) {
  const slot = Symbol('ntlm');
  Object.defineProperty(express.request, 'ntlm', {
    configurable: true,
    get(this: Request) {
      return this.res.locals[slot];
    },
    set(this: Request, value: unknown) {
      this.res.locals[slot] = value;
    },
  });
  return (incoming: http.IncomingMessage, res: http.ServerResponse, next: () => void) => {
    const req = incoming as Request;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if ((raw[i]!.charCodeAt(0) | 0x20) === 0x78 && /^x[-_]ntlm[-_]/i.test(raw[i]!)) return refuse(res);
    }
    const identity = find(req);
    if (identity === undefined) return refuse(res);
    (req as { ntlm?: unknown }).ntlm = identity;
    req.res.locals.ntlm = identity;
    req.headers['x-ntlm-username'] = identity.remoteUser;
    req.headers['x-ntlm-domain'] = identity.domain;
    raw.push('X-Ntlm-Username', identity.remoteUser, 'X-Ntlm-Domain', identity.domain);
    next();
  };
}

function refuse(res: http.ServerResponse): void {
  res.statusCode = 500;
  res.end('the contract floor found no identity\n');
}
