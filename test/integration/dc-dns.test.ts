// DCs found by DNS (issue 21 §7) against Samba's own DNS server: the provisioned DC runs `dns` in
// `server services`, so its internal DNS server answers on 127.0.0.1:53 in the test's namespace.
// Where CI is set, a DC that cannot be started fails the run; elsewhere these tests report
// themselves skipped, with why.
import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { DnsResolver, SrvRecord } from '../../src/dc/dc-locator.js';
import { LSARPC_INTERFACE } from '../../src/lsa/lookup-sids3.js';
import { resolvePort } from '../../src/netlogon/secure-channel.js';
import { RpcConnection } from '../../src/rpc/connection.js';
import { EPM_PORT, eptMap } from '../../src/rpc/epm.js';
import { DomainControllerVerifier } from '../../src/verifiers/domain-controller.js';
import { NetlogonVerifier } from '../../src/verifiers/netlogon.js';
import { curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { eventually } from '../helpers/eventually.js';
import { runCli, startGateway } from '../helpers/processes.js';
import { MACHINE_ACCOUNT, MACHINE_PASSWORD, sambaSkip, startDc, stopDc } from '../helpers/samba.js';
import { serveIdentity } from '../helpers/servers.js';

const skip = await sambaSkip();

const DNS = { servers: ['127.0.0.1'] };
/** The name Samba's provision gave the DC: the machine's host name, first label, lower case. */
const DC_HOST = `${hostname().split('.')[0]!.toLowerCase()}.example.test`;
const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';

function samba(): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers(DNS.servers);
  return resolver;
}

/**
 * Samba's DNS, except that the first SRV answer names a DC that is gone (127.0.0.2: on the
 * namespace's loopback, where nothing listens, so it refuses at once).
 */
function firstAnswerDead(): DnsResolver & { srvQueries: number } {
  const real = samba();
  return {
    srvQueries: 0,
    async resolveSrv(name: string): Promise<SrvRecord[]> {
      this.srvQueries++;
      if (this.srvQueries === 1) return [{ name: 'gone.example.test', port: 389, priority: 0, weight: 100 }];
      return real.resolveSrv(name);
    },
    resolve4: (name: string) =>
      name === 'gone.example.test' ? Promise.resolve(['127.0.0.2']) : real.resolve4(name),
    resolve6: (name: string) => real.resolve6(name),
    cancel: () => real.cancel(),
  };
}

/** Samba's DNS, except that the DCs' SRV record is spoofed: it names `evil.example.test` at `address`. */
function spoofed(address: string): DnsResolver {
  const real = samba();
  return {
    resolveSrv: async () => [{ name: 'evil.example.test', port: 389, priority: 0, weight: 100 }],
    resolve4: (name) => (name === 'evil.example.test' ? Promise.resolve([address]) : real.resolve4(name)),
    resolve6: (name) => real.resolve6(name),
    cancel: () => real.cancel(),
  };
}

const REQUEST = 0;
const RESPONSE = 2;
const NETR_SERVER_AUTHENTICATE3 = 26;

/**
 * The host a spoofed SRV answer names (127.0.0.2), passing the verifier's Netlogon traffic on to
 * the real DC: its endpoint mapper and netlogon's port. With `forgeCredential`, it changes the
 * ServerCredential of NetrServerAuthenticate3's answer (the first 8 bytes of the stub, after the
 * 24-byte response header), as a host without the machine password has to: it cannot compute it.
 */
/** lsarpc's port on the real DC: the verifier names groups through it (LSA), past the impostor too. */
async function lsarpcPort(): Promise<number> {
  const connection = await RpcConnection.open({
    host: '127.0.0.1',
    port: EPM_PORT,
    connectTimeoutMs: 2000,
    callTimeoutMs: 5000,
  });
  try {
    return await eptMap(connection, LSARPC_INTERFACE);
  } finally {
    connection.close();
  }
}

async function impostorDc(netlogonPort: number, forgeCredential: boolean) {
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  let forged = 0;
  for (const port of [135, netlogonPort, await lsarpcPort()]) {
    const server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket
          .on('error', () => undefined)
          .on('close', () => {
            client.destroy();
            upstream.destroy();
          });
      }
      let authenticate3CallId: number | undefined;
      client.on('data', (chunk: Buffer) => {
        // One PDU per write from our RPC client: enough for a test.
        if (chunk[2] === REQUEST && chunk.readUInt16LE(22) === NETR_SERVER_AUTHENTICATE3)
          authenticate3CallId = chunk.readUInt32LE(12);
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        if (forgeCredential && chunk[2] === RESPONSE && chunk.readUInt32LE(12) === authenticate3CallId) {
          chunk = Buffer.from(chunk);
          chunk[24]! ^= 0xff;
          forged++;
        }
        client.write(chunk);
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.2', resolve));
    servers.push(server);
  }
  return {
    get forged() {
      return forged;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      for (const server of servers) server.close();
    },
  };
}

describe('DCs found in Samba DNS', { skip }, () => {
  before(() => startDc(), { timeout: 180_000 });
  after(() => stopDc());

  it("Samba 4.17's records: the DCs and KDCs by host name, and an A record of 127.0.0.1", async () => {
    const resolver = samba();
    const dcs = await resolver.resolveSrv('_ldap._tcp.dc._msdcs.example.test');
    const kdcs = await resolver.resolveSrv('_kerberos._tcp.example.test');
    console.log(`_ldap._tcp.dc._msdcs.example.test: ${JSON.stringify(dcs)}`);
    console.log(`_kerberos._tcp.example.test: ${JSON.stringify(kdcs)}`);
    assert.deepEqual(dcs, [{ name: DC_HOST, port: 389, priority: 0, weight: 100 }]);
    assert.deepEqual(kdcs, [{ name: DC_HOST, port: 88, priority: 0, weight: 100 }]);
    // The A record test/samba-dc/add-loopback-a.py adds (provision drops 127.0.0.1 itself).
    assert.deepEqual(await resolver.resolve4(DC_HOST), ['127.0.0.1']);
  });

  it("domainController({ domains: { EXAMPLE: 'auto' } }): alice logs in (curl --ntlm) via the DC found", async () => {
    const verifier = new DomainControllerVerifier({
      domains: { EXAMPLE: 'auto' },
      dnsDomain: 'example.test',
      dns: DNS,
    });
    const dcs: string[] = [];
    verifier.observe({
      dcKnown: (dc) => dcs.push(dc),
      dcDown() {},
      dcUp() {},
      dcLatency() {},
      directoryCache() {},
    });
    const t = await serveIdentity({ verifier });
    try {
      const reply = await curlNtlm(t.url, ALICE);
      assert.equal(reply.status, 200, reply.body);
      assert.equal(JSON.parse(reply.body).username, 'alice');
      assert.deepEqual(dcs, ['ldap://127.0.0.1:389'], 'the SRV target, dialled at its A record');
      const probe = await verifier.probe();
      assert.equal(probe.ready, true, JSON.stringify(probe));
    } finally {
      await t.close();
    }
  });

  it("netlogon({ dcs: 'auto' }): alice logs in (curl --ntlm) via the DC found", async () => {
    const verifier = new NetlogonVerifier({
      domain: 'EXAMPLE',
      dnsDomain: 'example.test',
      dcs: 'auto',
      dns: DNS,
      machineAccount: MACHINE_ACCOUNT,
      machinePassword: MACHINE_PASSWORD,
    });
    const t = await serveIdentity({ verifier });
    try {
      const reply = await curlNtlm(t.url, ALICE);
      assert.equal(reply.status, 200, reply.body);
      assert.equal(JSON.parse(reply.body).username, 'alice');
      const probe = await verifier.probe();
      assert.deepEqual(
        probe.checks.map((check) => [check.name, check.ok]),
        [['netlogon://127.0.0.1', true]],
      );
    } finally {
      await t.close();
    }
  });

  for (const kind of ['domainController', 'netlogon'] as const) {
    it(`${kind}: the only DC found is gone: 503, then DNS is asked again and alice gets in`, {
      timeout: 30_000,
    }, async () => {
      const resolver = firstAnswerDead();
      const verifier =
        kind === 'netlogon'
          ? new NetlogonVerifier(
              {
                domain: 'EXAMPLE',
                dnsDomain: 'example.test',
                dcs: 'auto',
                machineAccount: MACHINE_ACCOUNT,
                machinePassword: MACHINE_PASSWORD,
              },
              { resolver },
            )
          : new DomainControllerVerifier(
              { domains: { EXAMPLE: 'auto' }, dnsDomain: 'example.test' },
              { resolver },
            );
      const t = await serveIdentity({ verifier });
      try {
        const first = await curlNtlm(t.url, ALICE);
        assert.equal(first.status, 503, first.body);
        // DNS is asked again at most once per 5 s after a failure: poll, do not time it.
        let last = first;
        await eventually(
          async () => {
            last = await curlNtlm(t.url, ALICE);
            return last.status === 200;
          },
          'alice gets in through the DC found again',
          15_000,
        );
        assert.equal(JSON.parse(last.body).username, 'alice');
        assert.equal(resolver.srvQueries, 2, 'one look-up, then one more after the failure');
      } finally {
        await t.close();
      }
    });
  }

  for (const flag of ['--dc', '--netlogon'] as const) {
    it(`gateway ${flag} auto --dns-domain example.test: curl --ntlm gets alice through to the upstream`, async () => {
      const upstream = await startEchoUpstream();
      const netlogonFlags = ['--machine-account', MACHINE_ACCOUNT];
      const gateway = await startGateway(
        [
          '--upstream',
          upstream.url,
          flag,
          'auto',
          '--domain',
          'EXAMPLE',
          '--dns-domain',
          'example.test',
          '--dns-server',
          '127.0.0.1',
          ...(flag === '--netlogon' ? netlogonFlags : []),
        ],
        flag === '--netlogon' ? { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD } : {},
      );
      try {
        const reply = await curlNtlm(`${gateway.url}/`, ALICE);
        assert.equal(reply.status, 200, reply.body);
        assert.equal(JSON.parse(reply.body).headers['x-ntlm-username'], 'alice');
      } finally {
        await gateway.stop();
        await upstream.close();
      }
    });
  }

  it('gateway --netlogon auto without --dns-domain: refused at start, naming the option', async () => {
    const run = await runCli(
      [
        'gateway',
        '--upstream',
        'http://127.0.0.1:9',
        '--netlogon',
        'auto',
        '--domain',
        'EXAMPLE',
        '--machine-account',
        MACHINE_ACCOUNT,
      ],
      { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD },
    );
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /dnsDomain/);
  });

  it('doctor --dc auto --netlogon auto: prints the SRV records found (DCs and KDCs), then checks the DC found', async () => {
    const run = await runCli(
      [
        'doctor',
        '--dc',
        'auto',
        '--netlogon',
        'auto',
        '--domain',
        'EXAMPLE',
        '--machine-account',
        MACHINE_ACCOUNT,
        '--dns-domain',
        'example.test',
        '--dns-server',
        '127.0.0.1',
      ],
      { NTLM_SSO_MACHINE_PASSWORD: MACHINE_PASSWORD },
    );
    console.log(run.stdout);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const host = DC_HOST.replaceAll('.', '\\.');
    assert.match(
      run.stdout,
      new RegExp(
        `^✓ dns:example\\.test SRV _ldap\\._tcp\\.dc\\._msdcs\\.example\\.test: 1 DC\\(s\\): ${host}:389 \\(127\\.0\\.0\\.1, priority 0, weight 100\\)$`,
        'm',
      ),
    );
    assert.match(
      run.stdout,
      new RegExp(
        `^✓ dns:example\\.test SRV _kerberos\\._tcp\\.example\\.test: 1 KDC\\(s\\): ${host}:88 `,
        'm',
      ),
    );
    assert.match(run.stdout, /^✓ ldap:\/\/127\.0\.0\.1:389 TCP connect/m);
    assert.match(run.stdout, /^✓ netlogon:\/\/127\.0\.0\.1 /m);
  });

  it('doctor --dc auto for a domain DNS does not know: the SRV line fails and says what to do', async () => {
    const run = await runCli([
      'doctor',
      '--dc',
      'auto',
      '--dns-domain',
      'nowhere.test',
      '--dns-server',
      '127.0.0.1',
    ]);
    console.log(run.stdout);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^✗ dns:nowhere\.test SRV _ldap\._tcp\.dc\._msdcs\.nowhere\.test: no DC found \(.*\): give --dns-server/m,
    );
  });

  it('a spoofed SRV answer naming a host without the machine password: Netlogon refuses it (503), no one logs in', async () => {
    const netlogonPort = await resolvePort({
      host: '127.0.0.1',
      port: undefined,
      connectTimeoutMs: 2000,
      callTimeoutMs: 5000,
    });
    const options = {
      domain: 'EXAMPLE',
      dnsDomain: 'example.test',
      dcs: 'auto' as const,
      machineAccount: MACHINE_ACCOUNT,
      machinePassword: MACHINE_PASSWORD,
    };
    // Control: the same host passing everything on untouched lets the real DC decide.
    const relay = await impostorDc(netlogonPort, false);
    const honest = new NetlogonVerifier(options, { resolver: spoofed('127.0.0.2') });
    let t = await serveIdentity({ verifier: honest });
    try {
      assert.equal((await curlNtlm(t.url, ALICE)).status, 200, 'through the relaying host, the DC decides');
    } finally {
      await t.close();
      relay.close();
    }
    const impostor = await impostorDc(netlogonPort, true);
    const verifier = new NetlogonVerifier(options, { resolver: spoofed('127.0.0.2') });
    t = await serveIdentity({ verifier });
    try {
      for (const credentials of [ALICE, 'EXAMPLE\\alice:Wrong-Passw0rd!']) {
        const reply = await curlNtlm(t.url, credentials);
        assert.equal(reply.status, 503, reply.body);
      }
      assert.ok(impostor.forged >= 1, 'the impostor answered NetrServerAuthenticate3');
      const refusals = t.logger.records.filter(
        (r) => r.fields?.code === 'ERR_NTLM_DC_MACHINE_ACCOUNT_REFUSED',
      );
      assert.ok(refusals.length >= 1, JSON.stringify(t.logger.records.map((r) => r.fields?.code)));
      assert.match(JSON.stringify(refusals[0]), /does not prove the session key/);
    } finally {
      await t.close();
      impostor.close();
    }
  });
});
