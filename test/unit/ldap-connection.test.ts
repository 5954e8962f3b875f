import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LdapConnection, LdapTransportError } from '../../src/dc/ldap-connection.js';

/** A server that reads and never answers: every operation stays pending until the connection ends. */
describe('LdapConnection closed by us', () => {
  let server: net.Server;
  let url: string;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ldap://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const open = () => LdapConnection.connect({ url, connectTimeoutMs: 2000, operationTimeoutMs: 5000 });

  it('rejects an operation in flight, and any later one, with connection-closed', async () => {
    const connection = await open();
    const inFlight = connection.saslBind('GSS-SPNEGO', Buffer.from('token'));
    connection.close();
    assert.equal(connection.closed, true);
    await assert.rejects(inFlight, (error: unknown) => {
      assert.ok(error instanceof LdapTransportError);
      assert.equal(error.reason, 'connection-closed');
      assert.match(error.message, /closed by us/);
      return true;
    });
    await assert.rejects(connection.saslBind('GSS-SPNEGO', Buffer.from('again')), (error: unknown) => {
      assert.ok(error instanceof LdapTransportError);
      assert.equal(error.reason, 'connection-closed');
      return true;
    });
  });

  it('closed with nothing pending: a later operation still rejects, after the socket is gone too', async () => {
    const connection = await open();
    connection.close();
    connection.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(
      connection.search({
        base: '',
        scope: 0,
        filter: { kind: 'present', attribute: 'objectClass' } as never,
        attributes: [],
      }),
      (error: unknown) => error instanceof LdapTransportError && error.reason === 'connection-closed',
    );
  });
});
