import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { readRequestTarget } from '../../src/gateway/request-target.js';

const request = (method: string, url: string) =>
  ({ method, url, headers: { host: 'gateway.example:8080' } }) as unknown as IncomingMessage;

test('readRequestTarget: the origin-form stays as it is', () => {
  const req = request('GET', '/page?q=1');
  assert.equal(readRequestTarget(req), 'path');
  assert.equal(req.url, '/page?q=1');
  assert.equal(req.headers.host, 'gateway.example:8080');
});

test('readRequestTarget: the absolute-form becomes a path, its host the Host (any case of scheme, no path: /)', () => {
  for (const [target, path, host] of [
    ['http://app.example/a/b?c=d', '/a/b?c=d', 'app.example'],
    ['HTTPS://App.Example:8443', '/', 'app.example:8443'],
    ['http://[::1]:81/x', '/x', '[::1]:81'],
    // As the client wrote it, as the origin-form goes on: no dot segment resolved.
    ['http://app.example/a/../b?c', '/a/../b?c', 'app.example'],
    ['http://user@app.example?q=1', '/?q=1', 'app.example'],
  ] as const) {
    const req = request('GET', target);
    assert.equal(readRequestTarget(req), 'path', target);
    assert.equal(req.url, path, target);
    assert.equal(req.headers.host, host, target);
  }
});

test('readRequestTarget: OPTIONS * names the server; anything else that is not a path is unreadable', () => {
  assert.equal(readRequestTarget(request('OPTIONS', '*')), 'server');
  for (const [method, target] of [
    ['GET', '*'],
    ['GET', 'ftp://app.example/'],
    ['GET', 'page'],
    ['GET', 'http://'],
    ['GET', ''],
  ] as const)
    assert.equal(readRequestTarget(request(method, target)), 'unreadable', `${method} ${target}`);
});
