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
});
