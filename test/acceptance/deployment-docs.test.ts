// The snippets of docs/deployment.md, read out of the page and run, so that the page and these
// checks cannot drift apart: the policy JSON parses; every nginx config passes `nginx -t`
// (Debian's nginx-light); the pooled nginx config really serves one user's request as another's;
// the gateway → nginx chain carries the user to the app; the systemd unit passes
// `systemd-analyze verify` and its ExecStart, with the environment file and credentials, starts
// the gateway; SIGTERM to `npx` leaves the gateway running; the Dockerfile's HEALTHCHECK works.
// Needs the built package (dist/, as npm test builds it). Runs through test/run.sh.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { environmentName, flagsOf } from '../../src/cli/flags.js';
import { parseListen } from '../../src/cli/gateway-plan.js';
import { ntlm } from '../../src/index.js';
import { curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { nginxConfig } from '../helpers/nginx.js';
import { freePort, ROOT, startGateway } from '../helpers/processes.js';
import { ALICE, listen, testDirectory } from '../helpers/servers.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const run = promisify(execFile);
const DOC = readFileSync(join(ROOT, 'docs/deployment.md'), 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
};

/** The fenced block that follows `<!-- checked: name -->` in the page. */
function snippet(name: string): string {
  const match = new RegExp(`<!-- checked: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(DOC);
  assert.ok(match, `docs/deployment.md has no checked snippet "${name}"`);
  return match[1]!;
}

/** Retries `check` (which throws while it does not hold) every 50 ms for up to `timeoutMs`. */
async function waitFor(check: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function which(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** A tool a check needs: missing outside CI, the check says so and is skipped; under CI it fails. */
async function needs(command: string): Promise<string | false> {
  if (await which(command)) return false;
  if (process.env.CI) throw new Error(`CI needs ${command}`);
  return `${command} is not installed`;
}

const nginxMissing = await needs('nginx');
const systemdMissing = await needs('systemd-analyze');

const work = mkdtempSync(join(tmpdir(), 'deployment-docs-'));
// nginx's workers run as nobody: they must reach the static files.
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

async function nginxTest(dir: string, body: string): Promise<void> {
  const conf = nginxConfig(dir, body);
  const { stderr } = await run('nginx', ['-t', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
  assert.match(stderr, /test is successful/, stderr);
}

/** Starts nginx on `body` and waits until `port` answers; returns a stop function. */
async function startNginx(dir: string, body: string, port: number): Promise<() => Promise<void>> {
  const conf = nginxConfig(dir, body);
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(async () => {
    assert.equal(child.exitCode, null, readFileSync(join(dir, 'error.log'), 'utf8'));
    await fetch(`http://127.0.0.1:${port}/`);
  });
  return async () => {
    child.kill('SIGTERM');
    await exited;
  };
}

describe('docs/deployment.md: browser policies', () => {
  it('the Chromium managed policy is JSON with AuthServerAllowlist, and no delegation', () => {
    const policy = JSON.parse(snippet('chromium-policy')) as Record<string, unknown>;
    assert.equal(policy.AuthServerAllowlist, 'sso.example.com');
    assert.equal(policy.AuthNegotiateDelegateAllowlist, undefined);
  });

  it('the Firefox policies.json trusts the same host for SPNEGO and NTLM, with no delegation', () => {
    const { policies } = JSON.parse(snippet('firefox-policies')) as {
      policies: { Authentication: { SPNEGO: string[]; NTLM: string[]; Delegated?: string[] } };
    };
    assert.deepEqual(policies.Authentication.SPNEGO, ['sso.example.com']);
    assert.deepEqual(policies.Authentication.NTLM, ['sso.example.com']);
    assert.equal(policies.Authentication.Delegated, undefined);
  });
});

describe('docs/deployment.md: nginx', { skip: nginxMissing }, () => {
  let tls: { cert: string; key: string };
  before(async () => {
    tls = await selfSignedCertificate(join(work, 'tls'), { commonName: 'sso.example.com', altNames: '' });
  });

  it('every nginx snippet passes nginx -t (nginx-ntlm-module: without its ntlm* lines)', async () => {
    await nginxTest(join(work, 'nginx-t-pooled'), snippet('nginx-pooled'));
    await nginxTest(join(work, 'nginx-t-behind'), snippet('nginx-behind-gateway'));
    // Debian's nginx has no nginx-ntlm-module: the rest of that file is checked.
    const withModule = snippet('nginx-ntlm-module');
    assert.match(withModule, /^\s*ntlm \d+;/m);
    const rest = withModule
      .split('\n')
      .filter((line) => !/^\s*ntlm(_\w+)?\b/.test(line))
      .join('\n')
      .replace('/etc/ssl/certs/sso.example.com.pem', tls.cert)
      .replace('/etc/ssl/private/sso.example.com.key', tls.key);
    await nginxTest(join(work, 'nginx-t-module'), rest);
  });

  it('the pooled config serves a request without credentials from another client as alice', async () => {
    // An app behind ntlm(): it answers with the name on the connection the request came on.
    const auth = ntlm({ verifier: testDirectory() });
    const app = await listen(
      (req, res) => auth(req, res, () => res.end(req.ntlm!.username)),
      () => auth.close(),
    );
    const port = await freePort();
    const config = snippet('nginx-pooled')
      .replace('server 127.0.0.1:3000;', `server ${new URL(app.url).host};`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    const stop = await startNginx(join(work, 'nginx-pooled'), config, port);
    const alice = new NtlmHttpClient(`http://127.0.0.1:${port}`);
    try {
      const logon = await alice.login('/', ALICE);
      assert.equal(logon.status, 200);
      assert.equal(logon.body, 'alice');
      // Another client, its own connection to nginx, no credentials at all.
      const stranger = await fetch(`http://127.0.0.1:${port}/`, { headers: { Connection: 'close' } });
      assert.equal(stranger.status, 200);
      assert.equal(await stranger.text(), 'alice');
      // Straight to the app, the same request is refused: the pool did it.
      assert.equal((await fetch(`${app.url}/`)).status, 401);
    } finally {
      alice.close();
      await stop();
      await app.close();
    }
  });

  it('gateway → nginx (the snippet) → app: curl --ntlm gets the static file, and /api/ sees X-Ntlm-Username', async () => {
    const echo = await startEchoUpstream();
    const root = join(work, 'www');
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o755);
    writeFileSync(join(root, 'index.html'), 'static page\n', { mode: 0o644 });
    const port = await freePort();
    const config = snippet('nginx-behind-gateway')
      .replace('server 127.0.0.1:3000;', `server ${new URL(echo.url).host};`)
      .replace('listen 127.0.0.1:8081;', `listen 127.0.0.1:${port};`)
      .replace('root /srv/www;', `root ${root};`);
    const stop = await startNginx(join(work, 'nginx-behind'), config, port);
    const gateway = await startGateway([
      '--upstream',
      `http://127.0.0.1:${port}`,
      '--users',
      join(ROOT, 'demo-app/users.json'),
    ]);
    try {
      const page = await curlNtlm(`${gateway.url}/index.html`, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(page.status, 200);
      assert.equal(page.body, 'static page\n');
      const api = await curlNtlm(`${gateway.url}/api/whoami`, 'EXAMPLE\\alice:Alice-Passw0rd!');
      assert.equal(api.status, 200);
      const seen = JSON.parse(api.body) as { url: string; headers: Record<string, string> };
      assert.equal(seen.url, '/api/whoami');
      assert.equal(seen.headers['x-ntlm-username'], 'alice');
      assert.equal(seen.headers['x-ntlm-domain'], 'EXAMPLE');
      // Without a logon the gateway answers; nothing reaches nginx.
      assert.equal((await fetch(`${gateway.url}/index.html`)).status, 401);
    } finally {
      await gateway.stop();
      await stop();
      await echo.close();
    }
  });
});

/** KEY=VALUE lines of an environment file, as systemd reads them (this page uses no quotes). */
function environmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    assert.ok(match, `not an assignment: ${line}`);
    assert.doesNotMatch(match[2]!, /["'\\]/, `${line}: systemd would unquote this; keep values plain`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

/** `key=value` lines of one unit section. */
function unitLines(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

/** Runs `command` until `ready` appears in its output; resolves with the child and its output. */
async function startUntil(
  command: string,
  args: string[],
  options: Parameters<typeof spawn>[2],
  ready: string,
) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await waitFor(async () => {
    assert.equal(child.exitCode, null, output);
    assert.ok(output.includes(ready), output);
  });
  return { child, exited, output: () => output };
}

describe('docs/deployment.md: systemd', () => {
  const unit = snippet('systemd-unit');
  const env = environmentFile(snippet('gateway-env'));
  const CLI = '/opt/ntlm-sso/node_modules/ntlm-sso/dist/cli.js';

  it('the environment file names only gateway settings, and the unit runs the package bin with node', () => {
    const known = new Set(flagsOf('gateway').map((spec) => environmentName(spec.name)));
    for (const name of Object.keys(env)) assert.ok(known.has(name), `${name} is no gateway setting`);
    assert.equal(PACKAGE.bin['ntlm-sso'], './dist/cli.js');
    assert.ok(PACKAGE.files.includes('dist'));
    const [execStart] = unitLines(unit, 'ExecStart');
    assert.ok(execStart?.startsWith(`/usr/bin/node ${CLI} gateway `), execStart);
    assert.doesNotMatch(execStart!, /npx|npm/);
  });

  it('systemd-analyze verify accepts the unit without a warning', { skip: systemdMissing }, async () => {
    const dir = join(work, 'systemd');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'ntlm-sso-gateway.service');
    // verify checks that ExecStart's program exists: where node is not /usr/bin/node, name ours.
    writeFileSync(
      file,
      existsSync('/usr/bin/node')
        ? unit
        : unit.replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`),
    );
    const { stdout, stderr } = await run('systemd-analyze', ['verify', file], { cwd: dir });
    assert.equal(`${stdout}${stderr}`.trim(), '');
    // The check can fail: a misspelt directive is reported.
    writeFileSync(file, unit.replace('ProtectClock=', 'ProtectClok='));
    const typo = await run('systemd-analyze', ['verify', file], { cwd: dir });
    assert.match(typo.stderr, /Unknown key 'ProtectClok'/);
  });

  it("the unit's ExecStart with the environment file and LoadCredential files starts the gateway; SIGTERM exits 0", async () => {
    const credentials = join(work, 'credentials');
    mkdirSync(credentials, { recursive: true, mode: 0o700 });
    const loaded = unitLines(unit, 'LoadCredential').map((entry) => entry.split(':')[0]!);
    writeFileSync(join(credentials, 'machine-password'), 'a long random machine password\n', { mode: 0o600 });
    writeFileSync(join(credentials, 'jwt-secret'), `${'x'.repeat(48)}\n`, { mode: 0o600 });
    const [execStart] = unitLines(unit, 'ExecStart');
    const used = [...execStart!.matchAll(/%d\/([\w.-]+)/g)].map((m) => m[1]!);
    assert.deepEqual(used.sort(), loaded.sort(), 'every %d/ file is a LoadCredential and the reverse');
    assert.doesNotMatch(execStart!, /["'$]/, 'no quoting or $ expansion to imitate');
    const [, cli, ...args] = execStart!.replaceAll('%d', credentials).split(/\s+/);
    assert.equal(cli, CLI);
    const port = await freePort();
    const gateway = await startUntil(
      process.execPath,
      [join(ROOT, 'dist/cli.js'), ...args],
      // The page's settings, on a free port; nothing else from this process's environment.
      { env: { PATH: process.env.PATH, ...env, NTLM_SSO_LISTEN: `127.0.0.1:${port}` } },
      'ntlm-sso gateway (header mode) listening',
    );
    try {
      assert.match(
        gateway.output(),
        /EXAMPLE via Netlogon \(dc1\.example\.com, dc2\.example\.com\) as WEB01\$/,
      );
      const health = await fetch(`http://127.0.0.1:${port}/.ntlm-sso/health`);
      assert.equal(health.status, 200);
    } finally {
      gateway.child.kill('SIGTERM');
    }
    assert.equal(await gateway.exited, 0);
    assert.match(gateway.output(), /SIGTERM, finishing in-flight requests/);
  });

  it('SIGTERM to npx ends npx but leaves the gateway running (why the unit runs node directly)', async () => {
    // A project with ntlm-sso installed, as `npm install ntlm-sso` would leave it.
    const project = join(work, 'npx-project');
    mkdirSync(join(project, 'node_modules/.bin'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{"name":"npx-project","version":"1.0.0","private":true}\n');
    symlinkSync(ROOT, join(project, 'node_modules/ntlm-sso'));
    symlinkSync('../ntlm-sso/dist/cli.js', join(project, 'node_modules/.bin/ntlm-sso'));
    const port = await freePort();
    const health = `http://127.0.0.1:${port}/.ntlm-sso/health`;
    const npx = await startUntil(
      'npx',
      [
        'ntlm-sso',
        'gateway',
        '--listen',
        `127.0.0.1:${port}`,
        '--upstream',
        'http://127.0.0.1:9',
        '--users',
        join(ROOT, 'demo-app/users.json'),
      ],
      {
        cwd: project,
        detached: true, // a process group of its own, so that what npx leaves behind can be ended
        env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
      },
      'ntlm-sso gateway (header mode) listening',
    );
    const group = npx.child.pid!;
    try {
      assert.equal((await fetch(health)).status, 200);
      npx.child.kill('SIGTERM');
      await npx.exited;
      // npx is gone; the gateway it started still answers, and never heard of the SIGTERM.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal((await fetch(health)).status, 200);
      assert.doesNotMatch(npx.output(), /SIGTERM/);
    } finally {
      try {
        process.kill(-group, 'SIGTERM');
      } catch {}
    }
    await waitFor(async () => {
      await assert.rejects(fetch(health));
    });
  });
});

describe('docs/deployment.md: container image', () => {
  const dockerfile = snippet('dockerfile');
  const line = (instruction: string) =>
    dockerfile
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .find((l) => l.startsWith(`${instruction} `))
      ?.slice(instruction.length + 1);

  it('runs the package bin as a non-root user, listening where it exposes and checks', () => {
    // A maintained LTS line, one the suite runs on (Node 20 is end-of-life since 2026-04-30).
    assert.ok(['node:22-slim', 'node:24-slim'].includes(line('FROM') ?? ''), line('FROM'));
    assert.match(line('RUN') ?? '', /^npm ci --omit=dev /);
    assert.ok(line('USER') && !['root', '0'].includes(line('USER')!));
    assert.equal(line('STOPSIGNAL'), 'SIGTERM');
    const entrypoint = JSON.parse(line('ENTRYPOINT')!) as string[];
    assert.deepEqual(entrypoint, [
      'node',
      `${line('WORKDIR')}/node_modules/ntlm-sso/${PACKAGE.bin['ntlm-sso']!.replace('./', '')}`,
      'gateway',
    ]);
    const listen = parseListen(/^ENV NTLM_SSO_LISTEN=(\S+)$/m.exec(dockerfile)![1]!);
    assert.equal(String(listen.port), line('EXPOSE'));
    assert.match(line('HEALTHCHECK') ?? '', new RegExp(`127\\.0\\.0\\.1:${listen.port}/\\.ntlm-sso/health`));
  });

  it('its HEALTHCHECK command exits 0 while the gateway runs and 1 once it is stopped', async () => {
    const check = JSON.parse(/CMD (\[.*\])$/.exec(line('HEALTHCHECK')!)![1]!) as string[];
    assert.equal(check[0], 'node');
    const gateway = await startGateway([
      '--upstream',
      'http://127.0.0.1:9',
      '--users',
      'demo-app/users.json',
    ]);
    const args = check.slice(1).map((arg) => arg.replace('http://127.0.0.1:8080', gateway.url));
    try {
      const { stdout, stderr } = await run(process.execPath, args, { timeout: 10_000 });
      assert.equal(`${stdout}${stderr}`, '');
    } finally {
      assert.equal(await gateway.stop(), 0);
    }
    await assert.rejects(
      run(process.execPath, args, { timeout: 10_000 }),
      (error: { code?: number }) => error.code === 1,
    );
  });
});
