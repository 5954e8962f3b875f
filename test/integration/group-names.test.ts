// One identity, whatever the mechanism (issue 19 §1): alice through the local directory, the LDAP
// relay, Netlogon and Kerberos with Netlogon, against the real Samba AD DC (LDAP, KDC, RPC), with
// group names from LsarLookupSids3 over the machine account's own secure channel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  domainController,
  isNtlmError,
  localDirectory,
  MemoryStore,
  type NetlogonOptions,
  type NtlmOptions,
  netlogon,
  ntlm,
} from '../../src/index.js';
import { SidUse } from '../../src/lsa/lookup-sids3.js';
import { LsaChannel } from '../../src/lsa/lsa-channel.js';
import { ntowfv1 } from '../../src/ntlm/crypto.js';
import { curlNtlm } from '../helpers/curl.js';
import { startEchoUpstream } from '../helpers/echo-upstream.js';
import { curlNegotiate, KerberosClientEnv } from '../helpers/kerberos.js';
import { runCli, startGateway } from '../helpers/processes.js';
import {
  ADMIN_PASSWORD,
  accountSid,
  DC_DIR,
  DC_URL,
  KEYTAB,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  netlogonGatewayFlags,
  sambaSkip,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { serveIdentity } from '../helpers/servers.js';

const skip = await sambaSkip();

const ALICE = 'EXAMPLE\\alice:Alice-Passw0rd!';
/** Tickets are for HTTP/localhost: Kerberos clients must ask for localhost, not 127.0.0.1. */
const byName = (url: string) => url.replace('127.0.0.1', 'localhost');

function netlogonOptions(overrides: Partial<NetlogonOptions> = {}): NetlogonOptions {
  return {
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
    ...overrides,
  };
}

/** A read-only lookup account (Administrator here) over LDAPS, checked against the DC's own CA. */
function lookupAccount() {
  return {
    url: 'ldaps://127.0.0.1',
    bindDN: 'Administrator@example.test',
    password: ADMIN_PASSWORD,
    // Samba's generated certificate names the host, not 127.0.0.1.
    tls: { ca: readFileSync(`${DC_DIR}/private/tls/ca.pem`), checkServerIdentity: () => undefined },
  };
}

/** What an app relies on, in a form two logons can be compared by (lists sorted). */
function identityOf(who: Record<string, unknown>) {
  return {
    username: who.username,
    domain: who.domain,
    displayName: who.displayName,
    sid: who.sid,
    groups: [...((who.groups as string[]) ?? [])].sort(),
    groupSids: [...((who.groupSids as string[]) ?? [])].sort(),
  };
}

async function ntlmLogon(options: NtlmOptions) {
  const served = await serveIdentity(options);
  try {
    const reply = await curlNtlm(served.url, ALICE);
    assert.equal(reply.status, 200, reply.body);
    return JSON.parse(reply.body);
  } finally {
    await served.close();
  }
}

describe('group names for every mechanism (Samba AD DC)', { skip }, () => {
  const client = new KerberosClientEnv();
  let engineering: string;
  let domainUsers: string;
  let aliceSid: string;
  before(async () => {
    await startDc(); // not strict: the relay needs unsigned binds; Netlogon and Kerberos work either way
    engineering = await accountSid('Engineering');
    aliceSid = await accountSid('alice');
    domainUsers = `${aliceSid.replace(/-\d+$/, '')}-513`;
    await client.kinit('alice@EXAMPLE.TEST', 'Alice-Passw0rd!');
  });
  after(async () => {
    await stopDc();
    client.remove();
  });

  it('LsarLookupSids3 on its own channel names alice, Engineering and Domain Users; unknown SIDs stay unmapped', async () => {
    const channel = new LsaChannel(
      { host: '127.0.0.1', port: undefined, connectTimeoutMs: 2000, callTimeoutMs: 5000 },
      { domain: 'EXAMPLE', computerName: 'WEB01', ntHash: ntowfv1(MACHINE_PASSWORD) },
    );
    try {
      const unknownRid = `${aliceSid.replace(/-\d+$/, '')}-99999`;
      const unknownDomain = 'S-1-5-21-1-2-3-1000';
      const answer = await channel.lookupSids([
        aliceSid,
        engineering,
        domainUsers,
        unknownRid,
        unknownDomain,
      ]);
      assert.equal(answer.status, 0x107, 'STATUS_SOME_NOT_MAPPED');
      assert.equal(answer.mappedCount, 3);
      assert.deepEqual(answer.names.slice(0, 3), [
        { use: SidUse.User, name: 'alice', domain: 'EXAMPLE' },
        { use: SidUse.Group, name: 'Engineering', domain: 'EXAMPLE' },
        { use: SidUse.Group, name: 'Domain Users', domain: 'EXAMPLE' },
      ]);
      assert.equal(answer.names[3]!.use, SidUse.Unknown);
      assert.equal(answer.names[4]!.use, SidUse.Unknown);
      // The same channel again (reused, no new Authenticate3), and well-known SIDs.
      const again = await channel.lookupSids(['S-1-1-0', 'S-1-5-11', 'S-1-5-32-545']);
      assert.deepEqual(
        again.names.map((n) => `${n.domain}\\${n.name}`),
        ['\\Everyone', 'NT AUTHORITY\\Authenticated Users', 'BUILTIN\\Users'],
      );
    } finally {
      channel.close();
    }
  });

  it('alice has the same identity through local, relay, Netlogon and Kerberos with Netlogon', async () => {
    const relay = await ntlmLogon({ verifier: domainController({ domains: { EXAMPLE: [DC_URL] } }) });
    const viaNetlogon = await ntlmLogon({ verifier: netlogon(netlogonOptions()) });
    const local = await ntlmLogon({
      verifier: localDirectory({
        domain: 'EXAMPLE',
        users: [
          {
            username: 'alice',
            password: 'Alice-Passw0rd!',
            displayName: 'Alice',
            sid: aliceSid,
            groups: ['Domain Users', 'Engineering'],
            groupSids: [domainUsers, engineering],
          },
        ],
      }),
    });
    const served = await serveIdentity({
      verifier: netlogon(netlogonOptions()),
      kerberos: { keytab: KEYTAB },
    });
    let kerberos: Record<string, unknown>;
    try {
      const reply = await curlNegotiate(byName(served.url), client.env);
      assert.equal(reply.status, 200, reply.stderr);
      kerberos = JSON.parse(reply.body);
      assert.equal(kerberos.mechanism, 'Kerberos');
    } finally {
      await served.close();
    }
    const expected = {
      username: 'alice',
      domain: 'EXAMPLE',
      displayName: 'Alice',
      sid: aliceSid,
      groups: ['Domain Users', 'Engineering'],
      groupSids: [domainUsers, engineering].sort(),
    };
    // Beside the domain's groups, the relay's tokenGroups is the DC's whole token (well-known SIDs
    // S-1-1-0, S-1-5-2, S-1-5-11, S-1-5-64-10 and the BUILTIN aliases S-1-5-32-*, which it names
    // too), and the PAC adds S-1-18-1 (asserted identity, which LSA refuses to name: it stays a
    // SID). Those say how and where the logon happened; the domain's own are compared.
    const domainSid = aliceSid.replace(/-\d+$/, '');
    const ofDomain = (sid: string) => sid.startsWith(`${domainSid}-`);
    for (const [path, who] of [
      ['local', local],
      ['relay', relay],
      ['netlogon', viaNetlogon],
      ['kerberos+netlogon', kerberos!],
    ] as const) {
      const seen = identityOf(who);
      const extraSids = seen.groupSids.filter((sid) => !ofDomain(sid));
      const extraNames = seen.groups.filter((name) => !expected.groups.includes(name));
      assert.deepEqual(
        {
          ...seen,
          groupSids: seen.groupSids.filter(ofDomain),
          groups: seen.groups.filter((n) => !extraNames.includes(n)),
        },
        expected,
        `${path}: ${JSON.stringify(who)}`,
      );
      // Every other name is a well-known SID's: a BUILTIN alias the relay names, or a SID left as it is.
      const builtinAliases = extraSids.filter((sid) => sid.startsWith('S-1-5-32-')).length;
      assert.equal(
        extraNames.filter((name) => !name.startsWith('S-1-')).length,
        builtinAliases,
        `${path}: ${extraNames}`,
      );
    }
    assert.deepEqual(
      identityOf(kerberos!).groupSids.filter((sid) => !ofDomain(sid)),
      ['S-1-18-1'],
    );
    assert.deepEqual(
      identityOf(viaNetlogon).groupSids.filter((sid) => !ofDomain(sid)),
      [],
    );
  });

  it("without a machine account, the lookup account names a Kerberos logon's groups and gives its mail", async () => {
    const served = await serveIdentity({
      verifier: domainController({
        domains: { EXAMPLE: [DC_URL] },
        lookup: lookupAccount(),
      }),
      kerberos: { keytab: KEYTAB },
      allowGroups: ['Engineering'],
    });
    try {
      const reply = await curlNegotiate(byName(served.url), client.env);
      assert.equal(reply.status, 200, reply.stderr);
      const who = JSON.parse(reply.body);
      assert.equal(who.mechanism, 'Kerberos');
      assert.equal(who.mail, 'alice@example.test');
      assert.deepEqual(
        identityOf(who).groups.filter((g) => !g.startsWith('S-1-')),
        ['Domain Users', 'Engineering'],
      );
    } finally {
      await served.close();
    }
  });

  it('netlogon({ lookup }): mail through the lookup account, for NTLM and Kerberos logons alike', async () => {
    const served = await serveIdentity({
      verifier: netlogon(netlogonOptions({ lookup: lookupAccount() })),
      kerberos: { keytab: KEYTAB },
    });
    try {
      const viaNtlm = await curlNtlm(served.url, ALICE);
      assert.equal(viaNtlm.status, 200, viaNtlm.body);
      const viaKerberos = await curlNegotiate(byName(served.url), client.env);
      assert.equal(viaKerberos.status, 200, viaKerberos.stderr);
      for (const who of [JSON.parse(viaNtlm.body), JSON.parse(viaKerberos.body)]) {
        assert.equal(who.mail, 'alice@example.test');
        assert.equal(who.displayName, 'Alice', "Netlogon's FullName and the PAC's");
        assert.ok(who.groups.includes('Engineering'));
      }
    } finally {
      await served.close();
    }
  });

  it('allowGroups matches Engineering by name (any case, with or without EXAMPLE\\) and by SID; Kerberos too', async () => {
    for (const allowGroups of [['engineering'], ['EXAMPLE\\ENGINEERING'], [engineering]]) {
      const served = await serveIdentity({
        verifier: netlogon(netlogonOptions()),
        kerberos: { keytab: KEYTAB },
        allowGroups,
      });
      try {
        assert.equal((await curlNtlm(served.url, ALICE)).status, 200, `NTLM, ${allowGroups}`);
        assert.equal(
          (await curlNegotiate(byName(served.url), client.env)).status,
          200,
          `Kerberos, ${allowGroups}`,
        );
      } finally {
        await served.close();
      }
    }
    const other = await serveIdentity({
      verifier: netlogon(netlogonOptions()),
      allowGroups: ['OTHERDOMAIN\\Engineering', 'Domain Admins'],
    });
    try {
      assert.equal((await curlNtlm(other.url, ALICE)).status, 403);
    } finally {
      await other.close();
    }
  });

  it('after the LSA channel authenticated as WEB01, 8 logons at once (new Netlogon channels) all pass', async () => {
    // The LSA channel's Authenticate3 replaces the key the pool's first channel agreed; channels
    // the pool binds later under that key get fault 0x721 on their first call (Samba 4.17).
    const served = await serveIdentity({ verifier: netlogon(netlogonOptions()) });
    try {
      assert.equal((await curlNtlm(served.url, ALICE)).status, 200, 'first logon: pool channel, then LSA');
      for (let round = 0; round < 2; round++) {
        const statuses = await Promise.all(Array.from({ length: 8 }, () => curlNtlm(served.url, ALICE)));
        assert.deepEqual(
          statuses.map((reply) => reply.status),
          Array(8).fill(200),
        );
      }
    } finally {
      await served.close();
    }
  });

  it('names come from the shared cache after the first logon: a second verifier on the same store asks no LSA', async () => {
    const store = new MemoryStore({ maxEntries: 100 });
    await ntlmLogon({ verifier: netlogon(netlogonOptions({ cache: { store } })) });
    assert.deepEqual(
      JSON.parse((await store.get(`directory:sid-name:${engineering}`))!),
      { name: 'Engineering', domain: 'EXAMPLE' },
      'cached per SID, in the Store',
    );
    // A second verifier (another instance) on the same store: every name is a cache hit, no miss,
    // so no LsarLookupSids3 was needed.
    const second = netlogon(netlogonOptions({ cache: { store } }));
    const lookups = { hit: 0, miss: 0 };
    second.observe({
      dcKnown() {},
      dcDown() {},
      dcUp() {},
      dcLatency() {},
      directoryCache: (hit) => lookups[hit ? 'hit' : 'miss']++,
    });
    const who = await ntlmLogon({ verifier: second });
    assert.deepEqual(identityOf(who).groups, ['Domain Users', 'Engineering']);
    assert.deepEqual(lookups, { hit: 3, miss: 0 }, 'alice, Domain Users and Engineering from the cache');
  });

  it('ntlm() refuses allowGroups names with Kerberos when nothing can name SIDs, and says what to configure', () => {
    const refused = () =>
      ntlm({
        verifier: domainController({ domains: { EXAMPLE: [DC_URL] } }),
        kerberos: { keytab: KEYTAB },
        allowGroups: ['Engineering'],
      });
    assert.throws(refused, (error: unknown) => {
      assert.ok(isNtlmError(error));
      assert.equal(error.code, 'ERR_NTLM_CONFIG_GROUPS_UNRESOLVABLE');
      assert.match(error.message, /Engineering/);
      assert.match(error.message, /netlogon\(\)/);
      assert.match(error.message, /lookup account/);
      return true;
    });
    // By SID it is fine, and so is a verifier that names SIDs.
    ntlm({
      verifier: domainController({ domains: { EXAMPLE: [DC_URL] } }),
      kerberos: { keytab: KEYTAB },
      allowGroups: [engineering],
    });
    ntlm({
      verifier: netlogon(netlogonOptions()),
      kerberos: { keytab: KEYTAB },
      allowGroups: ['Engineering'],
    });
  });

  it('gateway --netlogon --keytab --spn --forward-groups --allow-groups Engineering: the upstream gets Engineering on the first logon, NTLM and Kerberos', async () => {
    const upstream = await startEchoUpstream();
    const gateway = await startGateway([
      '--upstream',
      upstream.url,
      ...netlogonGatewayFlags(),
      '--keytab',
      KEYTAB,
      '--spn',
      'HTTP/localhost',
      '--forward-groups',
      '--allow-groups',
      'Engineering',
    ]);
    try {
      const ntlmReply = await curlNtlm(`${gateway.url}/`, ALICE);
      assert.equal(ntlmReply.status, 200, ntlmReply.body);
      const viaNtlm = JSON.parse(ntlmReply.body).headers;
      const kerberosReply = await curlNegotiate(`${byName(gateway.url)}/`, client.env);
      assert.equal(kerberosReply.status, 200, kerberosReply.stderr);
      const viaKerberos = JSON.parse(kerberosReply.body).headers;
      for (const headers of [viaNtlm, viaKerberos]) {
        assert.equal(headers['x-ntlm-username'], 'alice');
        const groups = String(headers['x-ntlm-groups']).split(',');
        assert.ok(
          groups.includes('Engineering') && groups.includes('Domain Users'),
          headers['x-ntlm-groups'],
        );
        assert.ok(!groups.some((group) => group.includes('\\')), 'bare names, no DOMAIN\\');
      }
      // bob is not in Engineering: 403.
      assert.equal((await curlNtlm(`${gateway.url}/`, 'EXAMPLE\\bob:Bob-Passw0rd!')).status, 403);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });

  it('the gateway refuses to start with --allow-groups names, --keytab and nothing that can name SIDs', async () => {
    const upstream = await startEchoUpstream();
    try {
      const run = await runCli([
        'gateway',
        '--listen',
        '127.0.0.1:0',
        '--upstream',
        upstream.url,
        '--dc',
        DC_URL,
        '--domain',
        'EXAMPLE',
        '--keytab',
        KEYTAB,
        '--allow-groups',
        'Engineering',
      ]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /allowGroups names groups \(Engineering\)/);
      assert.match(run.stderr, /\[ERR_NTLM_CONFIG_GROUPS_UNRESOLVABLE\]/);
      assert.match(run.stderr, /--netlogon/);
      assert.match(run.stderr, /--lookup-url/);
    } finally {
      await upstream.close();
    }
  });
});
