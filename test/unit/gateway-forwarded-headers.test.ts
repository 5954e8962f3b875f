// What the upstream is told about the original request, and who a request counts as, with and
// without a trusted proxy in front (no network: requests are plain objects).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { setForwardingHeaders } from '../../src/gateway/forwarded-headers.js';
import { isNtlmError } from '../../src/index.js';
import { clientAddress, TrustedProxies } from '../../src/net/client-address.js';

function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return {
    socket: { remoteAddress, localPort: 8080 },
    headers: { host: 'app.example.test:8080', ...headers },
  } as unknown as IncomingMessage;
}

const SPOOFED = {
  'x-forwarded-for': '6.6.6.6',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '443',
  forwarded: 'for=6.6.6.6;host=evil.example',
  'x-real-ip': '6.6.6.6',
};

describe('forwarding headers', () => {
  test('from an untrusted client, X-Forwarded-* and Forwarded are replaced with what the gateway saw', () => {
    const req = request('::ffff:192.0.2.10', SPOOFED);
    setForwardingHeaders(req, new TrustedProxies(['10.0.0.0/8']), false);
    assert.deepEqual(req.headers, {
      host: 'app.example.test:8080',
      'x-forwarded-for': '192.0.2.10',
      'x-forwarded-host': 'app.example.test:8080',
      'x-forwarded-proto': 'http',
      'x-forwarded-port': '8080',
      forwarded: 'for=192.0.2.10;host="app.example.test:8080";proto=http',
    });
  });

  test('from a trusted proxy, its values stay and the gateway appends its hop', () => {
    const req = request('10.1.2.3', SPOOFED);
    setForwardingHeaders(req, new TrustedProxies(['10.0.0.0/8']), true);
    assert.equal(req.headers['x-forwarded-for'], '6.6.6.6, 10.1.2.3');
    assert.equal(req.headers['x-forwarded-host'], 'evil.example');
    assert.equal(req.headers['x-forwarded-proto'], 'https');
    assert.equal(
      req.headers.forwarded,
      'for=6.6.6.6;host=evil.example, for=10.1.2.3;host="app.example.test:8080";proto=https',
    );
    assert.equal(req.headers['x-real-ip'], '6.6.6.6');
    // A trusted proxy that sent none: ours, as for anyone.
    const bare = request('10.1.2.3');
    setForwardingHeaders(bare, new TrustedProxies(['10.1.2.3']), false);
    assert.equal(bare.headers['x-forwarded-for'], '10.1.2.3');
    assert.equal(bare.headers['x-forwarded-proto'], 'http');
  });

  test('IPv6 peers are quoted in Forwarded (RFC 7239 section 6)', () => {
    const req = request('2001:db8::7');
    setForwardingHeaders(req, new TrustedProxies(), false);
    assert.equal(req.headers.forwarded, 'for="[2001:db8::7]";host="app.example.test:8080";proto=http');
  });

  test('clientAddress: the peer, or behind trusted proxies the rightmost untrusted X-Forwarded-For entry', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '::1']);
    assert.equal(
      clientAddress(request('192.0.2.10', { 'x-forwarded-for': '6.6.6.6' }), trusted),
      '192.0.2.10',
    );
    assert.equal(
      clientAddress(request('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.4' }), trusted),
      '198.51.100.4',
    );
    assert.equal(
      clientAddress(request('::1', { 'x-forwarded-for': '198.51.100.4, 10.0.0.9' }), trusted),
      '198.51.100.4',
    );
    assert.equal(clientAddress(request('10.0.0.1', { 'x-forwarded-for': '10.0.0.2' }), trusted), '10.0.0.2');
    assert.equal(clientAddress(request('10.0.0.1'), trusted), '10.0.0.1');
    assert.equal(clientAddress(request('10.0.0.1', { 'x-forwarded-for': 'unknown' }), trusted), '10.0.0.1');
  });

  test('trusted proxies must be addresses or networks', () => {
    for (const bad of ['proxy.local', '10.0.0.0/33', '10.0.0.0/', '::1/129', '1.2.3.4/8/9']) {
      assert.throws(
        () => new TrustedProxies([bad]),
        (error: unknown) => isNtlmError(error) && error.code.startsWith('ERR_NTLM_CONFIG'),
        bad,
      );
    }
    assert.ok(new TrustedProxies(['fd00::/8']).has('fd12::1'));
    assert.ok(!new TrustedProxies().has('127.0.0.1'));
  });
});
