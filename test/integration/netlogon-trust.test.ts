// Issue 18, the Netlogon items, against the real (strict) Samba AD DC:
// 1. a sealed NetrLogonSamLogonEx answer replayed into another channel never logs anyone in;
// 2. a name that is not UTF-16 gets 400 before the DC is asked, and a fault one request causes
//    answers that request only: alice keeps logging in; the same for the name AV pairs of the
//    NTLMv2 blob, and a DC status one logon's data causes (fuzz finding 2);
// 7. a burst of logons waits for a channel instead of being refused;
// 8. a rotated machine password, written to the password file, is picked up without a restart.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type NetlogonOptions, netlogon } from '../../src/index.js';
import { decodeSamLogonEx, encodeSamLogonEx, Opnum } from '../../src/netlogon/calls.js';
import { authenticateMachine, openSealedConnection, resolvePort } from '../../src/netlogon/secure-channel.js';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { AvId } from '../../src/ntlm/av-pairs.js';
import { ntowfv1 } from '../../src/ntlm/crypto.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import type { NtlmV2Response } from '../../src/ntlm/ntlmv2-response.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import type { RpcConnection } from '../../src/rpc/connection.js';
import { RpcFault } from '../../src/rpc/pdu.js';
import type { NtlmIdentity, Verifier } from '../../src/types.js';
import { NtlmHttpClient } from '../helpers/http-client.js';
import { netlogonProxy } from '../helpers/netlogon-proxy.js';
import {
  type ClientCredentials,
  type ClientOptions,
  type Type3Draft,
  type1,
  type3,
} from '../helpers/ntlm-client.js';
import {
  DC_DIR,
  MACHINE_ACCOUNT,
  MACHINE_PASSWORD,
  sambaSkip,
  setMachinePassword,
  startDc,
  stopDc,
} from '../helpers/samba.js';
import { ALICE, serveIdentity } from '../helpers/servers.js';

const skip = await sambaSkip();

function options(overrides: Partial<NetlogonOptions> = {}): NetlogonOptions {
  return {
    domain: 'EXAMPLE',
    dnsDomain: 'example.test',
    dcs: ['127.0.0.1'],
    machineAccount: MACHINE_ACCOUNT,
    machinePassword: MACHINE_PASSWORD,
    ...overrides,
  };
}

/**
 * `rounds` times, a bad login on one connection then alice's on another, through one server with
 * the strict DC behind it; each round's two statuses as "bad/good".
 */
async function badThenGood(
  rounds: number,
  badLogin: (attacker: NtlmHttpClient, round: number) => Promise<{ status: number }>,
): Promise<string[]> {
  const served = await serveIdentity({ verifier: netlogon(options()) });
  try {
    const statuses: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const attacker = new NtlmHttpClient(served.url);
      const user = new NtlmHttpClient(served.url);
      try {
        const bad = await badLogin(attacker, i);
        const good = await user.login('/', ALICE);
        statuses.push(`${bad.status}/${good.status}`);
      } finally {
        attacker.close();
        user.close();
      }
    }
    return statuses;
  } finally {
    await served.close();
  }
}

type Outcome =
  | { identity: NtlmIdentity; error?: undefined }
  | { identity?: undefined; error: { code?: string; statusCode?: number; message: string } };

/** One handshake straight through a verifier; `edit` may change the decoded AUTHENTICATE before it is verified. */
async function logon(
  verifier: Verifier,
  credentials: ClientCredentials,
  clientOptions: ClientOptions = {},
  edit: (authenticate: ReturnType<typeof decodeAuthenticate>) => ReturnType<typeof decodeAuthenticate> = (
    a,
  ) => a,
  policy: (authenticate: ReturnType<typeof decodeAuthenticate>) => NtlmV2Response = checkLogonPolicy,
): Promise<Outcome> {
  const negotiateToken = type1();
  const pending = await verifier.startHandshake({
    negotiate: decodeNegotiate(negotiateToken),
    negotiateToken,
    signal: new AbortController().signal,
  });
  const authenticateToken = await type3(negotiateToken, pending.challengeToken, credentials, clientOptions);
  const authenticate = edit(decodeAuthenticate(authenticateToken));
  return pending.complete({ authenticate, authenticateToken, ntlmV2: policy(authenticate) }).then(
    (identity) => ({ identity }),
    (error) => ({ error }),
  );
}

/** The NTLMv2 response as the parser would read it, without its checks: what reaches a DC if the parser let it through. */
function lenientNtlmV2(authenticate: ReturnType<typeof decodeAuthenticate>): NtlmV2Response {
  const nt = authenticate.ntChallengeResponse;
  return {
    ntProofStr: nt.subarray(0, 16),
    clientChallengeBlob: nt.subarray(16),
    timestamp: nt.readBigUInt64LE(24),
    clientChallenge: nt.subarray(32, 40),
    avPairs: [],
  };
}

describe('Netlogon trust (issue 18, strict Samba AD DC)', { skip }, () => {
  let netlogonPort: number;
  before(async () => {
    await startDc({ strict: true });
    netlogonPort = await resolvePort({
      host: '127.0.0.1',
      port: undefined,
      connectTimeoutMs: 2000,
      callTimeoutMs: 5000,
    });
  });

  it('a sealed answer for alice replayed into a new channel logs in neither a wrong password nor an unknown user', async () => {
    const proxy = await netlogonProxy({ host: '127.0.0.1', port: netlogonPort });
    // No MIC: the client the attacker speaks for does not send one (with a MIC, the replayed
    // UserSessionKey fails the MIC check anyway).
    const noMic = { mic: false };
    const verifier = netlogon(options({ dcs: [`127.0.0.1:${proxy.port}`], downtimeMs: 500 }));
    try {
      proxy.record();
      const alice = await logon(verifier, ALICE, noMic);
      assert.equal(alice.identity?.username, 'alice', alice.error?.message);
      assert.ok(proxy.recorded, 'the proxy recorded the sealed answer for alice');
      const impostors = [
        { ...ALICE, password: 'Wrong-Passw0rd!' },
        { user: 'nobody', domain: 'EXAMPLE', password: 'Whatever-1!' },
      ];
      const outcomes: string[] = [];
      for (const [i, impostor] of impostors.entries()) {
        proxy.resetConnections();
        await sleep(1100); // the verifier sees the reset; a DC marked down is tried again
        proxy.replayIntoNextChannel();
        const outcome = await logon(verifier, impostor, noMic);
        assert.equal(proxy.replayed, i + 1, 'the recorded answer went into a new channel');
        outcomes.push(
          outcome.identity
            ? `200 as ${outcome.identity.username}`
            : `${outcome.error.statusCode} ${outcome.error.code}`,
        );
      }
      for (const outcome of outcomes) assert.match(outcome, /^(401|503) /, outcomes.join(', '));
    } finally {
      await verifier.close();
      proxy.close();
    }
  });

  it('a name the DC finds without its spaces (" alice", "alice  ") logs in as the account the DC answers for', async () => {
    // Found by the fuzz: Samba looks names up as the directory compares them, and answers with
    // the account's own name; the answer check took that for an answer to another logon (503).
    const verifier = netlogon(options());
    try {
      const outcomes: string[] = [];
      for (const user of [' alice', 'alice  ', ' ALICE ']) {
        const o = await logon(verifier, { ...ALICE, user });
        outcomes.push(
          `${JSON.stringify(user)}: ${o.identity?.username ?? `${o.error?.statusCode} ${o.error?.code}`}`,
        );
      }
      assert.deepEqual(outcomes, ['" alice": alice', '"alice  ": alice', '" ALICE ": alice']);
    } finally {
      await verifier.close();
    }
  });

  it('every channel binds under a key of its own, and they all serve', async () => {
    const proxy = await netlogonProxy({ host: '127.0.0.1', port: netlogonPort });
    const verifier = netlogon(options({ dcs: [`127.0.0.1:${proxy.port}`], maxChannelsPerDc: 4 }));
    try {
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => logon(verifier, ALICE)));
      assert.deepEqual(
        outcomes.map((o) => o.identity?.username ?? o.error?.message),
        outcomes.map(() => 'alice'),
      );
      assert.ok(proxy.sealedConnections >= 2, `${proxy.sealedConnections} channels`);
      // The LSA channel that names alice's groups authenticates through the proxy too (its
      // sealed connection goes to lsarpc's own port, past the proxy): one more.
      assert.equal(
        proxy.authenticate3Calls,
        proxy.sealedConnections + 1,
        'one NetrServerAuthenticate3 per Netlogon channel, and one for the LSA channel',
      );
    } finally {
      await verifier.close();
      proxy.close();
    }
  });

  it('Samba keeps one key per computer name, taken at bind: why set-ups are serialised', async () => {
    const endpoint = { host: '127.0.0.1', port: netlogonPort, connectTimeoutMs: 2000, callTimeoutMs: 5000 };
    const machine = { domain: 'EXAMPLE', computerName: 'WEB01', ntHash: ntowfv1(MACHINE_PASSWORD) };
    const stub = encodeSamLogonEx('WEB01', {
      logonDomainName: 'EXAMPLE',
      userName: 'alice',
      workstation: 'TESTBOX',
      lmChallenge: randomBytes(8),
      ntChallengeResponse: randomBytes(60),
      lmChallengeResponse: Buffer.alloc(0),
    });
    const call = (connection: RpcConnection) =>
      connection.call(Opnum.NetrLogonSamLogonEx, stub).then(
        (answer) => `status 0x${(decodeSamLogonEx(answer).status >>> 0).toString(16)}`,
        (error) => (error instanceof RpcFault ? `fault 0x${error.status.toString(16)}` : String(error)),
      );
    const first = await authenticateMachine(endpoint, netlogonPort, machine);
    const boundEarly = await openSealedConnection(endpoint, netlogonPort, machine, first.sessionKey);
    const older = await authenticateMachine(endpoint, netlogonPort, machine);
    const newest = await authenticateMachine(endpoint, netlogonPort, machine);
    const boundLate = await openSealedConnection(endpoint, netlogonPort, machine, older.sessionKey);
    const boundNewest = await openSealedConnection(endpoint, netlogonPort, machine, newest.sessionKey);
    try {
      assert.deepEqual(
        {
          boundEarly: await call(boundEarly),
          boundLate: await call(boundLate),
          boundNewest: await call(boundNewest),
        },
        // 0xc000006a: the random response is a wrong password, so the call went through.
        { boundEarly: 'status 0xc000006a', boundLate: 'fault 0x721', boundNewest: 'status 0xc000006a' },
      );
    } finally {
      for (const connection of [boundEarly, boundLate, boundNewest]) connection.close();
    }
  });

  it('two processes with the same machine account: every logon succeeds while their channels set up side by side', async () => {
    const verifiers = [netlogon(options()), netlogon(options())];
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 80 }, (_, i) => logon(verifiers[i % 2]!, ALICE)),
      );
      const failures = outcomes
        .filter((o) => !o.identity)
        .map((o) => `${o.error?.statusCode} ${o.error?.message}`);
      assert.deepEqual(failures, []);
    } finally {
      for (const verifier of verifiers) await verifier.close();
    }
  });

  it('a fault the DC raises for one logon answers that logon 401 and does not take the DC down', async () => {
    const verifier = netlogon(options());
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        // Past the parser (which refuses such a name with 400): straight into the verifier.
        const bad = await logon(verifier, ALICE, {}, (a) => ({ ...a, user: 'alice\uD800x' }));
        outcomes.push(bad.identity ? 'logged in' : `${bad.error.statusCode} ${bad.error.code}`);
        const alice = await logon(verifier, ALICE);
        outcomes.push(alice.identity?.username ?? `${alice.error?.statusCode} ${alice.error?.code}`);
      }
      assert.deepEqual(
        outcomes,
        Array.from({ length: 5 }, () => ['401 ERR_NTLM_LOGON_FAILED', 'alice']).flat(),
      );
    } finally {
      await verifier.close();
    }
  });

  it('a user name that is not UTF-16 gets 400 before any DC is asked; alice keeps logging in meanwhile', async () => {
    const statuses = await badThenGood(20, (attacker) =>
      attacker.login('/', { ...ALICE, user: 'alice\uD800x' }),
    );
    assert.deepEqual(
      statuses,
      statuses.map(() => '400/200'),
    );
  });

  // Fuzz finding 2: Samba answers STATUS_INVALID_PARAMETER (0xC000000D) for a name AV pair of the
  // NTLMv2 blob that is not UTF-16, for a valid password and an unknown user alike.
  const notUtf16Pairs: [string, (draft: Type3Draft) => void][] = [
    [
      'an MsvAvNbComputerName of 3 bytes',
      (d) => d.pairs.push({ id: AvId.MsvAvNbComputerName, value: Buffer.from('WEB') }),
    ],
    [
      'a lone surrogate in MsvAvDnsComputerName',
      (d) => d.pairs.push({ id: AvId.MsvAvDnsComputerName, value: Buffer.from('a\uD800b', 'utf16le') }),
    ],
  ];

  it('a name AV pair of the NTLMv2 blob that is not UTF-16 gets 400 before any DC is asked; alice keeps logging in', async () => {
    const statuses = await badThenGood(6, (attacker, i) => {
      const [, edit] = notUtf16Pairs[i % notUtf16Pairs.length]!;
      return attacker.login('/', i < 3 ? ALICE : { ...ALICE, user: 'nobody' }, { edit });
    });
    assert.deepEqual(
      statuses,
      statuses.map(() => '400/200'),
    );
  });

  it('a DC status the logon itself causes (0xC000000D) answers that logon 401 and does not touch the DC health', async () => {
    const verifier = netlogon(options());
    const down: string[] = [];
    verifier.observe({
      dcKnown() {},
      directoryCache() {},
      dcDown: (dc, reason) => down.push(`${dc}: ${reason}`),
      dcUp() {},
      dcLatency() {},
    });
    try {
      const outcomes: string[] = [];
      for (const [what, edit] of notUtf16Pairs) {
        // Past the parser (which refuses such a pair with 400): straight into the verifier.
        const bad = await logon(verifier, ALICE, { edit }, (a) => a, lenientNtlmV2);
        outcomes.push(`${what}: ${bad.identity ? 'logged in' : `${bad.error.statusCode} ${bad.error.code}`}`);
        const alice = await logon(verifier, ALICE);
        outcomes.push(alice.identity?.username ?? `${alice.error?.statusCode} ${alice.error?.code}`);
      }
      assert.deepEqual(
        outcomes,
        notUtf16Pairs.flatMap(([what]) => [`${what}: 401 ERR_NTLM_LOGON_FAILED`, 'alice']),
      );
      assert.deepEqual(down, []);
    } finally {
      await verifier.close();
    }
  });

  it('a DC slow rather than silent: every logon is answered within its deadline, however many wait for set-ups', async (t) => {
    // Each answer of the DC takes 1.2 s, within callTimeoutMs; a channel set-up (bind,
    // ReqChallenge, Authenticate3, schannel bind) about 5 s, and set-ups run one at a time (the
    // machine lock). Fuzz finding 3: the 8th of 8 logons waited for 7 set-ups before its own
    // (about 40 s), and the LSA channel's set-up for the group names queued behind them too.
    const proxy = await netlogonProxy({ host: '127.0.0.1', port: netlogonPort });
    proxy.slowDown(1200);
    const timeouts = { connectTimeoutMs: 1000, callTimeoutMs: 2000, queueTimeoutMs: 2000 };
    const deadlineMs = timeouts.queueTimeoutMs + 3 * (timeouts.connectTimeoutMs + timeouts.callTimeoutMs);
    const verifier = netlogon(
      options({ dcs: [`127.0.0.1:${proxy.port}`], maxChannelsPerDc: 8, ...timeouts }),
    );
    const down: string[] = [];
    verifier.observe({
      dcKnown() {},
      directoryCache() {},
      dcDown: (dc, reason) => down.push(`${dc}: ${reason}`),
      dcUp() {},
      dcLatency() {},
    });
    // Generous against a loaded machine: the deadline plus 8 s; before the fix, 40 s and more.
    const patienceMs = deadlineMs + 8000;
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, () =>
          Promise.race([
            logon(verifier, ALICE).then((o) =>
              o.identity ? '200' : `${o.error.statusCode} ${o.error.code}`,
            ),
            sleep(patienceMs).then(() => `no answer within ${patienceMs} ms`),
          ]),
        ),
      );
      t.diagnostic(outcomes.join(', '));
      const unanswered = outcomes.filter((o) => !/^(200|503 ERR_NTLM_DC_UNAVAILABLE)$/.test(o));
      assert.deepEqual(unanswered, [], outcomes.join(', '));
      // A late logon is load: the DC answered every step in time, so it is not marked down.
      assert.deepEqual(down, []);
    } finally {
      await verifier.close();
      await proxy.close();
    }
  });

  it('a burst of 500 logons waits for the 4 channels instead of being refused', async () => {
    const verifier = netlogon(options({ queueTimeoutMs: 60_000 }));
    try {
      const outcomes = await Promise.all(Array.from({ length: 500 }, () => logon(verifier, ALICE)));
      const counts = new Map<string, number>();
      for (const o of outcomes) {
        const key = o.identity ? o.identity.username : `${o.error.statusCode} ${o.error.code}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      assert.deepEqual([...counts], [['alice', 500]]);
    } finally {
      await verifier.close();
    }
  });

  it('a machine password rotated on the DC and written to the file (atomically) is picked up without a restart', async () => {
    const proxy = await netlogonProxy({ host: '127.0.0.1', port: netlogonPort });
    const file = `${DC_DIR}/web01-password.txt`;
    const rotated = 'Web01-Rotated-Passw0rd-456!';
    await writeFile(file, `${MACHINE_PASSWORD}\n`);
    const served = await serveIdentity({
      verifier: netlogon(
        options({ machinePassword: undefined, machinePasswordFile: file, dcs: [`127.0.0.1:${proxy.port}`] }),
      ),
    });
    const login = async () => {
      const client = new NtlmHttpClient(served.url);
      try {
        return (await client.login('/', ALICE)).status;
      } finally {
        client.close();
      }
    };
    try {
      assert.equal(await login(), 200);
      await setMachinePassword(rotated);
      // The channel must authenticate again: a restarted DC has forgotten every session key.
      await stopDc();
      await startDc({ strict: true });
      assert.equal(await login(), 503, 'the DC refuses the old machine password, still in the file');
      // Written beside, renamed over: the way secrets are rotated.
      await writeFile(`${file}.new`, `${rotated}\n`);
      await rename(`${file}.new`, file);
      const deadline = Date.now() + 35_000;
      let status = await login();
      while (status !== 200 && Date.now() < deadline) {
        await sleep(500);
        status = await login();
      }
      assert.equal(status, 200, 'logons succeed again within 35 s of the new password in the file');
      const messages = served.logger.records.map((record) => record.message);
      assert.ok(
        messages.some((message) => /machine password file again; it changed/.test(message)),
        messages.join('\n'),
      );
    } finally {
      await served.close();
      proxy.close();
      await setMachinePassword(MACHINE_PASSWORD);
    }
  });
});
