// A small upstream for gateway tests: it answers every request with what it received (headers,
// the port of the connection it came on), streams POST bodies back on /echo, stays silent on
// /slow for ?ms, answers /trailers chunked with an X-Checksum trailer, sends ?n bytes on /bytes
// (counting the answers sent whole and those cut), and echoes bytes back on a WebSocket-style
// upgrade (a browser's WebSocket gets a real handshake and one message naming the user it was
// sent).
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
  /** /bytes answers: sent whole, or cut (the gateway ended the request first). */
  readonly downloads: { finished: number; cut: number };
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** `bytes` bytes, written as fast as the gateway takes them. */
function sendBytes(res: http.ServerResponse, bytes: number): void {
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes) });
  let left = bytes;
  const more = () => {
    while (left > 0) {
      const chunk = CHUNK.subarray(0, Math.min(left, CHUNK.length));
      left -= chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const seen: SeenRequest[] = [];
  const downloads = { finished: 0, cut: 0 };
  const open = new Set<Socket>();
  const webSockets = new Set<Socket>();
  const { server, url, close } = await listen((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, connection: req.socket.remotePort ?? 0 });
    if (req.url === '/echo') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    if (req.url === '/trailers') {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('body, then a trailer');
      res.addTrailers({ 'X-Checksum': 'sha256=abc' });
      return void res.end();
    }
    const bytes = /^\/bytes\?n=(\d+)$/.exec(req.url ?? '');
    if (bytes) {
      res.once('close', () => {
        if (res.writableFinished) downloads.finished++;
        else downloads.cut++;
      });
      return sendBytes(res, Number(bytes[1]));
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
    downloads,
    close: async () => {
      for (const socket of [...open, ...webSockets]) socket.destroy();
      await close();
    },
  };
}
