// Metrics, logs and readiness against the real Samba DC (issue 13): DC transitions logged once
// across many requests, DC latency and directory-cache counters, the gateway's /ready following
// the DC (stopped → 503 within seconds, started → 200) and /metrics, and its JSON access log
// agreeing with the X-Request-Id the upstream saw.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { domainController, ntlm } from '../../src/index.js';
import { curl, curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { linesWith } from '../helpers/log-lines.js';
import { sample } from '../helpers/metrics-text.js';
import { freePort, startGateway } from '../helpers/processes.js';
import { netlogonGatewayFlags, sambaSkip, startDc, stopDc } from '../helpers/samba.js';
import { listen, recordingLogger } from '../helpers/servers.js';

const skip = await sambaSkip();

const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';
const DEAD_DC = 'ldap://127.0.0.1:1';
const DC = 'ldap://127.0.0.1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('metrics, logs and readiness (Samba AD DC)', { skip }, () => {
  // Relaxed: the LDAP relay works for curl (Netlogon works either way).
  before(() => startDc({ strict: false }));
  after(() => stopDc());

  it('a DC that fails while the next one answers: logged once across 15 logons; latency and cache counted', async () => {
    const logger = recordingLogger();
    const auth = ntlm({
      verifier: domainController({ domains: { EXAMPLE: [DEAD_DC, DC] } }),
      logger,
      metrics: true,
    });
    const served = await listen(
      (req, res) => auth(req, res, () => res.end('ok')),
      () => auth.close(),
    );
    try {
      // Three rounds a little over the 1 s back-off apart: the dead DC gets a trial in each.
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 5; i++) {
          const reply = await curlNtlm(`${served.url}/`, ALICE);
          assert.equal(reply.status, 200, reply.body);
        }
        await sleep(1100);
      }
      const down = logger.records.filter((record) => record.message.startsWith('domain controller down'));
      assert.equal(down.length, 1, JSON.stringify(down));
      assert.equal(down[0]!.level, 'warn');
      assert.equal(down[0]!.fields?.dc, DEAD_DC);
      assert.match(String(down[0]!.fields?.reason), /ECONNREFUSED|refused/i);
      assert.equal(logger.records.filter((record) => record.message === 'logon accepted').length, 15);

      const text = await auth.metrics!.text();
      assert.equal(sample(text, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result: 'success' }), 15);
      assert.equal(sample(text, 'ntlm_sso_dc_up', { dc: DEAD_DC }), 0);
      assert.equal(sample(text, 'ntlm_sso_dc_up', { dc: DC }), 1);
      for (const operation of ['negotiate', 'authenticate']) {
        assert.equal(
          sample(text, 'ntlm_sso_dc_request_duration_seconds_count', { dc: DC, operation }),
          15,
          operation,
        );
        assert.equal(
          sample(text, 'ntlm_sso_dc_request_duration_seconds_bucket', { dc: DC, operation, le: '5' }),
          15,
        );
      }
      assert.equal(
        sample(text, 'ntlm_sso_dc_request_duration_seconds_count', { dc: DEAD_DC, operation: 'negotiate' }),
        0,
        'a refused connection is no answer',
      );
      const hits = sample(text, 'ntlm_sso_directory_cache_lookups_total', { result: 'hit' });
      const misses = sample(text, 'ntlm_sso_directory_cache_lookups_total', { result: 'miss' });
      assert.ok(misses >= 1 && hits >= 13, `hits ${hits}, misses ${misses}`);

      const report = await auth.ready();
      assert.equal(report.ready, true, 'one DC of the domain answers');
      assert.deepEqual(
        report.checks.map(({ name, ok }) => ({ name, ok })),
        [
          { name: DEAD_DC, ok: false },
          { name: DC, ok: true },
        ],
      );
    } finally {
      await served.close();
    }
  });

  it('the gateway: /metrics after logons, one JSON access line per request with the id the upstream saw, /ready follows the DC', async () => {
    const upstream = await startEchoUpstream();
    const relay = await startGateway(['--upstream', upstream.url, '--dc', DC, '--domain', 'EXAMPLE']);
    const viaNetlogon = await startGateway([
      '--upstream',
      upstream.url,
      ...netlogonGatewayFlags(),
      '--trusted-proxy',
      '127.0.0.1',
    ]);
    const status = async (url: string) => (await fetch(url)).status;
    try {
      for (let i = 0; i < 3; i++) assert.equal((await curlNtlm(`${relay.url}/app`, ALICE)).status, 200);
      assert.equal((await curlNtlm(`${relay.url}/app`, 'EXAMPLE\\alice:wrong')).status, 401);
      assert.equal((await curlNtlm(`${viaNetlogon.url}/app`, ALICE)).status, 200);

      // Metrics: the counters moved by the logons made; DC latency and the gateway's own counter.
      const relayMetrics = await (await fetch(`${relay.url}/.ntlm-sso/metrics`)).text();
      assert.equal(
        sample(relayMetrics, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result: 'success' }),
        3,
      );
      assert.equal(
        sample(relayMetrics, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result: 'ERR_NTLM_LOGON_FAILED' }),
        1,
      );
      assert.equal(
        sample(relayMetrics, 'ntlm_sso_dc_request_duration_seconds_count', {
          dc: DC,
          operation: 'authenticate',
        }),
        4,
      );
      assert.equal(sample(relayMetrics, 'ntlm_sso_gateway_requests_total', { status: '200' }), 3);
      assert.equal(sample(relayMetrics, 'ntlm_sso_gateway_requests_total', { status: '401' }), 5);
      assert.match(relayMetrics, /process_cpu_user_seconds_total/);
      const netlogonMetrics = await (await fetch(`${viaNetlogon.url}/.ntlm-sso/metrics`)).text();
      assert.equal(
        sample(netlogonMetrics, 'ntlm_sso_dc_request_duration_seconds_count', {
          dc: 'netlogon://127.0.0.1',
          operation: 'samlogon',
        }),
        1,
      );

      // The access log: one line per request (2 legs per curl logon), user and status, and the
      // request id the upstream got in X-Request-Id.
      const access = linesWith(relay.output(), 'request');
      assert.equal(access.length, 8, JSON.stringify(access));
      assert.deepEqual(
        access.map((line) => line.status),
        [401, 200, 401, 200, 401, 200, 401, 401],
      );
      for (const line of access) {
        assert.equal(line.level, 'info');
        assert.equal(line.method, 'GET');
        assert.equal(line.path, '/app');
        assert.equal(typeof line.durationMs, 'number');
        assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
      }
      const relayed = upstream.seen.filter((seen) => seen.url === '/app').slice(0, 3);
      const passed = access.filter((line) => line.status === 200);
      assert.deepEqual(
        passed.map((line) => line.requestId),
        relayed.map((seen) => seen.headers['x-request-id']),
      );
      for (const line of passed) assert.equal(line.user, 'alice');
      assert.equal(new Set(access.map((line) => line.requestId)).size, 8, 'one id per request');

      // A client's own X-Request-Id is replaced; a trusted proxy's is kept.
      const ownId = async (gatewayUrl: string) => {
        const { stdout } = await curl([
          '--ntlm',
          '-u',
          ALICE,
          '-H',
          'X-Request-Id: chosen-by-client-1',
          `${gatewayUrl}/id`,
        ]);
        return JSON.parse(stdout).headers['x-request-id'];
      };
      assert.notEqual(await ownId(relay.url), 'chosen-by-client-1');
      assert.equal(
        await ownId(viaNetlogon.url),
        'chosen-by-client-1',
        '127.0.0.1 is a --trusted-proxy there',
      );

      // Readiness follows the DC: 503 within seconds of it stopping, 200 once it is back.
      assert.equal(await status(`${relay.url}/.ntlm-sso/ready`), 200);
      assert.equal(await status(`${viaNetlogon.url}/.ntlm-sso/ready`), 200);
      await stopDc();
      const stopped = Date.now();
      await eventually(
        async () => (await status(`${relay.url}/.ntlm-sso/ready`)) === 503,
        'relay not ready',
        5000,
      );
      await eventually(
        async () => (await status(`${viaNetlogon.url}/.ntlm-sso/ready`)) === 503,
        'netlogon not ready',
        5000,
      );
      const notReadyAfterMs = Date.now() - stopped;
      assert.equal(await status(`${relay.url}/.ntlm-sso/health`), 200, 'health stays liveness only');
      // No DC address in an answer anyone gets: a neutral name, the address in the log.
      const body = await (await fetch(`${relay.url}/.ntlm-sso/ready`)).json();
      assert.deepEqual(body, { status: 'unavailable', checks: [{ name: 'dc1', ok: false }] });
      await startDc({ strict: false });
      const started = Date.now();
      await eventually(
        async () => (await status(`${relay.url}/.ntlm-sso/ready`)) === 200,
        'relay ready',
        10_000,
      );
      await eventually(
        async () => (await status(`${viaNetlogon.url}/.ntlm-sso/ready`)) === 200,
        'netlogon ready',
        10_000,
      );
      console.log(
        `# readiness: 503 ${notReadyAfterMs} ms after the DC stopped, 200 ${Date.now() - started} ms after it started`,
      );
      // Transitions logged once each; probes themselves are debug-level access lines.
      const notReady = linesWith(relay.output(), 'not ready: no domain controller (or the store) answers');
      assert.equal(notReady.length, 1);
      assert.match(String(notReady[0]!.failing), /^ldap:\/\/127\.0\.0\.1: /);
      assert.equal(linesWith(relay.output(), 'ready: the domain controllers (and store) answer').length, 1);
      assert.equal(
        linesWith(relay.output(), 'request').filter((line) => line.path === '/.ntlm-sso/ready').length,
        0,
      );
    } finally {
      await relay.stop();
      await viaNetlogon.stop();
      await upstream.close();
    }
  });

  it('--operator-listen: health, readiness and metrics answer there only, /ready without DC addresses', async () => {
    const upstream = await startEchoUpstream();
    const operatorPort = await freePort();
    const operator = `http://127.0.0.1:${operatorPort}`;
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      '--dc',
      DC,
      '--domain',
      'EXAMPLE',
      '--operator-listen',
      `127.0.0.1:${operatorPort}`,
    ]);
    try {
      assert.match(gateway.output(), new RegExp(`health, readiness and metrics on ${operator}/ only`));
      // The public listener: the paths are nobody's special case any more. A stranger gets a
      // challenge; a user's request goes upstream like any other.
      for (const path of ['health', 'ready', 'metrics']) {
        const reply = await fetch(`${gateway.url}/.ntlm-sso/${path}`);
        const text = await reply.text();
        assert.equal(reply.status, 401, path);
        assert.doesNotMatch(text, /ldap:|ntlm_sso_|"status"/, path);
      }
      const asAlice = await curlNtlm(`${gateway.url}/.ntlm-sso/ready`, ALICE);
      assert.equal(asAlice.status, 200);
      assert.equal(JSON.parse(asAlice.body).url, '/.ntlm-sso/ready', 'answered by the upstream');

      // The operator listener answers them, and nothing else.
      assert.equal((await fetch(`${operator}/.ntlm-sso/health`)).status, 200);
      const ready = await fetch(`${operator}/.ntlm-sso/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready', checks: [{ name: 'dc1', ok: true }] });
      const metrics = await (await fetch(`${operator}/.ntlm-sso/metrics`)).text();
      assert.equal(sample(metrics, 'ntlm_sso_logons_total', { mechanism: 'NTLM', result: 'success' }), 1);
      assert.equal((await fetch(`${operator}/app`)).status, 404);
      assert.equal((await fetch(`${operator}/.ntlm-sso/logout`, { method: 'POST' })).status, 404);
      assert.equal(upstream.seen.filter((seen) => seen.url?.startsWith('/.ntlm-sso/')).length, 1);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });
});
