// A small upstream for gateway tests: it answers every request with what it received (headers,
// the port of the connection it came on), streams POST bodies back on /echo, stays silent on
// /slow for ?ms, and echoes bytes back on a WebSocket-style upgrade.
import type http from 'node:http';
import type { Socket } from 'node:net';
import { listen } from './servers.js';

export interface SeenRequest {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The gateway-side port of the upstream connection this request came on. */
  readonly connection: number;
}

export interface EchoUpstream {
  readonly url: string;
  readonly server: http.Server;
  readonly seen: SeenRequest[];
  /** Upstream connections open now. */
  openConnections(): number;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const open = new Set<Socket>();
  const { server, url, close } = await listen((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, connection: req.socket.remotePort ?? 0 });
    if (req.url === '/echo') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
    const answer = () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, headers: req.headers, connection: req.socket.remotePort }));
    };
    req.resume();
    if (slow) setTimeout(answer, Number(slow[1]));
    else answer();
  });
  server.on('connection', (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.on('upgrade', (req, duplex) => {
    const socket = duplex as Socket;
    seen.push({ url: req.url ?? '', headers: req.headers, connection: socket.remotePort ?? 0 });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  return {
    url,
    server,
    seen,
    openConnections: () => open.size,
    close: async () => {
      for (const socket of open) socket.destroy();
      await close();
    },
  };
}
