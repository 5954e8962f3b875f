// Negotiate through ntlm() on node:http, offline: the saved curl token (Kerberos in SPNEGO) with
// the clock set to its capture time and tampered copies of it; NTLM inside SPNEGO with the
// mechListMIC both ways; request-mic for a mechanism that is not the client's first; broken DER.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { composeOptions, createAuthenticator } from '../../src/compose.js';
import type { KerberosIdentity } from '../../src/kerberos/acceptor.js';
import { decodeApReq } from '../../src/kerberos/ap-req.js';
import { decrypt, EncType, encrypt, KeyUsage } from '../../src/kerberos/enctypes.js';
import { unwrapGssToken } from '../../src/kerberos/gss-token.js';
import { parseKeytab } from '../../src/kerberos/keytab.js';
import { fromKerberos } from '../../src/mechanisms/negotiate.js';
import {
  decodeSpnego,
  encodeNegTokenInit,
  encodeNegTokenResp,
  MechOid,
  NegState,
  type NegTokenResp,
} from '../../src/negotiate/spnego.js';
import { ntlmMac } from '../../src/ntlm/signing.js';
import { isSealedIdentity, sealIdentity } from '../../src/sealed-identities.js';
import type { Store, Verifier } from '../../src/types.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { ALICE, startServer, type TestServer, testDirectory } from '../helpers/servers.js';

const FIXTURES = new URL('../fixtures/kerberos/', import.meta.url);
const KEYTAB = readFileSync(new URL('http.keytab', FIXTURES));
const SPNEGO = Buffer.from(
  readFileSync(new URL('curl-negotiate-token.b64', FIXTURES), 'utf8').trim(),
  'base64',
);
const init = decodeSpnego(SPNEGO);
assert.equal(init.kind, 'init');
const AP_REQ = init.kind === 'init' ? init.mechToken! : Buffer.alloc(0);
const CAPTURED = Date.parse('2026-11-23T13:11:00Z');
const SERVICE_KEY = parseKeytab(KEYTAB).find((e) => e.key.etype === EncType.AES256_CTS_HMAC_SHA1_96)!.key;

const negotiate = (token: Buffer) => ({ Authorization: `Negotiate ${token.toString('base64')}` });
function answer(headers: Record<string, unknown>): NegTokenResp {
  const match = /^Negotiate (\S+)$/.exec(String(headers['www-authenticate'] ?? ''));
  assert.ok(match, `WWW-Authenticate: ${headers['www-authenticate']}`);
  const resp = decodeSpnego(Buffer.from(match[1]!, 'base64'));
  assert.equal(resp.kind, 'resp');
  return resp as NegTokenResp;
}

/** The saved token with a byte of the ticket's PAC flipped and the ticket sealed again with the service key. */
function tamperedPac(): Buffer {
  const cipher = decodeApReq(unwrapGssToken(AP_REQ).body).ticket.encPart.cipher;
  const plain = Buffer.from(decrypt(SERVICE_KEY, KeyUsage.TICKET, cipher)!);
  const name = Buffer.from('Alice', 'utf16le'); // PAC LOGON_INFO FullName
  const at = plain.indexOf(name);
  assert.ok(at > 0);
  plain[at] = 'B'.charCodeAt(0);
  const sealed = encrypt(SERVICE_KEY, KeyUsage.TICKET, plain);
  const copy = Buffer.from(SPNEGO);
  sealed.copy(copy, copy.indexOf(cipher));
  return copy;
}

describe('Negotiate in ntlm() with a keytab (offline, the saved token)', () => {
  let served: TestServer;
  before(async () => {
    served = await startServer('node:http', { kerberos: { keytab: KEYTAB } });
  });
  after(() => served.close());
  beforeEach(() => {
    mock.timers.enable({ apis: ['Date'], now: CAPTURED });
    served.logger.records.length = 0;
  });
  afterEach(() => mock.timers.reset());

  it('offers Negotiate then NTLM', async () => {
    const reply = await new NtlmHttpClient(served.url).request('/');
    assert.equal(reply.status, 401);
    assert.equal(reply.headers['www-authenticate'], 'Negotiate, NTLM');
  });

  it('logs in as alice with the SID and groups of the PAC, answers accept-completed with the AP-REP, refuses the replay', async () => {
    const reply = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
    assert.equal(reply.status, 200, JSON.stringify(served.logger.records));
    const { ntlm } = JSON.parse(reply.body);
    assert.equal(ntlm.username, 'alice');
    assert.equal(ntlm.domain, 'EXAMPLE');
    assert.equal(ntlm.realm, 'EXAMPLE.TEST');
    assert.equal(ntlm.mechanism, 'Kerberos');
    assert.equal(ntlm.scheme, 'Negotiate');
    assert.equal(ntlm.sid, 'S-1-5-21-4260647339-1141557991-2007939543-1102');
    assert.ok(ntlm.groupSids.includes('S-1-5-21-4260647339-1141557991-2007939543-1106'));
    const resp = answer(reply.headers);
    assert.equal(resp.negState, NegState.ACCEPT_COMPLETED);
    assert.equal(resp.supportedMech, MechOid.KRB5);
    assert.equal(unwrapGssToken(resp.responseToken!).tokId, 0x0200);

    const replay = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
    assert.equal(replay.status, 401);
    assert.equal(replay.headers['www-authenticate'], 'Negotiate, NTLM');
    assert.deepEqual(served.logger.codes(), ['ERR_KRB_REPLAY']);
  });

  it('logs in with a token of 1,536 to 1,791 bytes, whose frame length (60 82 06 xx) holds the OID tag 06', async () => {
    // The saved AP-REQ in a NegTokenInit with more mechanisms listed after Kerberos, as some
    // clients list them: 1.3.6.1.4.1.99999.n, 11 bytes each. Such a token was taken for neither
    // SPNEGO nor Kerberos (400) when the OID was found by its tag rather than after the length.
    const extra = Array.from({ length: 10 }, (_, n) => `1.3.6.1.4.1.99999.${n + 1}`);
    const token = encodeNegTokenInit({ mechTypes: [MechOid.KRB5, ...extra], mechToken: AP_REQ });
    assert.equal(token.subarray(0, 3).toString('hex'), '608206', `a token of ${token.length} bytes`);
    // A server of its own: the saved authenticator is in this suite's replay cache already.
    const fresh = await startServer('node:http', { kerberos: { keytab: KEYTAB } });
    try {
      const reply = await new NtlmHttpClient(fresh.url).request('/', negotiate(token));
      assert.equal(reply.status, 200, JSON.stringify(fresh.logger.records));
      assert.equal(JSON.parse(reply.body).ntlm.mechanism, 'Kerberos');
      assert.equal(answer(reply.headers).negState, NegState.ACCEPT_COMPLETED);
    } finally {
      await fresh.close();
    }
  });

  it('a skewed clock, an expired ticket and a tampered PAC each get 401 with their own code', async () => {
    mock.timers.setTime(CAPTURED + 10 * 60_000);
    assert.equal((await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO))).status, 401);
    mock.timers.setTime(CAPTURED + 2 * 86_400_000);
    assert.equal((await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO))).status, 401);
    mock.timers.setTime(CAPTURED);
    assert.equal((await new NtlmHttpClient(served.url).request('/', negotiate(tamperedPac()))).status, 401);
    assert.deepEqual(served.logger.codes(), [
      'ERR_KRB_CLOCK_SKEW',
      'ERR_KRB_TICKET_EXPIRED',
      'ERR_KRB_BAD_PAC',
    ]);
  });

  it('broken DER is a 400 with ERR_SPNEGO_INVALID_TOKEN', async () => {
    for (const token of [
      SPNEGO.subarray(0, 200),
      Buffer.from('6080', 'hex'),
      Buffer.from('a100', 'hex'),
      Buffer.from('3000', 'hex'),
    ]) {
      const reply = await new NtlmHttpClient(served.url).request('/', negotiate(token));
      assert.equal(reply.status, 400, token.toString('hex'));
    }
    assert.deepEqual(served.logger.codes(), Array(4).fill('ERR_SPNEGO_INVALID_TOKEN'));
  });
});

describe('a Kerberos logon decided at once (offline, the saved token)', () => {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: CAPTURED }));
  afterEach(() => mock.timers.reset());

  it('is answered in the call that reads it, not in a promise, when nothing has to be waited for', async () => {
    const authenticator = createAuthenticator(
      composeOptions({ verifier: testDirectory(), logger: quiet, kerberos: { keytab: KEYTAB } }),
    );
    const request = { socket: new Socket(), cookie: undefined, clientAddress: '127.0.0.1' };
    try {
      const decision = authenticator.authenticate({
        ...request,
        authorization: negotiate(SPNEGO).Authorization,
      });
      assert.ok(!(decision instanceof Promise));
      assert.equal(decision.kind, 'pass');
      assert.equal(decision.kind === 'pass' && decision.info.username, 'alice');
      // The refusal of its replay is decided at once too.
      const replay = authenticator.authenticate({
        ...request,
        authorization: negotiate(SPNEGO).Authorization,
      });
      assert.ok(!(replay instanceof Promise));
      assert.equal(replay.kind === 'fail' && replay.error.code, 'ERR_KRB_REPLAY');
    } finally {
      await authenticator.close();
    }
  });

  it('holds no handshake slot: it logs on while NTLM handshakes fill every slot', async () => {
    const served = await startServer('node:http', {
      kerberos: { keytab: KEYTAB },
      maxPendingHandshakes: 1,
      maxPendingHandshakesPerClient: 1,
    });
    const waiting = new NtlmHttpClient(served.url);
    const refused = new NtlmHttpClient(served.url);
    try {
      const ntlmNegotiate = { Authorization: `NTLM ${type1().toString('base64')}` };
      assert.equal((await waiting.request('/', ntlmNegotiate)).status, 401);
      assert.equal((await refused.request('/', ntlmNegotiate)).status, 503);
      const reply = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
      assert.equal(reply.status, 200, JSON.stringify(served.logger.records));
      assert.equal(JSON.parse(reply.body).ntlm.mechanism, 'Kerberos');
      assert.deepEqual(served.logger.codes(), ['ERR_NTLM_TOO_MANY_HANDSHAKES']);
    } finally {
      waiting.close();
      refused.close();
      await served.close();
    }
  });
});

describe('a Kerberos logon that waits on a shared replay store (offline, the saved token)', () => {
  it('holds a slot: with every slot full it gets 503, and the store answer left behind is handled', async () => {
    // A shared store that has seen every authenticator: its answer (a replay) comes after the 503.
    const store: Store = {
      get: async () => undefined,
      set: async () => {},
      delete: async () => {},
      setIfAbsent: () => new Promise((resolve) => setImmediate(() => resolve(false))),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    mock.timers.enable({ apis: ['Date'], now: CAPTURED });
    const served = await startServer('node:http', {
      kerberos: { keytab: KEYTAB },
      store,
      maxPendingHandshakes: 1,
      maxPendingHandshakesPerClient: 1,
    });
    const waiting = new NtlmHttpClient(served.url);
    try {
      assert.equal(
        (await waiting.request('/', { Authorization: `NTLM ${type1().toString('base64')}` })).status,
        401,
      );
      const reply = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
      assert.equal(reply.status, 503);
      assert.deepEqual(served.logger.codes(), ['ERR_NTLM_TOO_MANY_HANDSHAKES']);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      mock.timers.reset();
      waiting.close();
      await served.close();
    }
  });
});

describe("Negotiate with a verifier's nameGroups (offline, the saved token)", () => {
  it('hands nameGroups an identity of its own to write to, not the one its ticket keeps', async () => {
    const directory = testDirectory();
    const given: object[] = [];
    const verifier: Verifier = {
      ...directory,
      startHandshake: (start) => directory.startHandshake(start),
      // A verifier that fills in the identity it is given, as a JavaScript one may.
      nameGroups: async (identity) => {
        given.push(identity);
        return Object.assign(identity, { groups: ['Engineering'] });
      },
    };
    mock.timers.enable({ apis: ['Date'], now: CAPTURED });
    const served = await startServer('node:http', { verifier, kerberos: { keytab: KEYTAB } });
    try {
      const reply = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
      assert.equal(reply.status, 200, JSON.stringify(served.logger.records));
      assert.deepEqual(JSON.parse(reply.body).ntlm.groups, ['Engineering']);
      assert.equal(given.length, 1);
      assert.ok(!Object.isFrozen(given[0]));
    } finally {
      mock.timers.reset();
      await served.close();
    }
  });
});

describe('NTLM inside SPNEGO through ntlm() (local directory)', () => {
  let served: TestServer;
  before(async () => {
    served = await startServer('node:http');
  });
  after(() => served.close());
  beforeEach(() => {
    served.logger.records.length = 0;
  });

  /** NegTokenInit(mechTypes, NTLM NEGOTIATE as optimistic token when NTLMSSP is first), then the legs. */
  async function login(mechTypes: string[], mic: 'good' | 'bad' | 'none') {
    const client = new NtlmHttpClient(served.url);
    const negotiateToken = type1();
    const ntlmFirst = mechTypes[0] === MechOid.NTLMSSP;
    let reply = await client.request(
      '/',
      negotiate(
        encodeNegTokenInit({ mechTypes, mechToken: ntlmFirst ? negotiateToken : Buffer.from('NEGOEX') }),
      ),
    );
    const first = answer(reply.headers);
    if (!ntlmFirst) {
      assert.equal(reply.status, 401);
      assert.equal(first.negState, NegState.REQUEST_MIC);
      assert.equal(first.supportedMech, MechOid.NTLMSSP);
      assert.equal(first.responseToken, undefined);
      reply = await client.request('/', negotiate(encodeNegTokenResp({ responseToken: negotiateToken })));
    }
    const challenge = answer(reply.headers);
    assert.equal(challenge.negState, NegState.ACCEPT_INCOMPLETE);
    assert.equal(challenge.supportedMech, ntlmFirst ? MechOid.NTLMSSP : undefined);
    let exported: Buffer = Buffer.alloc(0);
    const authenticate = await type3(negotiateToken, challenge.responseToken!, ALICE, {
      onExportedKey: (key) => (exported = key),
    });
    const mechTypesDer = (decodeSpnego(encodeNegTokenInit({ mechTypes })) as { mechTypesDer: Buffer })
      .mechTypesDer;
    const flags = authenticate.readUInt32LE(60);
    const mechListMIC =
      mic === 'none'
        ? undefined
        : ntlmMac(exported, flags, 'client-to-server', mic === 'good' ? mechTypesDer : Buffer.from('x'));
    const last = await client.request(
      '/',
      negotiate(encodeNegTokenResp({ responseToken: authenticate, mechListMIC })),
    );
    return { last, exported, flags, mechTypesDer };
  }

  it('NTLMSSP first: CHALLENGE in accept-incomplete, then accept-completed with our mechListMIC', async () => {
    const { last, exported, flags, mechTypesDer } = await login([MechOid.NTLMSSP], 'good');
    assert.equal(last.status, 200, JSON.stringify(served.logger.records));
    assert.equal(JSON.parse(last.body).ntlm.username, 'alice');
    assert.equal(JSON.parse(last.body).ntlm.mechanism, 'SPNEGO-NTLM');
    const done = answer(last.headers);
    assert.equal(done.negState, NegState.ACCEPT_COMPLETED);
    assert.deepEqual(done.mechListMIC, ntlmMac(exported, flags, 'server-to-client', mechTypesDer));
  });

  it('NEGOEX first (Windows without a ticket): request-mic naming NTLMSSP, then the NTLM legs', async () => {
    const { last } = await login([MechOid.NEGOEX, MechOid.NTLMSSP], 'good');
    assert.equal(last.status, 200, JSON.stringify(served.logger.records));
  });

  it('a wrong or missing mechListMIC (the AUTHENTICATE has an NTLM MIC) is refused with ERR_NTLM_BAD_MIC', async () => {
    assert.equal((await login([MechOid.NTLMSSP], 'bad')).last.status, 401);
    assert.equal((await login([MechOid.NTLMSSP], 'none')).last.status, 401);
    assert.deepEqual(served.logger.codes(), ['ERR_NTLM_BAD_MIC', 'ERR_NTLM_BAD_MIC']);
  });

  it('Kerberos only, with no keytab configured: 401 ERR_NTLM_UNSUPPORTED_MECHANISM', async () => {
    const reply = await new NtlmHttpClient(served.url).request('/', negotiate(SPNEGO));
    assert.equal(reply.status, 401);
    // The authenticator answers a scheme it does not offer with that scheme alone.
    assert.equal(reply.headers['www-authenticate'], 'Negotiate');
    assert.deepEqual(served.logger.codes(), ['ERR_NTLM_UNSUPPORTED_MECHANISM']);
  });
});

describe('fromKerberos', () => {
  const kerberosIdentity = (): KerberosIdentity => ({
    username: 'alice',
    domain: 'EXAMPLE',
    realm: 'EXAMPLE.TEST',
    sid: 'S-1-5-21-1-2-3-1102',
    // Frozen, as the acceptor freezes a kept ticket's.
    groupSids: Object.freeze(['S-1-5-21-1-2-3-513']),
    userPrincipalName: 'alice@example.test',
    displayName: 'Alice',
  });

  it("gives one sealed identity per sealed acceptor identity (a kept ticket's), a new one otherwise", () => {
    const kept = sealIdentity(kerberosIdentity());
    const identity = fromKerberos(kept);
    assert.equal(fromKerberos(kept), identity);
    assert.ok(Object.isFrozen(identity) && isSealedIdentity(identity));
    assert.equal(identity.mechanism, 'Kerberos');
    assert.equal(identity.workstation, '');
    // Frozen by someone else (it may hold getters): made anew each time.
    const frozen = Object.freeze(kerberosIdentity());
    assert.notEqual(fromKerberos(frozen), fromKerberos(frozen));
    const fresh = kerberosIdentity();
    assert.notEqual(fromKerberos(fresh), fromKerberos(fresh));
    assert.deepEqual(fromKerberos(fresh), identity);
  });
});
