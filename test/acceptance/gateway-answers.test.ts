// Answers on their way back to the client, in both modes. Requests pipelined before an
// unreadable one get their answers before its 400. Trailer fields after a chunked body go on with
// it. Clients that read an answer slowly, or stop reading it: a slow download is not a silent
// upstream, so the upstream's silence clock (--upstream-timeout) must not run while the gateway
// waits for the client (pass-through cut such downloads with a "no answer" log line). A client
// that takes nothing for --send-timeout has its connection closed and the upstream request
// ended, as nginx's send_timeout does, so it cannot hold them for ever.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { linesWith } from '../helpers/log-lines.js';
import { type GatewayMode, type RunningProcess, startGatewayPair } from '../helpers/processes.js';
import { RawConnection } from '../helpers/raw-http.js';
import { ALICE } from '../helpers/servers.js';

/** More than loopback's socket buffers hold on both sides, so that the upstream waits on the client. */
const LARGE = 48 * 1024 * 1024;

describe('gateway: answers on their way back', () => {
  let upstream: EchoUpstream;
  let gateways: Record<GatewayMode, RunningProcess>;
  before(async () => {
    upstream = await startEchoUpstream();
    gateways = await startGatewayPair(upstream.url, [
      '--upstream-timeout',
      '500ms',
      '--send-timeout',
      '4s',
      '--debug',
      '0',
    ]);
  });
  after(async () => {
    for (const gateway of Object.values(gateways ?? {})) await gateway.stop();
    await upstream?.close();
  });

  /** A connection ready to ask for a download: logged on in header mode; pass-through forwards a request without credentials. */
  const connect = async (mode: GatewayMode) => {
    const url = gateways[mode].url;
    const connection = await RawConnection.open(url);
    if (mode === 'header')
      assert.equal((await connection.logOn(new URL(url).host, '/hello', ALICE)).status, 200);
    return connection;
  };
  const download = (url: string) => [`GET /bytes?n=${LARGE} HTTP/1.1`, `Host: ${new URL(url).host}`];

  for (const mode of ['header', 'pass-through'] as const) {
    test(`${mode} mode: requests pipelined before an unreadable one get their answers, in order, before its 400`, async () => {
      const connection = await connect(mode);
      try {
        const host = new URL(gateways[mode].url).host;
        const text = await connection.sendUntilClosed(
          `GET /slow?ms=300 HTTP/1.1\r\nHost: ${host}\r\n\r\n` +
            `GET /next HTTP/1.1\r\nHost: ${host}\r\n\r\n` +
            'NOT HTTP\x01\r\n\r\n',
        );
        const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => match[1]);
        assert.deepEqual(statuses, ['200', '200', '400']);
        assert.ok(text.indexOf('"/slow?ms=300"') < text.indexOf('"/next"'), 'in the order asked');
      } finally {
        connection.close();
      }
    });

    test(`${mode} mode: the upstream's trailer fields reach the client`, async () => {
      const client = new NtlmHttpClient(gateways[mode].url);
      try {
        if (mode === 'header') assert.equal((await client.login('/hello', ALICE)).status, 200);
        const reply = await client.request('/trailers');
        assert.equal(reply.status, 200);
        assert.equal(reply.body, 'body, then a trailer');
        assert.equal(reply.headers.trailer, 'X-Checksum');
        assert.deepEqual(reply.trailers, { 'x-checksum': 'sha256=abc' });
      } finally {
        client.close();
      }
    });

    test(`${mode} mode: a client that reads nothing for longer than --upstream-timeout gets the whole answer`, async () => {
      const connection = await connect(mode);
      const finished = upstream.downloads.finished;
      try {
        const { status, received } = await connection.download(download(gateways[mode].url), 1500);
        assert.equal(status, 200);
        assert.equal(received, LARGE, 'the whole body');
        assert.equal(upstream.downloads.finished, finished + 1);
        assert.deepEqual(linesWith(gateways[mode].output(), 'upstream request failed'), []);
      } finally {
        connection.close();
      }
    });

    test(`${mode} mode: a client that stops reading is cut after --send-timeout (4 s here), and the upstream request with it`, async (t) => {
      const connection = await connect(mode);
      const cut = upstream.downloads.cut;
      const started = Date.now();
      try {
        // Reads nothing until the gateway has given up on it, then what was on its way.
        const { status, received } = await connection.download(download(gateways[mode].url), 9000);
        t.diagnostic(`${received} of ${LARGE} bytes reached the client`);
        assert.equal(status, 200);
        assert.ok(received < LARGE, 'the answer was cut');
        await eventually(() => upstream.downloads.cut === cut + 1, 'the upstream request ended');
        const [line] = linesWith(gateways[mode].output(), 'client stopped reading');
        assert.equal(line?.reason, 'took none of the answer in 4000 ms');
        assert.equal(line?.url, `/bytes?n=${LARGE}`);
        assert.ok(Date.now() - started < 20_000);
      } finally {
        connection.close();
      }
    });
  }
});
