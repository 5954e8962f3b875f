// Minimal reverse proxies on node:http's server (scenario 7d/7e/7g): no authentication, no header
// rewriting and no logging, forwarding through node:http's client (PROXY_CLIENT=node), undici's
// Pool.request (undici: the answer as a stream) or undici's Pool.dispatch (undici-dispatch: the
// answer through a handler, as the gateway forwards). All keep upstream connections alive.
// undici-dispatch-headers (7h): Pool.dispatch that also writes what the gateway's header contract
// adds to every request and answer (a request id, the forwarding headers, two identity headers of
// fixed values, the Keep-Alive hint), the gateway's way, with no authentication, no check and no
// log line: a plain implementation of that contract, as a bound for the gateway.
// Listens on 127.0.0.1:PORT, forwards to UPSTREAM; SIGTERM ends it.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { Pool } from 'undici';

const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:3000');
const port = Number(process.env.PORT);
const client = process.env.PROXY_CLIENT ?? 'node';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function nodeHandler(): Handler {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return (req, res) => {
    const proxyReq = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (proxyRes) => {
        res.writeHead(proxyRes.statusCode ?? 502, proxyRes.headers);
        proxyRes.pipe(res);
      },
    );
    proxyReq.on('error', () => res.destroy());
    req.pipe(proxyReq);
  };
}

function undiciHandler(): Handler {
  const pool = new Pool(upstream.origin, { connections: 64 });
  return (req, res) => {
    const { connection: _c, 'keep-alive': _k, host: _h, ...headers } = req.headers;
    pool
      .request({
        method: req.method as 'GET',
        path: req.url ?? '/',
        headers: headers as Record<string, string>,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
      })
      .then(({ statusCode, headers: upstreamHeaders, body }) => {
        const { connection: _uc, 'keep-alive': _uk, ...rest } = upstreamHeaders;
        res.writeHead(statusCode, rest as http.OutgoingHttpHeaders);
        body.pipe(res);
      })
      .catch(() => res.destroy());
  };
}

type AnswerHead = (
  res: http.ServerResponse,
  statusCode: number,
  upstreamHeaders: http.IncomingHttpHeaders,
) => void;

/**
 * Sends `req` with `headers` on `pool` through undici's handler API, as the gateway forwards, and
 * streams the answer back to `res`, its head written by `writeHead`.
 */
function dispatch(
  pool: Pool,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  headers: http.IncomingHttpHeaders,
  writeHead: AnswerHead,
): void {
  const hasBody = headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
  pool.dispatch(
    {
      method: req.method as 'GET',
      path: req.url ?? '/',
      headers: headers as Record<string, string>,
      body: hasBody ? req : null,
    },
    {
      // Its presence tells undici this is the handler API the gateway uses (onRequestStart...).
      onRequestStart() {},
      onResponseStart(_controller, statusCode, upstreamHeaders) {
        writeHead(res, statusCode, upstreamHeaders);
      },
      onResponseData(_controller, chunk) {
        res.write(chunk);
      },
      onResponseEnd() {
        res.end();
      },
      onResponseError() {
        res.destroy();
      },
    },
  );
}

/** 7g: the upstream's answer head as it came, but its own connection's headers. */
const plainAnswerHead: AnswerHead = (res, statusCode, upstreamHeaders) => {
  const { connection: _uc, 'keep-alive': _uk, ...rest } = upstreamHeaders;
  res.writeHead(statusCode, rest as http.OutgoingHttpHeaders);
};

function undiciDispatchHandler(): Handler {
  const pool = new Pool(upstream.origin, { connections: 64 });
  return (req, res) => {
    const { connection: _c, 'keep-alive': _k, host: _h, ...headers } = req.headers;
    dispatch(pool, req, res, headers, plainAnswerHead);
  };
}

/** Answer headers that are the upstream connection's (the gateway's writeAnswerHead drops the same). */
const HOP_BY_HOP_ANSWER = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/**
 * 7h, as the gateway's writeAnswerHead: the upstream's headers but the hop-by-hop ones, then ours;
 * timeout=60 is the gateway's default idle timeout (60 s).
 */
const gatewayAnswerHead: AnswerHead = (res, statusCode, upstreamHeaders) => {
  res.statusCode = statusCode;
  for (const name in upstreamHeaders) {
    if (HOP_BY_HOP_ANSWER.has(name)) continue;
    const value = upstreamHeaders[name];
    if (value !== undefined) res.setHeader(name, value);
  }
  res.setHeader('connection', 'keep-alive');
  res.setHeader('keep-alive', 'timeout=60');
};

function undiciDispatchHeadersHandler(): Handler {
  const pool = new Pool(upstream.origin, { connections: 64 });
  return (req, res) => {
    // The client's Host goes upstream, as the gateway forwards it (7e and 7g let undici write its own).
    const { connection: _c, 'keep-alive': _k, ...headers } = req.headers;
    const requestId = randomUUID();
    const peer = req.socket.remoteAddress ?? '';
    const host = headers.host ?? '';
    headers['x-request-id'] = requestId;
    headers['x-forwarded-for'] = peer;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-port'] = String(req.socket.localPort);
    // Quoted, as the gateway writes a host with a port (":" is not an RFC 7239 token character).
    headers.forwarded = `for=${peer};host="${host}";proto=http`;
    headers['x-ntlm-username'] = 'alice';
    headers['x-ntlm-domain'] = 'EXAMPLE';
    res.setHeader('X-Request-Id', requestId);
    dispatch(pool, req, res, headers, gatewayAnswerHead);
  };
}

const handlers: Record<string, () => Handler> = {
  node: nodeHandler,
  undici: undiciHandler,
  'undici-dispatch': undiciDispatchHandler,
  'undici-dispatch-headers': undiciDispatchHeadersHandler,
};
const server = http.createServer(handlers[client]!());
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
