// The Node ceiling for a reverse proxy on this machine (scenario 7d/7e): the least a Node proxy
// can do, with no authentication, no header rewriting and no logging, on node:http's client
// (PROXY_CLIENT=node) or on undici's (PROXY_CLIENT=undici). Both keep upstream connections
// alive. Listens on 127.0.0.1:PORT, forwards to UPSTREAM; SIGTERM ends it.
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

const server = http.createServer(client === 'undici' ? undiciHandler() : nodeHandler());
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
