// The Netlogon verifier against a real Samba AD DC that requires LDAP signing (strict), with real
// clients. Where CI is set, a DC that cannot be started fails the run; elsewhere these tests
// report themselves skipped, with why.
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type NetlogonOptions, netlogon, ntlm } from '../../src/index.js';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { decodeNegotiate } from '../../src/ntlm/negotiate.js';
import { checkLogonPolicy } from '../../src/ntlm/policy.js';
import type { Verifier } from '../../src/types.js';
import { withChromiumPage } from '../helpers/chromium.js';
import { curlNtlm } from '../helpers/curl.js';
import { type1, type3 } from '../helpers/ntlm-client.js';
import { pythonNtlmGet } from '../helpers/python.js';
import { MACHINE_ACCOUNT, MACHINE_PASSWORD, sambaMissing, startDc, stopDc } from '../helpers/samba.js';
import { listen, recordingLogger } from '../helpers/servers.js';

const missing = await sambaMissing();
if (missing && process.env.CI) throw new Error(`CI needs the Samba DC: ${missing}`);
const skip = missing ? `skipped: ${missing}` : false;

const ALICE = { user: 'alice', domain: 'EXAMPLE', password: 'Alice-Passw0rd!' };
const DOMAIN_SID = /^S-1-5-21-\d+-\d+-\d+$/;

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

/** One handshake straight through a verifier, with the test client: the identity or the error. */
async function logon(verifier: Verifier, credentials: { user: string; domain: string; password: string }) {
  const negotiateToken = type1();
  const pending = await verifier.startHandshake({
    negotiate: decodeNegotiate(negotiateToken),
    negotiateToken,
    signal: new AbortController().signal,
  });
  const authenticateToken = await type3(negotiateToken, pending.challengeToken, credentials);
  const authenticate = decodeAuthenticate(authenticateToken);
  return pending.complete({ authenticate, authenticateToken, ntlmV2: checkLogonPolicy(authenticate) });
}

async function serve(verifier: Verifier) {
  const logger = recordingLogger();
  const auth = ntlm({ verifier, logger });
  const served = await listen(
    (req, res) =>
      auth(req, res, () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify(req.ntlm));
      }),
    () => auth.close(),
  );
  return { url: served.url, logger, close: served.close };
}

/** A TCP server that accepts connections and never says a word: a hung DC. */
async function silentServer() {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe('netlogon verifier (strict Samba AD DC)', { skip }, () => {
  before(async () => {
    await startDc({ strict: true });
  });
  after(async () => {
    await stopDc();
  });

  it('opens a secure channel and validates alice: identity and group SIDs from the DC', async () => {
    const verifier = netlogon(options());
    try {
      const identity = await logon(verifier, ALICE);
      assert.equal(identity.username, 'alice');
      assert.equal(identity.domain, 'EXAMPLE');
      assert.equal(identity.displayName, 'Alice');
      assert.equal(identity.userPrincipalName, 'alice@example.test');
      const domainSid = identity.sid!.replace(/-\d+$/, '');
      assert.match(domainSid, DOMAIN_SID);
      assert.ok(identity.groupSids!.includes(`${domainSid}-513`));
      assert.equal(identity.groupSids!.length >= 2, true);
    } finally {
      await verifier.close();
    }
  });
});
