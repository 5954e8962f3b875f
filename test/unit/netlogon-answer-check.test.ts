// Issue 18, item 1: a NetrLogonSamLogonEx answer must belong to its logon. The answer here is the
// one captured from the Samba DC for alice (test/fixtures/netlogon-capture.json); each case asks
// whether it may answer a logon typed as shown.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { answerMismatch } from '../../src/netlogon/answer-check.js';
import { decodeSamLogonEx, type NetworkLogon } from '../../src/netlogon/calls.js';
import { type SamInfo4, UserFlags } from '../../src/netlogon/validation-info.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/netlogon-capture.json', import.meta.url), 'utf8'),
);

function aliceAnswer(): SamInfo4 {
  const plain = Buffer.from(fixture.samLogonEx.pdus[1].plain, 'hex');
  for (let pad = 0; pad < 16; pad++) {
    try {
      return decodeSamLogonEx(plain.subarray(0, plain.length - pad)).validation!;
    } catch {}
  }
  throw new Error('the captured answer does not decode');
}

const info = aliceAnswer();
const asked = (userName: string, logonDomainName: string): NetworkLogon => ({
  userName,
  logonDomainName,
  workstation: 'TESTBOX',
  lmChallenge: Buffer.alloc(8),
  ntChallengeResponse: Buffer.alloc(0),
  lmChallengeResponse: Buffer.alloc(0),
});

describe('answerMismatch: does the DC’s answer belong to the logon asked about?', () => {
  it('accepts every spelling the DC accepts for alice (name, case, UPN, NetBIOS or DNS domain, none)', () => {
    for (const [user, domain] of [
      ['alice', 'EXAMPLE'],
      ['ALICE', 'example'],
      ['alice', 'example.test'],
      ['alice', ''],
      ['alice@example.test', ''],
      ['Alice@EXAMPLE.TEST', ''],
      ['alice@EXAMPLE', ''],
      // A domain the DC does not know may be answered for its own: ours passes.
      ['alice', 'WORKGROUP'],
    ]) {
      assert.equal(answerMismatch(info, asked(user!, domain!), 'EXAMPLE'), undefined, `${domain}\\${user}`);
    }
  });

  it('refuses alice’s answer for another account, a name that only upper-cases alike, or another domain', () => {
    for (const [user, domain, ourDomain] of [
      ['bob', 'EXAMPLE', 'EXAMPLE'],
      ['nobody', '', 'EXAMPLE'],
      ['alice2', 'EXAMPLE', 'EXAMPLE'],
      ['bob@example.test', '', 'EXAMPLE'],
      // Windows upper-cases one UTF-16 unit at a time: "ß" is not "SS".
      ['aliße', 'EXAMPLE', 'EXAMPLE'],
      // alice of EXAMPLE answering for a verifier of OTHER, asked about OTHER\alice.
      ['alice', 'OTHER', 'OTHER'],
    ]) {
      assert.match(
        answerMismatch(info, asked(user!, domain!), ourDomain!) ?? 'accepted',
        /^the answer is for/,
        `${domain}\\${user}`,
      );
    }
  });

  it('leaves a Guest answer to the verifier, which refuses it with its own code', () => {
    const guest = { ...info, effectiveName: 'Guest', userFlags: info.userFlags | UserFlags.LOGON_GUEST };
    assert.equal(answerMismatch(guest, asked('nobody', 'EXAMPLE'), 'EXAMPLE'), undefined);
  });
});
