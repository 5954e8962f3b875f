// Row 2's load: requests that carry a Bearer token our server issued, from autocannon.
import autocannon from 'autocannon';
import type { ClientCredentials } from '../../test/helpers/ntlm-client.js';
import { CONNECTIONS } from './context.js';
import { HttpConnection } from './http-conn.js';
import { handshake } from './ntlm-load.js';

/** The Bearer token the server on `port` answers one NTLM handshake of `user` with. */
export async function issueBearerToken(port: number, user: ClientCredentials): Promise<string> {
  const connection = await HttpConnection.open(port);
  try {
    const reply = await handshake(connection, user);
    if (reply.status !== 200 || !reply.authorization?.startsWith('Bearer '))
      throw new Error(`the handshake gave no Bearer token (status ${reply.status})`);
    return reply.authorization.slice('Bearer '.length);
  } finally {
    connection.close();
  }
}

/** GETs carrying `token` on CONNECTIONS keep-alive connections for `durationMs`. */
export function bearerLoad(port: number, token: string, durationMs: number): ReturnType<typeof autocannon> {
  return autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    duration: durationMs / 1000,
    headers: { authorization: `Bearer ${token}` },
  });
}
