// MS-NLMP section 4.2: the protocol examples, byte for byte.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAuthenticate } from '../../src/ntlm/authenticate.js';
import { AvId, decodeAvPairs, findAvPair } from '../../src/ntlm/av-pairs.js';
import { decodeChallenge } from '../../src/ntlm/challenge.js';
import {
  computeLmv2Response,
  computeNtProofStr,
  exportedSessionKey,
  ntowfv1,
  ntowfv2,
  rc4,
  sessionBaseKeyV2,
} from '../../src/ntlm/crypto.js';
import { NegotiateFlags } from '../../src/ntlm/flags.js';
import { decodeNtlmV2Response } from '../../src/ntlm/ntlmv2-response.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

// 4.2.1 Common values
const USER = 'User';
const USER_DOM = 'Domain';
const PASSWORD = 'Password';
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);
const SERVER_CHALLENGE = hex('0123456789abcdef');
const CLIENT_CHALLENGE = Buffer.alloc(8, 0xaa);

// 4.2.4.3 Messages
const CHALLENGE_MESSAGE = hex(`
  4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef
  00000000000000002400240044000000060070170000000f5300650072007600
  6500720002000c0044006f006d00610069006e0001000c005300650072007600
  6500720000000000`);
const AUTHENTICATE_MESSAGE = hex(`
  4e544c4d535350000300000018001800 6c00000054005400840000000c000c00
  48000000080008005400000010001000 5c00000010001000d8000000358288e2
  0501280a0000000f44006f006d006100 69006e00550073006500720043004f00
  4d005000550054004500520086c35097 ac9cec102554764a57cccc19aaaaaaaa
  aaaaaaaa68cd0ab851e51c96aabc927b ebef6a1c010100000000000000000000
  00000000aaaaaaaaaaaaaaaa00000000 02000c0044006f006d00610069006e00
  01000c00530065007200760065007200 0000000000000000c5dad2544fc97990
  94ce1ce90bc9d03e`);

describe('MS-NLMP 4.2.2.1 / 4.2.4.1 one-way functions', () => {
  it('NTOWFv1("Password") is the published NT hash', async () => {
    assert.equal((await ntowfv1(PASSWORD)).toString('hex'), 'a4f49c406510bdcab6824ee7c30fd852');
  });

  it('NTOWFv2("Password", "User", "Domain") = 0c868a40...', async () => {
    const key = ntowfv2(await ntowfv1(PASSWORD), USER, USER_DOM);
    assert.equal(key.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
  });

  it('NTOWFv2 upper-cases the user but keeps the case of the domain', async () => {
    const nt = await ntowfv1(PASSWORD);
    assert.deepEqual(ntowfv2(nt, 'user', USER_DOM), ntowfv2(nt, USER, USER_DOM));
    assert.notDeepEqual(ntowfv2(nt, USER, 'DOMAIN'), ntowfv2(nt, USER, USER_DOM));
  });
});

describe('MS-NLMP 4.2.4.2 NTLMv2 results', () => {
  it('computes the LMv2 response, NTProofStr, session base key and encrypted session key', async () => {
    const responseKey = ntowfv2(await ntowfv1(PASSWORD), USER, USER_DOM);
    assert.equal(
      computeLmv2Response(responseKey, SERVER_CHALLENGE, CLIENT_CHALLENGE).toString('hex'),
      '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
    );
    const challenge = decodeChallenge(CHALLENGE_MESSAGE);
    const authenticate = decodeAuthenticate(AUTHENTICATE_MESSAGE);
    const response = decodeNtlmV2Response(authenticate.ntChallengeResponse);
    const proof = computeNtProofStr(responseKey, challenge.serverChallenge, response.clientChallengeBlob);
    assert.equal(proof.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
    assert.deepEqual(proof, response.ntProofStr);
    const baseKey = sessionBaseKeyV2(responseKey, proof);
    assert.equal(baseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
    assert.equal(rc4(baseKey, RANDOM_SESSION_KEY).toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
    assert.deepEqual(
      exportedSessionKey(baseKey, authenticate.encryptedRandomSessionKey, authenticate.flags),
      RANDOM_SESSION_KEY,
    );
  });
});

describe('MS-NLMP 4.2.4.3 messages', () => {
  it('decodes the CHALLENGE_MESSAGE', () => {
    const challenge = decodeChallenge(CHALLENGE_MESSAGE);
    assert.equal(challenge.flags, 0xe28a8233);
    assert.equal(challenge.targetName, 'Server');
    assert.deepEqual(challenge.serverChallenge, SERVER_CHALLENGE);
    const pairs = decodeAvPairs(challenge.targetInfo);
    assert.equal(findAvPair(pairs, AvId.MsvAvNbDomainName)?.toString('utf16le'), 'Domain');
    assert.equal(findAvPair(pairs, AvId.MsvAvNbComputerName)?.toString('utf16le'), 'Server');
    assert.equal(challenge.version?.toString('hex'), '060070170000000f');
  });

  it('decodes the AUTHENTICATE_MESSAGE', () => {
    const message = decodeAuthenticate(AUTHENTICATE_MESSAGE);
    assert.equal(message.flags, 0xe2888235);
    assert.equal(message.flags & NegotiateFlags.NEGOTIATE_KEY_EXCH, NegotiateFlags.NEGOTIATE_KEY_EXCH);
    assert.equal(message.domain, 'Domain');
    assert.equal(message.user, 'User');
    assert.equal(message.workstation, 'COMPUTER');
    assert.equal(
      message.lmChallengeResponse.toString('hex'),
      '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa',
    );
    assert.equal(message.ntChallengeResponse.length, 84);
    assert.equal(message.encryptedRandomSessionKey.toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
    assert.equal(message.version?.toString('hex'), '0501280a0000000f');
    assert.equal(message.mic, undefined, 'the payload starts at 72: there is no room for a MIC');
    const response = decodeNtlmV2Response(message.ntChallengeResponse);
    assert.equal(response.timestamp, 0n);
    assert.deepEqual(response.clientChallenge, CLIENT_CHALLENGE);
  });
});
