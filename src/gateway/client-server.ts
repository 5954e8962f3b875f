import http from 'node:http';
import https from 'node:https';
import type { SecureContextOptions } from 'node:tls';

export interface ClientServerSettings {
  readonly tls: SecureContextOptions | undefined;
  readonly headerTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxClientConnections: number;
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
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? '408 Request Timeout'
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  return server;
}
