// The built package (dist/), loaded the way users load it: require() and import, by its name.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SERVER = (load: string) => `
${load}
const http = require('node:http');
const verifier = localDirectory({ domain: 'EXAMPLE', users: [{ username: 'alice', password: 'pw' }] });
const auth = ntlm({ verifier });
const server = http.createServer((req, res) => auth(req, res, () => res.end('hi')));
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const reply = await fetch('http://127.0.0.1:' + port + '/');
  console.log(JSON.stringify({ status: reply.status, challenge: reply.headers.get('www-authenticate'),
    errors: typeof ConfigurationError, wire: typeof wire.decodeAuthenticate }));
  server.close();
});`;

async function runScript(type: 'commonjs' | 'module', source: string) {
  const { stdout } = await run(process.execPath, ['--input-type', type, '-e', source], { cwd: ROOT });
  return JSON.parse(stdout);
}

const expected = { status: 401, challenge: 'NTLM', errors: 'function', wire: 'function' };

// Each adapter subpath, loaded by name beside 'ntlm-sso': a first request gets the NTLM challenge,
// and a bad option throws the very ConfigurationError class 'ntlm-sso' exports (one copy of the
// shared code, so errors thrown by a verifier from 'ntlm-sso' are recognised by the adapter).
const ADAPTER = (load: string) => `
${load}
const verifier = localDirectory({ domain: 'EXAMPLE', users: [{ username: 'alice', password: 'pw' }] });
const challenge = async (port) => {
  const reply = await fetch('http://127.0.0.1:' + port + '/');
  return { status: reply.status, challenge: reply.headers.get('www-authenticate') };
};
const shared = async (attempt) => {
  try { await attempt(); return 'accepted'; } catch (error) { return error instanceof ConfigurationError; }
};
(async () => {
  const app = Fastify();
  await app.register(ntlmPlugin, { verifier });
  app.get('/', async () => 'hi');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const fastify = await challenge(app.server.address().port);
  await app.close();
  const koaApp = new Koa();
  koaApp.use(ntlm({ verifier }));
  const server = koaApp.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const koa = await challenge(server.address().port);
  server.close();
  console.log(JSON.stringify({
    fastify,
    koa,
    sharedErrors: [await shared(() => Fastify().register(ntlmPlugin, {})), await shared(() => ntlm({}))],
  }));
})();`;

const adaptersExpected = {
  fastify: { status: 401, challenge: 'NTLM' },
  koa: { status: 401, challenge: 'NTLM' },
  sharedErrors: [true, true],
};

describe('the built package', () => {
  it('works from CommonJS: require("ntlm-sso")', async () => {
    const result = await runScript(
      'commonjs',
      SERVER("const { ntlm, localDirectory, ConfigurationError, wire } = require('ntlm-sso');"),
    );
    assert.deepEqual(result, expected);
  });

  it('works from ESM: import "ntlm-sso"', async () => {
    const source = SERVER(
      "import { ntlm, localDirectory, ConfigurationError, wire } from 'ntlm-sso';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);",
    );
    assert.deepEqual(await runScript('module', source), expected);
  });

  it('require("ntlm-sso") loads no framework, and no ioredis, http-proxy-3 or ldapts until they are used', async () => {
    const loaded = await runScript(
      'commonjs',
      `const { RedisStore } = require('ntlm-sso');
      const heavy = () => Object.keys(require.cache)
        .filter((file) => /node_modules[\\\\/](fastify|koa|ioredis|http-proxy-3|ldapts)[\\\\/]/.test(file))
        .map((file) => file.split(/node_modules[\\\\/]/)[1].split(/[\\\\/]/)[0]);
      const atLoad = heavy();
      const store = new RedisStore({ redis: 'redis://127.0.0.1:1', timeoutMs: 100 });
      const onUse = [...new Set(heavy())];
      store.close().finally(() => console.log(JSON.stringify({ atLoad, onUse })));`,
    );
    assert.deepEqual(loaded, { atLoad: [], onUse: ['ioredis'] });
  });

  it('works from CommonJS: require("ntlm-sso/fastify") and require("ntlm-sso/koa")', async () => {
    const source = ADAPTER(`const { localDirectory, ConfigurationError } = require('ntlm-sso');
const { ntlmPlugin } = require('ntlm-sso/fastify');
const { ntlm } = require('ntlm-sso/koa');
const Fastify = require('fastify');
const Koa = require('koa');`);
    assert.deepEqual(await runScript('commonjs', source), adaptersExpected);
  });

  it('works from ESM: import "ntlm-sso/fastify" and "ntlm-sso/koa"', async () => {
    const source = ADAPTER(`import { localDirectory, ConfigurationError } from 'ntlm-sso';
import { ntlmPlugin } from 'ntlm-sso/fastify';
import { ntlm } from 'ntlm-sso/koa';
import Fastify from 'fastify';
import Koa from 'koa';`);
    assert.deepEqual(await runScript('module', source), adaptersExpected);
  });
});
