// The demo app, started as `npm run demo` starts it, with real NTLM clients: curl --ntlm,
// python requests-ntlm (Debian's python3-requests-ntlm) and headless Chromium. These tools are
// installed by .ci/run; a missing one fails the test, it is not skipped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withChromiumPage } from '../helpers/chromium.js';
import { curl, curlBearerToken, curlStatusWith } from '../helpers/curl.js';
import { type DemoProcess, startDemo } from '../helpers/processes.js';
import { pythonNtlmGet as python } from '../helpers/python.js';

describe('demo app with real NTLM clients', () => {
  let demo: DemoProcess;
  before(async () => {
    demo = await startDemo();
  });
  after(() => demo.stop());

  it('curl --ntlm: alice gets 200 with her identity over one keep-alive connection', async () => {
    const { stdout, stderr } = await curl([
      '--ntlm',
      '-u',
      'EXAMPLE\\alice:Alice-Passw0rd!',
      `${demo.url}/api/whoami`,
    ]);
    const who = JSON.parse(stdout);
    assert.equal(who.username, 'alice');
    assert.equal(who.domain, 'EXAMPLE');
    assert.equal(typeof who.workstation, 'string');
    assert.deepEqual(who.groups, ['Engineering']);
    assert.equal(stderr.match(/Connected to/g)?.length, 1, 'exactly one TCP connection');
    assert.match(stderr, /Re-using existing connection/);
    assert.match(stderr, /< HTTP\/1\.1 401[\s\S]*< HTTP\/1\.1 200/);
  });

  it('curl --ntlm: a wrong password gets 401 with a new challenge', async () => {
    const { stdout, stderr } = await curl([
      '--ntlm',
      '-u',
      'EXAMPLE\\alice:not-her-password',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${demo.url}/api/whoami`,
    ]);
    assert.equal(stdout, '401');
    const challenges = stderr.match(/< WWW-Authenticate: .*/gi) ?? [];
    assert.equal(
      challenges.at(-1)?.trim(),
      '< WWW-Authenticate: NTLM',
      'the refusal carries a fresh challenge',
    );
  });

  it('curl --ntlm: an X-Ntlm-Username header from the client changes nothing', async () => {
    const { stdout } = await curl([
      '--ntlm',
      '-u',
      'EXAMPLE\\bob:Bob-Passw0rd!',
      '-H',
      'X-Ntlm-Username: admin',
      '-H',
      'X-Ntlm-Domain: CORP',
      `${demo.url}/api/whoami`,
    ]);
    const who = JSON.parse(stdout);
    assert.equal(who.username, 'bob');
    assert.deepEqual(who.headers, { 'x-ntlm-username': 'bob', 'x-ntlm-domain': 'EXAMPLE' });
  });

  it('curl: the Bearer token from a handshake works alone on a new connection, until logout', async () => {
    const token = await curlBearerToken(`${demo.url}/api/whoami`, 'EXAMPLE\\alice:Alice-Passw0rd!');
    assert.ok(token, 'the 200 carries Authorization: Bearer');
    const withToken = await curl(['-H', `Authorization: ${token}`, `${demo.url}/api/whoami`]);
    const who = JSON.parse(withToken.stdout);
    assert.deepEqual([who.username, who.scheme], ['alice', 'Bearer']);
    await curl(['-X', 'POST', '-H', `Authorization: ${token}`, `${demo.url}/api/logout`]);
    assert.equal(await curlStatusWith(`${demo.url}/api/whoami`, `${token}`), 401);
    assert.equal(await curlStatusWith(`${demo.url}/api/whoami`, `${token.slice(0, -2)}xx`), 401);
  });

  it('python requests-ntlm: logs in as bob, and a wrong password gets 401', async () => {
    const ok = await python(`${demo.url}/api/whoami`, 'EXAMPLE\\bob', 'Bob-Passw0rd!');
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).username, 'bob');
    const refused = await python(`${demo.url}/api/whoami`, 'EXAMPLE\\bob', 'Alice-Passw0rd!');
    assert.equal(refused.status, 401);
    assert.equal(refused.challenge, 'NTLM');
  });

  it('headless Chromium: the page greets alice and /api/whoami shows her', async () => {
    await withChromiumPage({ username: 'EXAMPLE\\alice', password: 'Alice-Passw0rd!' }, async (page) => {
      const reply = await page.goto(`${demo.url}/`);
      assert.equal(reply?.status(), 200);
      assert.equal(await page.textContent('#greeting'), 'Hello, Alice Example!');
      assert.match((await page.textContent('#account')) ?? '', /EXAMPLE\\alice/);
      const api = await page.goto(`${demo.url}/api/whoami`);
      assert.equal(api?.status(), 200);
      assert.equal((await api!.json()).username, 'alice');
    });
  });

  it('headless Chromium: wrong credentials end in 401', async () => {
    await withChromiumPage({ username: 'EXAMPLE\\alice', password: 'nope' }, async (page) => {
      const reply = await page.goto(`${demo.url}/api/whoami`);
      assert.equal(reply?.status(), 401);
    });
  });

  it('logged each accepted logon', async () => {
    await demo.waitForOutput(/logon accepted .*"user":"alice"/);
    await demo.waitForOutput(/logon refused .*ERR_NTLM_LOGON_FAILED/);
  });
});
