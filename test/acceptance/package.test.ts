// The built package (dist/), loaded the way users load it: require() and import, by its name;
// then packed and installed into an empty app, as a new user gets it, and measured (issue 21).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type PackedApp, packAndInstall } from '../helpers/packed-app.js';
import { CONSUMER, type ConsumerSetup, consumerSetups } from '../helpers/ts-consumer.js';

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

  it('jose is loaded when the first token is checked, not with ntlm-sso nor with bearer on', async () => {
    const loaded = await runScript(
      'commonjs',
      `const { ntlm, localDirectory } = require('ntlm-sso');
      const jose = () => Object.keys(require.cache).some((file) => /node_modules[\\\\/]jose[\\\\/]/.test(file));
      const quiet = { debug() {}, info() {}, warn() {}, error() {} };
      const auth = ntlm({ verifier: localDirectory({ domain: 'EXAMPLE', users: [] }), bearer: { secret: 'x'.repeat(32) }, logger: quiet });
      const atLoad = jose();
      const request = { socket: {}, authorization: 'Bearer a.b.c', clientAddress: '127.0.0.1' };
      Promise.resolve(auth.authenticator.authenticate(request)).then((decision) =>
        console.log(JSON.stringify({ atLoad, decision: decision.kind, onFirstCheck: jose() })));`,
    );
    assert.deepEqual(loaded, { atLoad: false, decision: 'fail', onFirstCheck: true });
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

/** Every package folder under `nodeModules`, nested ones included (`@scope/name` counts once). */
function packageFolders(nodeModules: string): string[] {
  const found: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(nodeModules);
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@')
      ? readdirSync(join(nodeModules, entry)).map((name) => `${entry}/${name}`)
      : [entry];
    for (const name of names) {
      found.push(name);
      found.push(
        ...packageFolders(join(nodeModules, name, 'node_modules')).map((nested) => `${name}>${nested}`),
      );
    }
  }
  return found;
}

/** Max RSS (KB) of `node -e source` in `cwd`, the least of three runs (the noise is upward). */
async function maxRssKb(source: string, cwd: string): Promise<number> {
  const probe = `${source};process.on('exit',()=>console.log(process.resourceUsage().maxRSS))`;
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await run(process.execPath, ['-e', probe], { cwd });
    runs.push(Number(stdout.trim().split('\n').pop()));
  }
  return Math.min(...runs);
}

// Issue 21: the measures a new user meets. Each figure is printed for the report.
describe('the packed package, installed into an empty app', () => {
  let app: PackedApp;
  before(async () => {
    app = await packAndInstall();
  });

  it('npm pack is at most 400,000 bytes, with no sourcemaps', () => {
    console.log(`npm pack: ${app.packedBytes} bytes, ${app.files.length} files`);
    assert.ok(app.packedBytes <= 400_000, `${app.packedBytes} bytes packed`);
    assert.deepEqual(
      app.files.filter((file) => file.endsWith('.map')),
      [],
    );
  });

  it('the CLI imports the library chunks instead of carrying a copy of the library', () => {
    const dist = join(app.dir, 'node_modules/ntlm-sso/dist');
    const esm = readdirSync(dist).filter((file) => file.endsWith('.js'));
    const cli = readFileSync(join(dist, 'cli.js'), 'utf8');
    assert.match(cli, /from "\.\/chunk-[\w-]+\.js"/);
    // Classes the library defines live in one ESM file each, and never in cli.js.
    for (const definition of ['var NtlmError = class', 'var Authenticator = class', 'function md4(']) {
      const holders = esm.filter((file) => readFileSync(join(dist, file), 'utf8').includes(definition));
      assert.equal(holders.length, 1, `${definition}: ${holders.join(', ')}`);
      assert.notEqual(holders[0], 'cli.js', definition);
    }
  });

  it('its declarations name no third-party types but the framework an adapter is handed', () => {
    const dist = join(app.dir, 'node_modules/ntlm-sso/dist');
    const allowed: Record<string, RegExp> = { fastify: /^fastify\.d\.c?ts$/, koa: /^koa\.d\.c?ts$/ };
    for (const file of readdirSync(dist).filter((name) => /\.d\.c?ts$/.test(name))) {
      const text = readFileSync(join(dist, file), 'utf8');
      for (const [, specifier] of text.matchAll(/^(?:import|export) .*?['"]([^'"]+)['"];?$/gm)) {
        if (specifier!.startsWith('./') || specifier!.startsWith('node:')) continue;
        assert.match(file, allowed[specifier!] ?? /^$/, `${file} imports ${specifier}`);
      }
    }
  });

  it('a production install is at most 25 package folders, nested ones and ntlm-sso included', () => {
    const folders = packageFolders(join(app.dir, 'node_modules'));
    console.log(`production install: ${folders.length} package folders: ${folders.join(' ')}`);
    assert.ok(folders.includes('ntlm-sso'));
    assert.ok(folders.length <= 25, `${folders.length} package folders`);
    for (const gone of ['jsonwebtoken', 'hash-wasm', 'fastify-plugin', 'ioredis'])
      assert.ok(!folders.includes(gone), `${gone} is not installed`);
  });

  it("require('ntlm-sso') costs at most 10 MB of RSS over bare node", async () => {
    const bare = await maxRssKb('0', app.dir);
    const loaded = await maxRssKb("require('ntlm-sso')", app.dir);
    console.log(`max RSS: node -e 0 ${bare} KB, require('ntlm-sso') ${loaded} KB, +${loaded - bare} KB`);
    assert.ok(loaded - bare <= 10 * 1024, `+${loaded - bare} KB`);
  });

  describe('exact types: a strict consumer (skipLibCheck: false) compiles', () => {
    /** The consumer's own types, from our devDependencies: node, and the frameworks it uses. */
    before(() => {
      // Copied, not linked: a link resolves from our own tree, where express 5's
      // content-disposition (with types of its own) would shadow @types/content-disposition.
      cpSync(join(ROOT, 'node_modules/@types'), join(app.dir, 'node_modules/@types'), {
        recursive: true,
        dereference: true,
      });
      for (const name of ['fastify', 'undici-types'])
        symlinkSync(join(ROOT, 'node_modules', name), join(app.dir, 'node_modules', name));
      for (const extension of ['ts', 'mts', 'cts'])
        writeFileSync(join(app.dir, `consumer.${extension}`), CONSUMER);
    });

    const compile = async (compiler: string, setup: ConsumerSetup) => {
      writeFileSync(join(app.dir, `tsconfig.${setup.name}.json`), JSON.stringify(setup.tsconfig));
      try {
        await run(
          process.execPath,
          [join(ROOT, 'node_modules', compiler, 'bin/tsc'), '-p', `tsconfig.${setup.name}.json`],
          {
            cwd: app.dir,
          },
        );
      } catch (error) {
        assert.fail(`${compiler}, ${setup.name}:\n${(error as { stdout?: string }).stdout}`);
      }
    };
    for (const setup of consumerSetups) {
      it(`TypeScript 5.9, ${setup.name}`, () => compile('typescript', setup));
      if (setup.typescript7) it(`TypeScript 7, ${setup.name}`, () => compile('typescript7', setup));
    }
  });

  it('attw (are the types wrong) finds nothing wrong with the tarball', async () => {
    const attw = join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js');
    const { stdout } = await run(process.execPath, [attw, app.tarball, '--format', 'json'], {
      cwd: app.dir,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    const report = JSON.parse(stdout) as { analysis: { problems: unknown[] } };
    assert.deepEqual(report.analysis.problems, []);
  });

  it('publint finds nothing to say about the installed package', async () => {
    const publint = join(ROOT, 'node_modules/publint/src/cli.js');
    const { stdout, stderr } = await run(process.execPath, [publint, '--strict', '--pack', 'false'], {
      cwd: join(app.dir, 'node_modules/ntlm-sso'),
    });
    assert.match(stdout + stderr, /All good/);
  });

  it('works there from CommonJS and ESM, and the CLI runs from its bin', async () => {
    const cjs = await run(
      process.execPath,
      [
        '--input-type',
        'commonjs',
        '-e',
        SERVER("const { ntlm, localDirectory, ConfigurationError, wire } = require('ntlm-sso');"),
      ],
      { cwd: app.dir },
    );
    assert.deepEqual(JSON.parse(cjs.stdout), expected);
    const { stdout } = await run(join(app.dir, 'node_modules/.bin/ntlm-sso'), ['gateway', '--help'], {
      cwd: app.dir,
    });
    assert.match(stdout, /--upstream/);
  });
});
