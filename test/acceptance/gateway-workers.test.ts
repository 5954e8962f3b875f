// `ntlm-sso gateway --workers 2`: node:cluster hands each client connection whole to one worker,
// so an NTLM handshake (three requests on one connection) completes there; logouts are shared
// through the primary's store; SIGTERM ends every worker. Which worker holds a connection is
// read with `ss -p` (test/helpers/socket-owner.ts), not from the gateway.
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { type EchoUpstream, startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type RunningProcess, runCli, startDemo, startGateway } from '../helpers/processes.js';
import { ALICE, BOB } from '../helpers/servers.js';
import { isAlive, serverSocketOwner } from '../helpers/socket-owner.js';

const CONNECTIONS = 8;

describe('ntlm-sso gateway --workers 2', () => {
  let upstream: EchoUpstream;
  let gateway: RunningProcess;
  let port: number;
  before(async () => {
    upstream = await startEchoUpstream();
    gateway = await startGateway([
      '--workers',
      '2',
      '--upstream',
      upstream.url,
      '--users',
      'demo-app/users.json',
      '--jwt-secret',
      'a-test-secret-of-at-least-32-bytes!!',
    ]);
    port = Number(new URL(gateway.url).port);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  /** A fresh connection's request, and the pid of the worker that answered it. */
  async function onNewConnection(path: string, headers: Record<string, string>, method = 'GET') {
    const client = new NtlmHttpClient(gateway.url);
    try {
      const reply = await client.request(path, headers, method);
      return { reply, pid: await serverSocketOwner(port, reply.localPort!) };
    } finally {
      client.close();
    }
  }

  test('connections spread over 2 workers; every request on a logged-in connection is its user', async () => {
    assert.match(gateway.output(), /; 2 workers/);
    const pids = new Set<number>();
    for (let i = 0; i < CONNECTIONS; i++) {
      const user = i % 2 === 0 ? ALICE : BOB;
      const client = new NtlmHttpClient(gateway.url);
      try {
        const login = await client.login('/', user);
        assert.equal(login.status, 200, `logon ${i}`);
        const owner = await serverSocketOwner(port, login.localPort!);
        assert.ok(owner && owner !== gateway.child.pid, 'a worker, not the primary, holds the connection');
        pids.add(owner);
        for (let request = 0; request < 3; request++) {
          const reply = await client.request(`/r${request}`);
          assert.equal(reply.status, 200);
          assert.equal(reply.localPort, login.localPort, 'the same connection');
          assert.equal(JSON.parse(reply.body).headers['x-ntlm-username'], user.user);
          assert.equal(await serverSocketOwner(port, reply.localPort!), owner, 'the same worker');
        }
      } finally {
        client.close();
      }
    }
    assert.ok(pids.size >= 2, `connections went to ${pids.size} worker(s)`);
  });

  test('a logout in one worker: the token is refused by every worker within 2 s', async () => {
    const client = new NtlmHttpClient(gateway.url);
    const login = await client.login('/', ALICE);
    client.close();
    const token = String(login.headers.authorization ?? '');
    assert.match(token, /^Bearer /);
    // Before: the token works on both workers.
    const accepted = new Set<number>();
    await eventually(async () => {
      const { reply, pid } = await onNewConnection('/', { Authorization: token });
      assert.equal(reply.status, 200);
      if (pid) accepted.add(pid);
      return accepted.size >= 2;
    }, 'the token was accepted by 2 workers');

    const logout = await onNewConnection('/.ntlm-sso/logout', { Authorization: token }, 'POST');
    assert.ok(
      logout.reply.status >= 200 && logout.reply.status < 300,
      `logout answered ${logout.reply.status}`,
    );
    const refused = new Set<number>();
    await eventually(
      async () => {
        const { reply, pid } = await onNewConnection('/', { Authorization: token });
        if (reply.status === 401 && pid) refused.add(pid);
        return refused.size >= 2;
      },
      'the token refused by 2 workers',
      2000,
    );
  });

  test('a mistake in the settings: exit 2, said once (the first worker stops the start)', async () => {
    const { code, stderr } = await runCli(['gateway', '--workers', '2', '--upstream', upstream.url]);
    assert.equal(code, 2);
    assert.equal(stderr.match(/header mode needs --users/g)?.length, 1, stderr);
  });

  test('a worker that dies is replaced: connections spread over 2 live workers again', async () => {
    const { pid: victim } = await onNewConnection('/.ntlm-sso/health', {});
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    const workers = new Set<number>();
    await eventually(
      async () => {
        const { reply, pid } = await onNewConnection('/.ntlm-sso/health', {});
        if (reply.status === 200 && pid && pid !== victim) workers.add(pid);
        return workers.size >= 2;
      },
      'two live workers, one of them new',
      10_000,
    );
    await gateway.waitForOutput(/worker died; starting another/);
  });

  test('SIGTERM ends the primary and every worker, exit 0', async () => {
    const workers = new Set<number>();
    await eventually(async () => {
      const { pid } = await onNewConnection('/.ntlm-sso/health', {});
      if (pid) workers.add(pid);
      return workers.size >= 2;
    }, 'both workers seen');
    assert.equal(await gateway.stop(), 0);
    await eventually(() => [...workers].every((pid) => !isAlive(pid)), 'every worker has exited');
    assert.match(gateway.output(), /SIGTERM, every worker finishes/);
  });
});

describe('the demo with NTLM_WORKERS=2', () => {
  let demo: RunningProcess;
  before(async () => {
    demo = await startDemo({ NTLM_WORKERS: '2', NTLM_DEBUG: '0' });
  });
  after(() => demo?.stop());

  it('logons on both workers; a logout in one is refused by both; SIGTERM ends them', async () => {
    assert.match(demo.output(), /\(2 workers/);
    const port = Number(new URL(demo.url).port);
    const client = new NtlmHttpClient(demo.url);
    const login = await client.login('/api/whoami', ALICE);
    client.close();
    assert.equal(login.status, 200);
    const token = String(login.headers.authorization ?? '');
    assert.match(token, /^Bearer /);
    const request = async (method: string, path: string) => {
      const fresh = new NtlmHttpClient(demo.url);
      try {
        const reply = await fresh.request(path, { Authorization: token }, method);
        return { status: reply.status, pid: await serverSocketOwner(port, reply.localPort!) };
      } finally {
        fresh.close();
      }
    };
    const accepted = new Set<number>();
    await eventually(async () => {
      const { status, pid } = await request('GET', '/api/whoami');
      if (status === 200 && pid) accepted.add(pid);
      return accepted.size >= 2;
    }, 'the token accepted by 2 workers');
    assert.equal((await request('POST', '/api/logout')).status, 200);
    const refused = new Set<number>();
    await eventually(
      async () => {
        const { status, pid } = await request('GET', '/api/whoami');
        if (status === 401 && pid) refused.add(pid);
        return refused.size >= 2;
      },
      'the token refused by 2 workers',
      2000,
    );
    assert.equal(await demo.stop(), 0);
    await eventually(() => [...accepted].every((pid) => !isAlive(pid)), 'every demo worker has exited');
  });
});
