import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';

export interface ClientServerSettings {
  readonly tls: SecureContextOptions | undefined;
  readonly headerTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxClientConnections: number;
}

/**
 * Runs `then` once the answers to the requests read before an unreadable one are out, so that a
 * client that pipelines gets them, in order, before the refusal (Node's own handler ends the
 * connection without them). Node shows the answer under way only as `socket._httpMessage`, as
 * its own handler reads it; those queued behind it take its place in turn.
 */
function afterAnswersInFlight(socket: Socket, then: () => void): void {
  const inFlight = (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (inFlight) inFlight.once('close', () => setImmediate(() => afterAnswersInFlight(socket, then)));
  else then();
}

/**
 * The server clients connect to. A request's headers get headerTimeoutMs (checked every second
 * or so, not Node's 30 s; with TLS the handshake too); the whole request, body included, Node's
 * 5 minutes. Between requests a connection stays open as long as the gateway remembers it (the
 * idle timeout), not Node's 5 s keep-alive default: every reconnect would cost a handshake.
 * Headers may hold maxHeaderBytes (Node's 16 KiB is too small for large Kerberos tokens).
 * Malformed, slow or oversized requests are answered (400, 408, 431) and closed.
 */
export function createClientServer(
  settings: ClientServerSettings,
  onRequest: http.RequestListener,
): http.Server {
  const { tls, headerTimeoutMs } = settings;
  const serverOptions: http.ServerOptions = {
    maxHeaderSize: settings.maxHeaderBytes,
    headersTimeout: headerTimeoutMs,
    requestTimeout: Math.max(300_000, headerTimeoutMs),
    connectionsCheckingInterval: Math.min(1000, headerTimeoutMs),
  };
  const server = tls
    ? https.createServer({ ...tls, ...serverOptions, handshakeTimeout: headerTimeoutMs }, onRequest)
    : http.createServer(serverOptions, onRequest);
  server.keepAliveTimeout = settings.idleTimeoutMs;
  server.maxConnections = settings.maxClientConnections;
  // Node's parser reports an unreadable request again at each later chunk: answered once.
  const refused = new WeakSet<Socket>();
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (refused.has(socket)) return;
    refused.add(socket);
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    afterAnswersInFlight(socket, () => {
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
      else socket.destroy();
    });
  });
  return server;
}
