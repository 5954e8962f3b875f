// The `wire` namespace of the package: the messages and NTLMv2 helpers users call, not the wire
// layer's internals (offsets, field readers), which may change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { wire } from '../../src/index.js';

describe('the wire export', () => {
  test('holds the curated functions and constants, and none of the internals', () => {
    assert.deepEqual(Object.keys(wire).sort(), [
      'AvFlags',
      'AvId',
      'MessageType',
      'NegotiateFlags',
      'buildServerChallenge',
      'challengeAvPairs',
      'challengeFlags',
      'channelBindingsHash',
      'checkExtendedProtection',
      'checkLogonPolicy',
      'checkMic',
      'checkNtlmV2Timestamp',
      'computeLmv2Response',
      'computeMic',
      'computeNtProofStr',
      'decodeAuthenticate',
      'decodeAvPairs',
      'decodeChallenge',
      'decodeNegotiate',
      'decodeNtlmV2Response',
      'describeFlags',
      'encodeAuthenticate',
      'encodeAvPairs',
      'encodeChallenge',
      'encodeClientChallengeBlob',
      'encodeNegotiate',
      'exportedSessionKey',
      'filetimeFromDate',
      'filetimeToMilliseconds',
      'findAvPair',
      'hasFlag',
      'ntowfv1',
      'ntowfv2',
      'peekMessageType',
      'sessionBaseKeyV2',
      'tlsServerEndPoint',
      'verifyNtlmV2',
      'writeMic',
    ]);
    for (const internal of ['VERSION_OFFSET', 'MIC_OFFSET', 'readPayloadField', 'rc4', 'SIGNATURE'])
      assert.ok(!(internal in wire), `${internal} is internal`);
  });

  test('a NEGOTIATE written with it reads back with it', () => {
    const flags = wire.NegotiateFlags.NEGOTIATE_UNICODE | wire.NegotiateFlags.NEGOTIATE_NTLM;
    const token = wire.encodeNegotiate({ flags });
    assert.equal(wire.peekMessageType(token), wire.MessageType.NEGOTIATE);
    assert.ok(wire.hasFlag(wire.decodeNegotiate(token).flags, wire.NegotiateFlags.NEGOTIATE_NTLM));
  });
});
