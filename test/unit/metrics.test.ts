// Metrics and log lines of the library (issue 13), with curl as the client: counters move by the
// number of logons made, histograms fill, gauges follow connections; info lines by default.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type NtlmMiddleware, ntlm } from '../../src/index.js';
import { curlBearerToken, curlNtlm, curlStatusWith } from '../helpers/curl.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { sample } from '../helpers/metrics-text.js';
import { ROOT } from '../helpers/processes.js';
import { ALICE, listen, recordingLogger, testDirectory } from '../helpers/servers.js';

const ALICE_CREDENTIALS = 'EXAMPLE\\alice:Alice-Passw0rd!';
const SECRET = 'a-test-secret-of-at-least-32-bytes!!';

describe('ntlm({ metrics: true })', () => {
  const logger = recordingLogger();
  let auth: NtlmMiddleware;
  let served: Awaited<ReturnType<typeof listen>>;
  const scrape = () => auth.metrics!.text();

  before(async () => {
    auth = ntlm({ verifier: testDirectory(), metrics: true, logger, bearer: { secret: SECRET } });
    served = await listen((req, res) => {
      if (req.url === '/metrics') return auth.metrics!.handler(req, res);
      auth(req, res, () => res.end('ok'));
    });
  });
  after(() => served.close());

  it('counts logons by mechanism and result, by the number made', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++)
      assert.equal((await curlNtlm(`${served.url}/`, ALICE_CREDENTIALS)).status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await curlNtlm(`${served.url}/`, 'EXAMPLE\\alice:wrong')).status, 401);
    const text = await scrape();
    const delta = (result: string) =>
      sample(text, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result }) -
      sample(before, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result });
    assert.equal(delta('success'), 3);
    assert.equal(delta('ERR_NTLM_LOGON_FAILED'), 2);
    // Every timed handshake lands in a bucket: +Inf has them all, and a finite bucket some.
    const count = (result: string) =>
      sample(text, 'ntlm_sso_handshake_duration_seconds_count', { mechanism: 'NTLM', result });
    assert.equal(count('success'), 3);
    assert.equal(count('failure'), 2);
    assert.equal(
      sample(text, 'ntlm_sso_handshake_duration_seconds_bucket', {
        mechanism: 'NTLM',
        result: 'success',
        le: '+Inf',
      }),
      3,
    );
    assert.equal(
      sample(text, 'ntlm_sso_handshake_duration_seconds_bucket', {
        mechanism: 'NTLM',
        result: 'success',
        le: '10',
      }),
      3,
      'a local logon takes less than 10 s',
    );
    assert.ok(
      sample(text, 'ntlm_sso_handshake_duration_seconds_sum', { mechanism: 'NTLM', result: 'success' }) > 0,
    );
  });

  it('serves the text format through auth.metrics.handler', async () => {
    const response = await fetch(`${served.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.match(await response.text(), /# TYPE ntlm_sso_logons_total counter/);
  });

  it('counts Bearer tokens accepted and refused', async () => {
    const token = await curlBearerToken(`${served.url}/`, ALICE_CREDENTIALS);
    assert.ok(token);
    const before = await scrape();
    assert.equal(await curlStatusWith(`${served.url}/`, token), 200);
    assert.equal(await curlStatusWith(`${served.url}/`, token), 200);
    assert.equal(await curlStatusWith(`${served.url}/`, 'Bearer not.a.token'), 401);
    const text = await scrape();
    const delta = (result: string) =>
      sample(text, 'ntlm_sso_bearer_tokens_total', { result }) -
      sample(before, 'ntlm_sso_bearer_tokens_total', { result });
    assert.equal(delta('hit'), 2);
    assert.equal(delta('miss'), 1);
    assert.equal(
      sample(text, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result: 'ERR_NTLM_INVALID_BEARER' }),
      0,
      'a refused token is not a logon attempt',
    );
  });

  it('gauges pending handshakes and authenticated connections', async () => {
    const pending = new NtlmHttpClient(served.url);
    const loggedOn = new NtlmHttpClient(served.url);
    try {
      // A NEGOTIATE only: the handshake waits for its AUTHENTICATE.
      const negotiate = 'TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==';
      assert.equal((await pending.request('/', { Authorization: `NTLM ${negotiate}` })).status, 401);
      assert.equal((await loggedOn.login('/', ALICE)).status, 200);
      const text = await scrape();
      assert.equal(sample(text, 'ntlm_sso_pending_handshakes'), 1);
      assert.equal(sample(text, 'ntlm_sso_authenticated_connections'), 1);
    } finally {
      pending.close();
      loggedOn.close();
    }
  });

  it('logs each logon at info with mechanism and duration, and no debug lines at debug 0', () => {
    const accepted = logger.records.filter((record) => record.message === 'logon accepted');
    assert.ok(accepted.length >= 3);
    assert.equal(accepted[0]!.level, 'info');
    assert.equal(accepted[0]!.fields?.user, 'alice');
    assert.equal(accepted[0]!.fields?.domain, 'EXAMPLE');
    assert.equal(accepted[0]!.fields?.mechanism, 'NTLM');
    assert.equal(accepted[0]!.fields?.remote, '127.0.0.1');
    assert.equal(typeof accepted[0]!.fields?.durationMs, 'number');
    const refused = logger.records.find((record) => record.message === 'logon refused');
    assert.equal(refused?.level, 'warn');
    assert.equal(refused?.fields?.code, 'ERR_NTLM_LOGON_FAILED');
    assert.equal(logger.records.filter((record) => record.level === 'debug').length, 0);
  });
});

describe('log levels', () => {
  it('debug: 1 adds the handshake steps at debug', async () => {
    const logger = recordingLogger();
    const auth = ntlm({ verifier: testDirectory(), logger, debug: 1 });
    const served = await listen(
      (req, res) => auth(req, res, () => res.end('ok')),
      () => auth.close(),
    );
    try {
      assert.equal((await curlNtlm(`${served.url}/`, ALICE_CREDENTIALS)).status, 200);
    } finally {
      await served.close();
    }
    assert.ok(
      logger.records.some((record) => record.level === 'debug' && record.message === 'challenge sent'),
    );
    assert.ok(
      logger.records.some((record) => record.level === 'info' && record.message === 'logon accepted'),
    );
  });

  it('the metrics option is checked at start-up', () => {
    assert.throws(() => ntlm({ verifier: testDirectory(), metrics: 'yes' as never }), /metrics must be true/);
    assert.throws(
      () => ntlm({ verifier: testDirectory(), metrics: { prefix: 'bad prefix' } }),
      /metrics\.prefix must be a Prometheus name prefix/,
    );
  });

  it('two instances in one registry need their own prefix', async () => {
    const first = ntlm({ verifier: testDirectory(), metrics: true });
    const { registry } = first.metrics!;
    assert.throws(
      () => ntlm({ verifier: testDirectory(), metrics: { registry } }),
      /different metrics\.prefix/,
    );
    const second = ntlm({ verifier: testDirectory(), metrics: { registry, prefix: 'second_' } });
    assert.match(await second.metrics!.text(), /second_logons_total/);
    await first.close();
    await second.close();
  });
});

describe('prom-client stays unloaded', () => {
  it('importing ntlm-sso and calling ntlm() without metrics loads neither prom-client nor pino', () => {
    const script = `
      const { ntlm, localDirectory } = await import('./src/index.ts');
      ntlm({ verifier: localDirectory({ domain: 'EXAMPLE', users: [] }) });
      const { createRequire } = await import('node:module');
      const cache = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify(cache.filter((path) => /node_modules\\/(prom-client|pino)\\//.test(path))));
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').pop()!), []);
  });
});
