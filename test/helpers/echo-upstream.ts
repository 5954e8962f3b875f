// A small upstream for gateway tests: it answers every request with what it received (headers,
// the port of the connection it came on), streams POST bodies back on /echo, stays silent on
// /slow for ?ms, and echoes bytes back on a WebSocket-style upgrade (a browser's WebSocket gets a
// real handshake and one message naming the user it was sent).
import { createHash } from 'node:crypto';
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
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const open = new Set<Socket>();
  const webSockets = new Set<Socket>();
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
    webSockets.add(socket);
    socket.once('close', () => webSockets.delete(socket));
    seen.push({ url: req.url ?? '', headers: req.headers, connection: socket.remotePort ?? 0 });
    socket.on('error', () => {});
    const key = req.headers['sec-websocket-key'];
    if (typeof key === 'string') {
      // A browser's WebSocket: a real handshake, then one text frame saying who the gateway said it was.
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const text = Buffer.from(JSON.stringify({ user: req.headers['x-ntlm-username'] ?? null }));
      socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
      socket.resume();
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.pipe(socket);
  });
  return {
    url,
    server,
    seen,
    close: async () => {
      for (const socket of [...open, ...webSockets]) socket.destroy();
      await close();
    },
  };
}
